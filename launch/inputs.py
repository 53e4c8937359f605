"""Which datasets a run reads, chosen by the run's date, never by whatever is listed when it runs, so a
backfill run in any order reads what the nightly run of that day did."""

from __future__ import annotations

import datetime as dt
from typing import Any


def previous_pages(versions: list[str], day: str, n: int) -> list[Any]:
    """`clean/pages` refs of the `n` calendar days before `day` (all versions of each day, sorted)."""
    from sciforge.pipelines.datasets import DatasetRef

    out = []
    for back in range(n, 0, -1):
        d = (dt.date.fromisoformat(day) - dt.timedelta(days=back)).isoformat()
        found = sorted(v for v in versions if v[:10] == d)
        if not found:
            raise RuntimeError(f"dedup: previous_snapshots={n} needs clean/pages of {d}, which is not published "
                               "(backfill oldest first, one run at a time, or lower previous_snapshots)")
        out += [DatasetRef("clean", "pages", v) for v in found]
    return out


def previous_snapshots(settings: Any, day: str, n: int) -> list[str]:
    """Keys of the published `clean/pages` versions of the `n` days before `day` (see previous_pages)."""
    if n <= 0:
        return []
    from sciforge.pipelines.datasets import list_versions
    from sciforge.pipelines.storage import open_storage

    versions = list_versions(open_storage(settings.data_root, settings.storage_options()), "clean", "pages")
    return [r.key for r in previous_pages(versions, day, n)]
