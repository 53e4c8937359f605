"""Where a Spark run of the dedup job spends its time, from a Spark event log.

    python bench/dedup_throughput.py --docs 20000 --skip datatrove --event-log /tmp/ev
    python bench/dedup_profile.py /tmp/ev            # the newest log under the folder
    python bench/dedup_profile.py /tmp/ev/<app-id>   # one log (a file or a rolling-log folder)

Prints every job (with adaptive query execution each shuffle stage is its own job) with its
stages, their wall time, summed task run time and shuffle bytes, then the wall span and task
time per call site (the driver line that triggered the jobs) and the stages with the most
task time. Reads plain JSON logs (the bench writes them uncompressed).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def log_lines(path: Path) -> list[str]:
    if path.is_dir():
        logs = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        if any(p.name.startswith("events_") for p in logs):  # a rolling event log folder
            return [x for p in logs if p.name.startswith("events_") for x in p.read_text().splitlines()]
        if not logs:
            raise SystemExit(f"no event log under {path}")
        return log_lines(max(logs, key=lambda p: p.stat().st_mtime))
    return path.read_text().splitlines()


PEAK_METRICS = {  # Spark executor metric -> what the bench calls it
    "JVMHeapMemory": "JVM heap used",
    "OnHeapStorageMemory": "storage (cache)",  # cached blocks
    "OnHeapExecutionMemory": "execution",  # shuffle, sort, aggregation buffers
    "ProcessTreePythonRSSMemory": "Python RSS",  # all Python workers of the executor
    "ProcessTreeJVMRSSMemory": "JVM RSS",
}


def executor_peaks(lines: list[str]) -> dict[str, dict[str, int]]:
    """Peak bytes per executor and metric over every stage of the log (needs
    spark.eventLog.logStageExecutorMetrics, plus processTreeMetrics for the RSS figures).
    In local mode the one executor is the driver JVM ("driver")."""
    peaks: dict[str, dict[str, int]] = defaultdict(dict)
    for line in lines:
        e = json.loads(line)
        if e["Event"] == "SparkListenerStageExecutorMetrics":
            for k, v in e.get("Executor Metrics", {}).items():
                peaks[e["Executor ID"]][k] = max(peaks[e["Executor ID"]].get(k, 0), int(v))
    return dict(peaks)


def summarize(lines: list[str], top: int = 10) -> None:
    jobs: dict[int, dict[str, Any]] = {}
    stages: dict[int, dict[str, Any]] = {}
    tasks: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for line in lines:
        e = json.loads(line)
        ev = e["Event"]
        if ev == "SparkListenerJobStart":
            jobs[e["Job ID"]] = {"start": e["Submission Time"], "end": e["Submission Time"],
                                 "site": e.get("Properties", {}).get("callSite.short", "?"),
                                 "stages": [s["Stage ID"] for s in e["Stage Infos"]]}
        elif ev == "SparkListenerJobEnd" and e["Job ID"] in jobs:
            jobs[e["Job ID"]]["end"] = e["Completion Time"]
        elif ev == "SparkListenerStageCompleted":
            s = e["Stage Info"]
            stages[s["Stage ID"]] = {"name": s["Stage Name"], "tasks": s["Number of Tasks"],
                                     "secs": (s.get("Completion Time", 0) - s.get("Submission Time", 0)) / 1000}
        elif ev == "SparkListenerTaskEnd":
            m = e.get("Task Metrics") or {}
            t = tasks[e["Stage ID"]]
            sr = m.get("Shuffle Read Metrics", {})
            t[0] += m.get("Executor Run Time", 0) / 1000
            t[1] += m.get("Shuffle Write Metrics", {}).get("Shuffle Bytes Written", 0) / 2**20
            t[2] += (sr.get("Remote Bytes Read", 0) + sr.get("Local Bytes Read", 0)) / 2**20
            t[3] += 1
    if not jobs:
        raise SystemExit("no jobs in this event log")
    t0 = min(j["start"] for j in jobs.values())
    print(f"{'job':>4s} {'at s':>7s} {'wall s':>7s}  call site")
    for jid, j in sorted(jobs.items()):
        print(f"{jid:4d} {(j['start'] - t0) / 1000:7.2f} {(j['end'] - j['start']) / 1000:7.2f}  {j['site']}")
        for sid in j["stages"]:
            if sid in stages:
                s, t = stages[sid], tasks[sid]
                print(f"{'':13s} stage {sid:3d}: {s['secs']:6.2f} s wall, {s['tasks']:3d} tasks, {t[0]:7.2f} s "
                      f"task run, shuffle write {t[1]:7.1f} MiB read {t[2]:7.1f} MiB  {s['name'][:50]}")
    print("\nper call site (the driver line whose action ran the jobs; '?' = eager checkpoints/AQE):")
    spans: dict[str, list[float]] = {}
    for j in sorted(jobs.values(), key=lambda j: j["start"]):
        sp = spans.setdefault(j["site"], [j["start"], j["end"], 0, 0.0])
        sp[0], sp[1] = min(sp[0], j["start"]), max(sp[1], j["end"])
        sp[2] += 1
        sp[3] += sum(tasks[s][0] for s in j["stages"] if s in stages)
    for site, (a, b, n, run) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        print(f"  from {(a - t0) / 1000:7.2f} s: span {(b - a) / 1000:7.2f} s, {int(n):3d} jobs, "
              f"{run:7.2f} s task run  {site}")
    total = sum(t[0] for t in tasks.values())
    wall = (max(j["end"] for j in jobs.values()) - t0) / 1000
    print(f"\n{len(jobs)} jobs, {len(stages)} stages, {wall:.1f} s from the first job to the last, "
          f"{total:.1f} s of task run time; the {top} stages with the most task time:")
    for sid in sorted(stages, key=lambda s: -tasks[s][0])[:top]:
        print(f"  stage {sid:3d}: {tasks[sid][0]:7.2f} s ({tasks[sid][0] / max(total, 1e-9):5.1%})  "
              f"{stages[sid]['name'][:70]}")
    peaks = executor_peaks(lines)
    if peaks:  # needs spark.eventLog.logStageExecutorMetrics (+ processTreeMetrics for Python RSS)
        print("\npeak memory per executor (MiB):")
        for ex, m in sorted(peaks.items()):
            print(f"  executor {ex}: JVM heap {m.get('JVMHeapMemory', 0) / 2**20:7.1f}, storage (cached) "
                  f"{m.get('OnHeapStorageMemory', 0) / 2**20:7.1f}, execution {m.get('OnHeapExecutionMemory', 0) / 2**20:7.1f}, "
                  f"Python workers RSS {m.get('ProcessTreePythonRSSMemory', 0) / 2**20:7.1f}, "
                  f"JVM RSS {m.get('ProcessTreeJVMRSSMemory', 0) / 2**20:7.1f}")


def main() -> int:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench._goals import Goals, add_check_flag

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", help="an event log file, a rolling-log folder, or a folder of logs (newest is used)")
    ap.add_argument("--top", type=int, default=10, help="how many of the costliest stages to list")
    add_check_flag(ap)
    a = ap.parse_args()
    summarize(log_lines(Path(a.path)), a.top)
    return Goals("dedup_profile").finish(a.check)  # a profile of a run: no goal of its own


if __name__ == "__main__":
    raise SystemExit(main())
