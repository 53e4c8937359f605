"""CPU quotas for benchmark processes (Linux cgroups), the way Kubernetes limits a pod.

A Spark executor in a Kubernetes pod with ``limits.cpu: 1`` runs under a CFS quota: its JVM,
its Python workers and everything they fork share that CPU time, whatever the node has.
`cpu_quota` puts a process (and the children it forks later) into its own cgroup with such a
quota, so a machine with few cores can still host N workers of a fixed CPU share each
without them competing for the same cores: scaling 1 -> N workers then measures the job,
not the oversubscription of the machine. Needs write access to the cgroup CPU controller
(root in a container, or a delegated subtree): cgroup v2 (``cpu.max``) or v1 (``cpu``
hierarchy, ``cpu.cfs_quota_us``).
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
# CFS period (microseconds): the kernel's and Kubernetes' default, 100 ms.
PERIOD_US = 100_000


def _base() -> tuple[Path, str]:
    """(folder to create groups in, "v1" | "v2")."""
    if (CGROUP / "cgroup.controllers").exists() and "cpu" in (CGROUP / "cgroup.controllers").read_text().split():
        return CGROUP, "v2"
    for v1 in (CGROUP / "cpu", CGROUP / "cpu,cpuacct"):
        if (v1 / "cpu.cfs_quota_us").exists():
            return v1, "v1"
    raise RuntimeError("no writable cgroup CPU controller (need cgroup v2 with `cpu` or the v1 `cpu` hierarchy)")


class CpuQuota:
    """A cgroup named ``name`` limited to ``cpus`` CPUs (e.g. 0.8); `add(pid)` moves a process
    in (its later children follow); `remove()` moves them back out and deletes the group."""

    def __init__(self, name: str, cpus: float) -> None:
        if cpus <= 0:
            raise ValueError(f"cpus must be > 0, got {cpus}")
        base, self.kind = _base()
        self.root = base
        self.path = base / name
        try:
            self.path.mkdir(exist_ok=True)
            quota = int(round(cpus * PERIOD_US))
            if self.kind == "v2":
                (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as e:
            raise RuntimeError(f"cannot create a CPU quota cgroup at {self.path}: {e}") from e
        self.cpus = cpus

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_s(self) -> float:
        """Seconds the group's processes were held back by the quota so far."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line.strip())
        return int(stat.get("throttled_usec", int(stat.get("throttled_time", 0)) // 1000)) / 1e6

    def remove(self) -> None:
        if not self.path.exists():
            return
        for pid in (self.path / "cgroup.procs").read_text().split():
            try:
                (self.root / "cgroup.procs").write_text(pid)
            except OSError:
                pass  # exited meanwhile
        try:
            os.rmdir(self.path)
        except OSError:
            pass
