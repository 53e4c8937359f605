"""The page-text contract: the columns every page dataset carries, first and in this order.

Every stage that publishes pages (``clean/web_pages``, ``clean/pdf_pages``, ``clean/text_pages``,
``clean/pages``) writes these seven columns before its own; every stage that reads pages (dedup, the
corpus) needs them. A dataset's schema is built here (:func:`page_schema`) and an input is checked
here (:func:`require_page_columns`), so the contract has one definition. The dataset layout around
it (manifest, versions, quarantine) is the architecture guide's data contract (ARCHITECTURE.md,
"The data contract"; pipelines/datasets.py implements it).

* ``doc_id``: stable id of the document (unique with ``page``); ``page``: page number in it (0 when a
  document is one page); ``source``: web | pdf | text; ``url``: where the document came from;
  ``domain``: its web domain ("" when none); ``field``: one of :data:`LABELS` or "" (not classified);
  ``text``: the page's text (markdown for PDFs).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

PAGE_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("doc_id", pa.string()),
    ("page", pa.int32()),
    ("source", pa.string()),
    ("url", pa.string()),
    ("domain", pa.string()),
    ("field", pa.string()),
    ("text", pa.string()),
)
PAGE_COLUMNS: tuple[str, ...] = tuple(name for name, _ in PAGE_FIELDS)
PAGE_SCHEMA = pa.schema(PAGE_FIELDS)

# The science fields a page's `field` names (Intern-S1's six scientific domains), and the labels of the
# classifier: the fields plus "other" for anything that is not science.
FIELDS: tuple[str, ...] = ("mathematics", "physics", "chemistry", "life_science", "earth_science",
                           "materials_science")
OTHER = "other"
LABELS: tuple[str, ...] = (*FIELDS, OTHER)


def page_schema(extra: Iterable[tuple[str, pa.DataType] | pa.Field] = ()) -> pa.Schema:
    """A page dataset's schema: the contract columns first, then a stage's ``extra`` columns."""
    return pa.schema([*PAGE_FIELDS, *extra])


def field_label(value: object) -> str:
    """``value`` when it is one of :data:`LABELS`, else "" (unknown or missing: not classified)."""
    return value if isinstance(value, str) and value in LABELS else ""


def missing_page_columns(columns: Iterable[str], need: Iterable[str] = PAGE_COLUMNS) -> list[str]:
    """The columns of ``need`` (all contract columns by default) that ``columns`` lacks, in order."""
    have = set(columns)
    return [c for c in need if c not in have]


def require_page_columns(columns: Iterable[str], need: Iterable[str] = PAGE_COLUMNS, *, what: str = "input"
                         ) -> None:
    """ValueError naming the contract columns of ``need`` that ``columns`` lacks (an input that is not a
    page dataset is a wrong argument, not a content problem: it fails the task)."""
    columns = list(columns)
    missing = missing_page_columns(columns, need)
    if missing:
        raise ValueError(f"{what} is not a page dataset: it lacks the PAGE-TEXT CONTRACT columns {missing} "
                         f"(pipelines/pages.py); got {columns}")
