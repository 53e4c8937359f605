"""Funnel report of a corpus_refresh run: what each stage took in, kept and dropped (by reason).

Written as Markdown + PNG chart + JSON (a) under ``reports/corpus_refresh/<day>/`` and (b) INTO the
published corpus snapshot, under ``<snapshot>/report/``, registered in the snapshot's manifest (with
sha256 and size, like every other file there) so that ``sciforge datasets verify`` checks them too.

The report reads manifests only (never the data), so it costs the same on a demo and on a crawl.
Every stage row is checked ("the numbers add up"):

* ``balance``: input = kept + dropped (every record a stage saw was kept or dropped for a reason);
* ``flow``: a stage's input = what its upstream stages handed on (documents or pages, in the unit
  the stage counts; PDFs are counted as files by ingest and as pages by the parser);
* ``quarantine``: a stage that dropped something has a quarantine dataset holding the rejects
  (a dropped PDF is one row, however many pages it had, so rows <= dropped);
* ``rows``: the published dataset holds as many rows as the stage says it kept.

A partial day (a source whose ingest failed, so its stages published nothing, while the others went
on; see dags/corpus_refresh.py) is marked: the missing stages are rows with ``"missing": true`` and no
numbers, and the Markdown says which stages did not publish. An ingest that found no landing file
(the source has not arrived) publishes an empty dataset and is named in the Markdown too.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from sciforge.pipelines.config import Settings
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import (
    MANIFEST,
    DatasetNotPublished,
    DatasetRef,
    list_datasets,
    read_manifest,
)
from sciforge.pipelines.storage import Storage, open_storage

log = logging.getLogger("sciforge.report")

TOP_REASONS = 6  # reasons listed per stage in the overview table; the JSON and the detail table keep all
REPORT_DIR = "report"  # inside the snapshot: <snapshot>/report/funnel.{md,png,json}
REPORT_KIND = "report"  # the manifest entry's `kind` for these files
REPORT_FILES = ("funnel.md", "funnel.png", "funnel.json")
REPORT_PREFIX = "reports/corpus_refresh"  # <data_root>/<prefix>/<day>/funnel.{md,png,json}
# The README's funnel block lies between these markers; `python -m sciforge.pipelines.report --readme README.md`
# writes it from a run's funnel.json and the datasets that run published.
README_START, README_END = "<!-- funnel:start -->", "<!-- funnel:end -->"
# Zones in the order data flows through them (a zone not listed here sorts after them).
ZONE_ORDER = ("raw", "interim", "clean", "corpus", "quarantine")


@dataclass(frozen=True)
class Units:
    """What a stage counts coming in and going out; how to read its output in pages and documents."""

    unit_in: str
    unit_out: str
    pages_metric: str | None = None  # a counters metric giving the pages of the kept documents
    documents_metric: str | None = None  # a counters metric giving the documents of the kept pages
    tokens_metric: str | None = None
    rows_are: str = "kept"  # what one row of the published dataset is: `kept` or the documents metric


# The stages of dags/corpus_refresh.py (names from dags/_tasks.py:_summary). A stage not listed is
# reported with generic units ("records") and checked for balance only.
STAGE_UNITS: dict[str, Units] = {
    "ingest_warc": Units("WARC response records", "documents"),
    "ingest_pdf": Units("PDF files", "documents", pages_metric="pdf_pages"),
    "ingest_jsonl": Units("JSONL lines", "documents"),
    "web_filter": Units("documents", "pages"),  # a web document is one page (page 0)
    "pdf_parse": Units("pages", "pages"),
    "text_pages": Units("documents", "pages"),
    "dedup": Units("pages", "pages"),
    "corpus": Units("pages", "pages", documents_metric="documents", tokens_metric="tokens",
                    rows_are="documents"),
}
_GENERIC = Units("records", "records")
# Stages whose output unit is "documents" with one page each (web records, JSONL lines).
_ONE_PAGE_PER_DOCUMENT = {"ingest_warc", "ingest_jsonl", "web_filter", "text_pages"}


def _units(stage: str) -> Units:
    return STAGE_UNITS.get(stage, _GENERIC)


def _pages_out(stage: str, c: StageCounters) -> int | None:
    u = _units(stage)
    if u.pages_metric:
        return int(c.metrics.get(u.pages_metric, 0))
    if u.unit_out == "pages" or stage in _ONE_PAGE_PER_DOCUMENT:
        return c.kept
    return None


def _documents_out(stage: str, c: StageCounters) -> int | None:
    u = _units(stage)
    if u.documents_metric:
        return int(c.metrics.get(u.documents_metric, 0))
    if u.unit_out == "documents" or stage in _ONE_PAGE_PER_DOCUMENT:
        return c.kept
    return None  # pages of PDFs / deduplicated pages: the counters do not say how many documents


def _output_in(parent: dict[str, Any], unit: str) -> int | None:
    """What ``parent`` handed on, measured in the child's input unit."""
    if unit == "pages":
        return parent["pages_out"]
    if unit == "documents":
        return parent["documents_out"]
    return None


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"check": name, "ok": bool(ok), "detail": detail}


