"""Funnel report: what each stage took in, kept and dropped (by reason), as Markdown + PNG."""

from __future__ import annotations

import io
import json
from typing import Any

from pipelines.config import Settings
from pipelines.counters import StageCounters
from pipelines.storage import open_storage

TOP_REASONS = 6  # reasons listed per stage in the table; the JSON keeps them all


def funnel_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        c = StageCounters.from_dict(r.get("counters"))
        rows.append({"stage": r["stage"], "dataset": r.get("ref", ""), "input": c.input, "kept": c.kept,
                     "dropped": c.total_dropped, "reasons": dict(c.dropped.most_common()),
                     "metrics": dict(c.metrics)})
    return rows


def funnel_markdown(rows: list[dict[str, Any]], title: str) -> str:
    lines = [f"# {title}", "", "| stage | in | kept | dropped | top reasons | dataset |",
             "|---|---:|---:|---:|---|---|"]
    for r in rows:
        reasons = ", ".join(f"{k} {v}" for k, v in list(r["reasons"].items())[:TOP_REASONS]) or "-"
        lines.append(f"| {r['stage']} | {r['input']} | {r['kept']} | {r['dropped']} | {reasons} | "
                     f"`{r['dataset']}` |")
    return "\n".join(lines) + "\n"


def funnel_png(rows: list[dict[str, Any]], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.6 * max(3, len(rows)) + 1.2), dpi=100)
    names = [r["stage"] for r in rows][::-1]
    kept = [r["kept"] for r in rows][::-1]
    dropped = [r["dropped"] for r in rows][::-1]
    ax.barh(names, kept, color="#2b8a3e", label="kept")
    ax.barh(names, dropped, left=kept, color="#c92a2a", label="dropped / quarantined")
    for y, (k, d) in enumerate(zip(kept, dropped, strict=True)):
        ax.text(k + d, y, f"  {k} kept / {d} dropped", va="center", fontsize=8)
    ax.set_xlabel("records")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.margins(x=0.35)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def publish_report(settings: Settings, day: str, results: list[dict[str, Any]],
                   prefix: str = "reports/corpus_refresh") -> dict[str, str]:
    """Write funnel.md, funnel.png and funnel.json for ``day``; returns their URIs."""
    storage = open_storage(settings.data_root, settings.storage_options())
    rows = funnel_rows(results)
    title = f"corpus_refresh funnel, {day}"
    base = f"{prefix}/{day}"
    out = {
        "funnel.md": funnel_markdown(rows, title).encode(),
        "funnel.json": (json.dumps(rows, indent=2, sort_keys=True) + "\n").encode(),
        "funnel.png": funnel_png(rows, title),
    }
    for name, blob in out.items():
        storage.write_bytes(f"{base}/{name}", blob)
    return {name: storage.uri(f"{base}/{name}") for name in out}
