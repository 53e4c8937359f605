"""The real tier of bench/pdf_structure.py: its hand labels (bench/data/pdf_real/*.jsonl) are
well formed, and the loader finds PDFs by sha256 and skips missing ones with a note."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pymupdf
import pytest

from bench.pdf_structure import REAL_LABELS, check, real_records, real_suite

TEST_FIELDS = {"present": {"text"}, "absent": {"text"}, "order": {"before", "after"},
               "table": {"cell"}, "math": {"latex"}, "blank": set()}
NEIGHBOURS = {"left", "right", "up", "down"}


def test_real_labels_are_well_formed() -> None:
    recs = real_records()
    assert recs, f"no labelled pages in {REAL_LABELS}"
    for f in sorted(REAL_LABELS.glob("*.jsonl")):
        ids = [json.loads(line)["id"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert ids == sorted(ids), f"{f.name}: lines not sorted by id"
    per_pdf: Counter[str] = Counter()
    for r in recs:
        where = r["id"]
        assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", r["repo"]), where
        assert re.fullmatch("[0-9a-f]{40}", r["commit"]) and re.fullmatch("[0-9a-f]{64}", r["sha256"]), where
        assert r["path"].lower().endswith(".pdf") and isinstance(r["page"], int) and r["page"] >= 1, where
        assert r["split"] == ("heldout" if r["sha256"][0] in "01234567" else "dev"), where
        assert isinstance(r["born_digital"], bool) and r["kind"] and r["licence"], where
        assert 1 <= len(r["tests"]) <= 8, where
        per_pdf[r["sha256"]] += 1
        for t in r["tests"]:
            need = TEST_FIELDS[t["type"]]
            extra = set(t) - need - {"type"} - (NEIGHBOURS if t["type"] == "table" else set())
            assert need <= set(t) and not extra, (where, t)
            assert all(isinstance(t[k], str) and t[k].strip() for k in set(t) - {"type"}), (where, t)
        if not any(t["type"] == "blank" for t in r["tests"]):  # a blank page has one test to pass
            assert len(r["tests"]) >= 3, where
    assert max(per_pdf.values()) <= 5


def _pdf(path: Path, text: str) -> str:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    doc.save(str(path), no_new_id=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_real_suite_finds_pdfs_by_sha256_and_skips_missing(tmp_path: Path) -> None:
    pdfs, labels = tmp_path / "pdfs" / "nested", tmp_path / "labels"
    pdfs.mkdir(parents=True)
    labels.mkdir()
    sha = _pdf(pdfs / "any-name.pdf", "Hello real tier")
    base = {"repo": "o/r", "commit": "0" * 40, "kind": "paper", "born_digital": True, "licence": "unknown",
            "tests": [{"type": "present", "text": "Hello real tier"}]}
    lines = [dict(base, id="a", path="a.pdf", sha256=sha, page=1, split="dev"),
             dict(base, id="b", path="b.pdf", sha256="f" * 64, page=1, split="dev"),
             dict(base, id="c", path="a.pdf", sha256=sha, page=7, split="dev")]
    (labels / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    suite, notes = real_suite(tmp_path / "pdfs", labels)
    assert len(suite) == 1 and suite[0]["only"] == [0] and suite[0]["meta"][0]["id"] == "a"
    assert len(notes) == 2 and any("missing PDF o/r:b.pdf" in n for n in notes)
    assert any(n.startswith("c: page 7") for n in notes)
    suite, notes = real_suite(tmp_path / "nowhere", labels)
    assert suite == [] and len(notes) == 2
    (labels / "y.jsonl").write_text(json.dumps(dict(lines[0], path="other.pdf", id="d")) + "\n")
    with pytest.raises(ValueError, match="two sources"):
        real_records(labels)


def test_math_tests_take_the_latex_key() -> None:
    assert check({"type": "math", "latex": r"E = mc^{2}"}, "so $$E=mc^2$$ holds")
    assert not check({"type": "math", "latex": r"E = mc^{3}"}, "so $$E=mc^2$$ holds")


def test_checker_strips_html_tags_but_not_inequalities() -> None:
    md = ("$$-\\infty < y <\\infty$$\n\nis called the cdf of Y, and $y_{1}<y_{2}$.\n\nProperties of cdfs\n\n"
          "$p(y)> 0$.\n\n<table><tr><td style=\"x\">Mass</td></tr></table><br/>")
    assert check({"type": "present", "text": "is called the cdf of Y"}, md)
    assert check({"type": "present", "text": "Mass"}, md)
    assert check({"type": "present", "text": "Properties of cdfs"}, md)
    assert not check({"type": "present", "text": "table tr td"}, md)