def funnel_rows(results: list[dict[str, Any]], storage: Storage | None = None) -> list[dict[str, Any]]:
    """One row per stage summary (``{"stage", "ref", "counters"}`` as the DAG tasks return them).

    With ``storage``, the manifests are read to follow parents (flow check), find quarantine
    datasets and row counts; without it only the balance check is made.
    """
    rows: list[dict[str, Any]] = []
    by_ref: dict[str, dict[str, Any]] = {}
    for r in results:
        stage = r["stage"]
        u = _units(stage)
        if r.get("missing") is True:  # the stage published nothing today (its source or an upstream task failed)
            rows.append({"stage": stage, "dataset": "", "missing": True, "unit_in": u.unit_in,
                         "unit_out": u.unit_out, "input": None, "kept": None, "dropped": None, "reasons": {},
                         "metrics": {}, "pages_out": None, "documents_out": None, "tokens_out": None,
                         "quarantine": None, "quarantine_rows": None, "rows": None, "upstream": [],
                         "checks": []})
            continue
        c = StageCounters.from_dict(r.get("counters"))
        row: dict[str, Any] = {
            "stage": stage, "dataset": r.get("ref", ""), "missing": False, "unit_in": u.unit_in,
            "unit_out": u.unit_out,
            "input": c.input, "kept": c.kept, "dropped": c.total_dropped,
            "reasons": dict(sorted(c.dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
            "metrics": dict(sorted(c.metrics.items())),
            "pages_out": _pages_out(stage, c), "documents_out": _documents_out(stage, c),
            "tokens_out": int(c.metrics[u.tokens_metric]) if u.tokens_metric else None,
            "quarantine": None, "quarantine_rows": None, "rows": r.get("rows"), "upstream": [],
            "checks": [_check("balance", c.input == c.kept + c.total_dropped,
                              f"input {c.input} = kept {c.kept} + dropped {c.total_dropped}")],
        }
        rows.append(row)
        if row["dataset"]:
            by_ref[row["dataset"]] = row
    if storage is None:
        return rows
    for row in rows:
        if not row["dataset"]:
            continue
        ref = DatasetRef.parse(row["dataset"])
        m = read_manifest(storage, ref)
        row["rows"] = m["rows"]
        files = (m.get("inputs") or {}).get("files")
        if files == 0:  # an ingest that found no landing file: the source has not arrived (or had nothing)
            row["no_landing_files"] = True
        u = _units(row["stage"])
        want_rows = row["kept"] if u.rows_are == "kept" else row["documents_out"]
        row["checks"].append(_check("rows", m["rows"] == want_rows,
                                    f"dataset rows {m['rows']} = {u.rows_are} {want_rows}"))
        parents = [by_ref[p] for p in sorted(DatasetRef(**p).key for p in m.get("parents", [])) if p in by_ref]
        if parents:
            row["upstream"] = [p["stage"] for p in parents]
            handed = [_output_in(p, u.unit_in) for p in parents]
            if all(h is not None for h in handed):
                total = sum(h for h in handed if h is not None)
                row["checks"].append(_check(
                    "flow", row["input"] == total,
                    f"input {row['input']} {u.unit_in} = "
                    + " + ".join(f"{p['stage']} {h}" for p, h in zip(parents, handed, strict=True))))
        q = ref.quarantine()
        try:
            qm = read_manifest(storage, q)
        except DatasetNotPublished:
            qm = None
        if qm is not None:
            row["quarantine"], row["quarantine_rows"] = q.key, qm["rows"]
        n_q = row["quarantine_rows"] or 0
        ok = (n_q > 0) == (row["dropped"] > 0) and n_q <= row["dropped"]
        row["checks"].append(_check("quarantine", ok,
                                    f"{n_q} quarantined rows for {row['dropped']} dropped "
                                    f"({row['quarantine'] or 'no quarantine dataset'})"))
    return rows


def all_checks_pass(rows: list[dict[str, Any]]) -> bool:
    return all(c["ok"] for r in rows for c in r["checks"])


def empty_sources(rows: list[dict[str, Any]]) -> list[str]:
    """The ingest stages that found no landing file for the day (published, but empty)."""
    return [r["stage"] for r in rows if r.get("no_landing_files")]


def missing_stages(rows: list[dict[str, Any]]) -> list[str]:
    """The stages that published nothing (a partial day), in funnel order."""
    return [r["stage"] for r in rows if r.get("missing") is True]


def _fmt(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def funnel_markdown(rows: list[dict[str, Any]], title: str) -> str:
    ok = all_checks_pass(rows)
    lines = [f"# {title}", "",
             f"**Accounting: {'all numbers add up' if ok else 'MISMATCH, see the checks below'}.** "
             "Every stage's input is either kept or dropped for a named reason, and dropped records are "
             "in the stage's quarantine dataset (column `reason`).", "",
             *([f"**Partial day: {', '.join(f'`{m}`' for m in missing_stages(rows))} published nothing.** "
                "The other sources went on: dedup and the corpus ran on what was published. Re-run the day "
                "when the source is back: it publishes new versions (a version names its inputs).", ""]
               if missing_stages(rows) else []),
             *([f"**No landing files: {', '.join(f'`{r}`' for r in empty)}.** Re-run the day if they arrive "
                "later: the new files give new versions.", ""] if (empty := empty_sources(rows)) else []),
             "![funnel](funnel.png)", "",
             "| stage | unit in → out | in | kept | dropped | documents out | pages out | tokens out "
             "| top reasons |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if r.get("missing") is True:
            lines.append(f"| {r['stage']} | {r['unit_in']} → {r['unit_out']} | – | – | – | – | – | – "
                         "| **not published** |")
            continue
        reasons = ", ".join(f"{k} {v:,}" for k, v in list(r["reasons"].items())[:TOP_REASONS]) or "–"
        more = len(r["reasons"]) - TOP_REASONS
        if more > 0:
            reasons += f" (+{more} more)"
        lines.append(f"| {r['stage']} | {r['unit_in']} → {r['unit_out']} | {r['input']:,} | {r['kept']:,} | "
                     f"{r['dropped']:,} | {_fmt(r['documents_out'])} | {_fmt(r['pages_out'])} | "
                     f"{_fmt(r['tokens_out'])} | {reasons} |")
    lines += ["", "## Dropped, by reason", "", "| stage | reason | dropped | share of stage input |",
              "|---|---|---:|---:|"]
    for r in rows:
        for reason, n in r["reasons"].items():
            share = f"{100 * n / r['input']:.1f}%" if r["input"] else "–"
            lines.append(f"| {r['stage']} | `{reason}` | {n:,} | {share} |")
    lines += ["", "## Checks", "", "| stage | check | ok | detail |", "|---|---|---|---|"]
    for r in rows:
        for c in r["checks"]:
            lines.append(f"| {r['stage']} | {c['check']} | {'✓' if c['ok'] else '✗'} | {c['detail']} |")
    lines += ["", "## Datasets", "", "| stage | output | rows | quarantine | quarantined rows |",
              "|---|---|---:|---|---:|"]
    for r in rows:
        if r.get("missing") is True:
            lines.append(f"| {r['stage']} | not published | – | – | – |")
            continue
        lines.append(f"| {r['stage']} | `{r['dataset']}` | {_fmt(r['rows'])} | "
                     f"{'`' + r['quarantine'] + '`' if r['quarantine'] else '–'} | {_fmt(r['quarantine_rows'])} |")
    return "\n".join(lines) + "\n"


def funnel_png(rows: list[dict[str, Any]], title: str) -> bytes:
    """Horizontal bars per stage: kept (green) and dropped (red), each stage in its own unit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.6 * max(3, len(rows)) + 1.2), dpi=100)
    names = [f"{r['stage']} ({r['unit_in']})" for r in rows][::-1]
    kept = [r["kept"] or 0 for r in rows][::-1]
    dropped = [r["dropped"] or 0 for r in rows][::-1]
    missing = [r.get("missing") is True for r in rows][::-1]
    ax.barh(names, kept, color="#2b8a3e", label="kept")
    ax.barh(names, dropped, left=kept, color="#c92a2a", label="dropped / quarantined")
    for y, (k, d, m) in enumerate(zip(kept, dropped, missing, strict=True)):
        ax.text(k + d, y, "  not published" if m else f"  {k:,} kept / {d:,} dropped", va="center", fontsize=8)
    ax.set_xlabel("records (each stage in its own unit)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.margins(x=0.35)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no version stamp: byte-stable
    plt.close(fig)
    return buf.getvalue()


def render_report(rows: list[dict[str, Any]], title: str) -> dict[str, bytes]:
    return {
        "funnel.md": funnel_markdown(rows, title).encode(),
        "funnel.json": (json.dumps(rows, indent=2, sort_keys=True) + "\n").encode(),
        "funnel.png": funnel_png(rows, title),
    }


def attach_to_dataset(storage: Storage, ref: DatasetRef, files: dict[str, bytes],
                      subdir: str = REPORT_DIR, kind: str = REPORT_KIND) -> dict[str, Any]:
    """Add ``files`` to a PUBLISHED dataset under ``<ref>/<subdir>/`` and register them in its manifest.

    The files are written first and the manifest last (one atomic write: temp file + rename locally,
    one PUT on S3), so a reader sees either the old manifest or the new one, both consistent. Entries
    for the same paths are replaced, so a re-run gives the same manifest byte for byte.
    """
    m = read_manifest(storage, ref)
    entries = []
    for name, blob in sorted(files.items()):
        path = f"{subdir}/{name}"
        storage.write_bytes(f"{ref.key}/{path}", blob)
        entries.append({"path": path, "bytes": len(blob), "rows": 0, "kind": kind,
                        "sha256": hashlib.sha256(blob).hexdigest()})
    new_paths = {e["path"] for e in entries}
    m["files"] = sorted([f for f in m["files"] if f["path"] not in new_paths] + entries, key=lambda f: f["path"])
    # Same serialisation as DatasetWriter.publish.
    storage.write_bytes(f"{ref.key}/{MANIFEST}",
                        (json.dumps(m, indent=2, sort_keys=True, default=str) + "\n").encode())
    return m


def snapshot_of(results: list[dict[str, Any]]) -> DatasetRef | None:
    """The corpus snapshot among the run's outputs (zone `corpus`), if the run published one."""
    refs = [DatasetRef.parse(r["ref"]) for r in results if r.get("ref")]
    snaps = [r for r in refs if r.zone == "corpus"]
    return snaps[-1] if snaps else None


def publish_report(settings: Settings, day: str, results: list[dict[str, Any]],
                   prefix: str = REPORT_PREFIX) -> dict[str, str]:
    """Write funnel.md, funnel.png and funnel.json for ``day`` under ``prefix`` and into the corpus
    snapshot (``<snapshot>/report/``, registered in its manifest); returns the files' URIs."""
    storage = open_storage(settings.data_root, settings.storage_options())
    rows = funnel_rows(results, storage)
    if not all_checks_pass(rows):
        bad = [f"{r['stage']}: {c['detail']}" for r in rows for c in r["checks"] if not c["ok"]]
        log.warning("funnel numbers do not add up: %s", "; ".join(bad))
    if missing_stages(rows):
        log.warning("partial day %s: %s published nothing", day, ", ".join(missing_stages(rows)))
    out = render_report(rows, f"corpus_refresh funnel, {day}")
    base = f"{prefix}/{day}"
    for name, blob in out.items():
        storage.write_bytes(f"{base}/{name}", blob)
    uris = {name: storage.uri(f"{base}/{name}") for name in out}
    snap = snapshot_of(results)
    if snap is not None:
        attach_to_dataset(storage, snap, out)
        uris.update({f"snapshot/{name}": storage.uri(f"{snap.key}/{REPORT_DIR}/{name}") for name in out})
    return uris


# ---------------------------------------------------------------------------------- README funnel block

def day_datasets(storage: Storage, day: str) -> list[DatasetRef]:
    """The datasets published for partition ``day`` (versions are ``<day>_<hex>``), every zone."""
    return [r for r in list_datasets(storage) if r.version.startswith(f"{day}_")]


def readme_funnel(rows: list[dict[str, Any]], datasets: list[DatasetRef]) -> str:
    """The README's funnel block: one line per stage (in, kept, dropped, top reasons, output dataset) and
    the day's datasets by zone, from a run's ``funnel.json`` rows and :func:`day_datasets`."""
    lines = ["| stage | in | kept | dropped | top reasons | dataset |", "|---|---:|---:|---:|---|---|"]
    for r in rows:
        if r.get("missing") is True:
            lines.append(f"| {r['stage']} | – | – | – | **not published** | – |")
            continue
        top = sorted(r["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]  # JSON sorts keys
        reasons = ", ".join(f"{k} {v:,}" for k, v in top) or "–"
        lines.append(f"| {r['stage']} | {r['input']:,} | {r['kept']:,} | {r['dropped']:,} | {reasons} | "
                     f"`{r['dataset']}` |")
    by_zone: dict[str, list[str]] = {}
    for ref in datasets:
        by_zone.setdefault(ref.zone, []).append(ref.name)
    order = {z: i for i, z in enumerate(ZONE_ORDER)}
    lines += ["", "| zone | datasets of the day |", "|---|---|"]
    for zone in sorted(by_zone, key=lambda z: (order.get(z, len(order)), z)):
        lines.append(f"| {zone} | {', '.join(f'`{n}`' for n in sorted(set(by_zone[zone])))} |")
    return "\n".join(lines) + "\n"


def replace_readme_block(text: str, block: str) -> str:
    """``text`` with the part between :data:`README_START` and :data:`README_END` replaced by ``block``."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"no {README_START} ... {README_END} block")
    return text[:start + len(README_START)] + "\n" + block + text[end:]


def readme_block_of(text: str) -> str:
    """The README's funnel block (between the markers)."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"no {README_START} ... {README_END} block")
    return text[start + len(README_START):end].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the funnel block of a README from a finished corpus_refresh run (`sciforge demo` for the
    project's README): ``python -m sciforge.pipelines.report --readme README.md [--day 2026-01-01]``."""
    import argparse
    from pathlib import Path

    from sciforge.pipelines.config import get_settings

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--readme", type=Path, required=True, help="the Markdown file holding the markers")
    ap.add_argument("--day", default="2026-01-01", help="the run's logical date (default: the demo's)")
    a = ap.parse_args(argv)
    settings = get_settings()
    storage = open_storage(settings.data_root, settings.storage_options())
    rows = json.loads(storage.read_bytes(f"{REPORT_PREFIX}/{a.day}/funnel.json"))
    block = readme_funnel(rows, day_datasets(storage, a.day))
    a.readme.write_text(replace_readme_block(a.readme.read_text(encoding="utf-8"), block), encoding="utf-8")
    print(f"{a.readme}: funnel of {a.day} from {storage.uri(f'{REPORT_PREFIX}/{a.day}/funnel.json')}")


if __name__ == "__main__":
    main()
