"""pipelines/pages.py: the one page contract every page-publishing stage builds its schema from."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sciforge.pipelines.pages import (
    FIELDS,
    LABELS,
    PAGE_COLUMNS,
    PAGE_SCHEMA,
    field_label,
    missing_page_columns,
    page_schema,
    require_page_columns,
)


def test_every_page_dataset_schema_starts_with_the_contract() -> None:
    from sciforge.pipelines.dedup.decide import KEPT_SCHEMA as DEDUP_KEPT
    from sciforge.pipelines.dedup.decide import QUARANTINE_SCHEMA as DEDUP_QUARANTINE
    from sciforge.pipelines.pdf.parse import KEPT_SCHEMA as PDF_KEPT
    from sciforge.pipelines.text_pages import QUARANTINE_SCHEMA as TEXT_QUARANTINE
    from sciforge.pipelines.web.pages import PAGES_SCHEMA, SCORED_SCHEMA

    n = len(PAGE_COLUMNS)
    for schema in (DEDUP_KEPT, DEDUP_QUARANTINE, PDF_KEPT, TEXT_QUARANTINE, PAGES_SCHEMA, SCORED_SCHEMA):
        assert pa.schema(list(schema)[:n]).equals(PAGE_SCHEMA), schema
        assert len(set(schema.names)) == len(schema.names)  # a stage's column never shadows the contract's
    assert PAGE_SCHEMA.names == list(PAGE_COLUMNS)
    assert PAGE_SCHEMA.field("page").type == pa.int32()


def test_page_schema_appends_a_stages_columns_in_order() -> None:
    s = page_schema([("score", pa.float32()), pa.field("flags", pa.list_(pa.string()))])
    assert s.names == [*PAGE_COLUMNS, "score", "flags"]
    assert s.field("flags").type == pa.list_(pa.string())
    assert page_schema().equals(PAGE_SCHEMA)


def test_field_label_keeps_known_labels_only() -> None:
    assert LABELS == (*FIELDS, "other")
    assert [field_label(v) for v in ("physics", "other", "Physics", "astrology", None, 3)] == \
        ["physics", "other", "", "", "", ""]


def test_require_page_columns_names_what_is_missing() -> None:
    assert missing_page_columns(["text", "doc_id"], ("doc_id", "page", "text")) == ["page"]
    require_page_columns(PAGE_COLUMNS)
    require_page_columns(["doc_id", "text", "extra"], ("doc_id", "text"))
    with pytest.raises(ValueError, match=r"PAGE-TEXT CONTRACT columns \['doc_id'\]"):
        require_page_columns(["text"], ("doc_id", "text"))
