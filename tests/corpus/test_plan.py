"""Capacity plan: model FLOPs from the preset's shapes, the plan's arithmetic, and a calibration run here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sciforge.cli.plan import run_calibration
from sciforge.model.config import get_config
from sciforge.pipelines.plan import (
    GPU_PEAK_FLOPS,
    STAGES,
    format_plan,
    load_rates,
    make_plan,
    model_flops_per_token,
    parse_count,
    parse_gpus,
    plan_chart,
    plan_line,
    save_rates,
    two_point_rates,
)
from sciforge.pipelines.storage import open_storage

S1 = get_config("intern_s1")


def test_intern_s1_parameters_match_qwen3_235b_a22b() -> None:
    f = model_flops_per_token(S1, 4096)
    # Qwen3-235B-A22B's model card: 235B parameters in total, 22B activated per token
    assert f["total_params"] == pytest.approx(235e9, rel=0.02)
    assert f["active_params"] == pytest.approx(22e9, rel=0.05)
    assert f["dense"] + f["experts"] == pytest.approx(6 * f["active_params"])
    assert f["total"] == pytest.approx(f["dense"] + f["experts"] + f["attention"])
    assert model_flops_per_token(S1, 8192)["attention"] == pytest.approx(2 * f["attention"])


def test_counts_and_gpus_parse() -> None:
    assert parse_count("5T") == 5 * 10**12 and parse_count("1.5B") == 1_500_000_000 and parse_count("300") == 300
    assert parse_gpus("1024xH200") == (1024, "H200")
    with pytest.raises(ValueError):
        parse_count("five")
    with pytest.raises(ValueError):
        parse_gpus("8xTPU")


def _rates() -> dict[str, Any]:
    return {
        "stages": {name: {"per_core_s": 100.0} for name, _, _ in STAGES},
        "keep": {"web": 0.5, "pdf": 0.8, "text": 1.0, "dedup": {"web": 0.9, "pdf": 0.5, "text": 1.0}},
        "tokens_per_page": {"web": 1000.0, "pdf": 500.0, "text": 200.0},
        "bytes_per_item": {z: {"web": 10.0, "pdf": 20.0, "text": 1.0} for z in ("landing", "raw", "clean")},
        "clean_pages_bytes_per_page": 3.0, "corpus_bytes_per_token": 4.1,
    }


def test_plan_arithmetic() -> None:
    p = make_plan(_rates(), web_docs=1000, pdf_pages=100, text_docs=10, tokens=10**9, model=S1,
                  gpus="8xH100", cores=10, mfu=0.5)
    rows = {r["stage"]: r for r in p.rows}
    assert rows["web_filter"]["core_hours"] == pytest.approx(1000 / 100 / 3600)
    assert rows["web_filter"]["wall_hours"] == pytest.approx(1000 / 100 / 3600 / 10)
    assert rows["dedup"]["items"] == pytest.approx(500 + 80 + 10)
    # kept after dedup: web 450 x 1000, pdf 40 x 500, text 10 x 200 tokens
    assert p.corpus_tokens == pytest.approx(450_000 + 20_000 + 2_000)
    train = rows["train intern_s1"]
    flops = model_flops_per_token(S1, 4096)["total"]
    assert train["gpu_hours"] == pytest.approx(1e9 * flops / (GPU_PEAK_FLOPS["H100"] * 0.5) / 3600)
    assert train["wall_hours"] == pytest.approx(train["gpu_hours"] / 8)
    assert p.storage["landing"] == pytest.approx(1000 * 10 + 100 * 20 + 10)
    assert "intern_s1" in format_plan(p) and "GPU-hours" in plan_line(p)


@pytest.mark.slow
def test_calibration_on_the_sample_corpus(demo_corpus: Path, settings: Any) -> None:
    rates = run_calibration(settings, str(demo_corpus))
    st = open_storage(settings.data_root)
    save_rates(st, rates)
    rates = load_rates(st)
    assert {n for n, _, _ in STAGES} == set(rates["stages"])
    assert all(r["items"] > 0 and r["cpu_s"] > 0 and r["per_core_s"] > 0 for r in rates["stages"].values())
    assert all(0 < rates["keep"][s] <= 1 for s in ("web", "pdf", "text"))
    assert 0 < rates["keep"]["dedup"]["web"] < 1  # the sample corpus plants duplicate web pages
    assert all(v > 0 for v in rates["tokens_per_page"].values())
    assert 4 <= rates["corpus_bytes_per_token"] < 8  # uint32 tokens + padding, indexes, lineage
    p = make_plan(rates, web_docs=10**10, pdf_pages=10**9, text_docs=10**8, tokens=5 * 10**12, model=S1,
                  gpus="1024xH200", cores=4096)
    assert p.corpus_tokens > 0 and plan_chart(p)[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_point_rates_split_fixed_and_per_item_cpu() -> None:
    def run(items: int, cpu: float) -> dict[str, Any]:
        return {**_rates(), "stages": {n: {"items": items, "cpu_s": cpu, "per_core_s": items / cpu}
                                       for n, _, _ in STAGES}}

    r = two_point_rates(run(100, 3.0), run(200, 5.0))  # 2 s fixed + 50 items per CPU-second
    s = r["stages"]["web_filter"]
    assert s["per_core_s"] == pytest.approx(50.0) and s["fixed_s"] == pytest.approx(1.0)
    p = make_plan(r, web_docs=400, pdf_pages=0, text_docs=0, tokens=0, model=S1, gpus="1xH100", cores=1)
    assert next(x for x in p.rows if x["stage"] == "web_filter")["core_hours"] * 3600 == pytest.approx(1.0 + 8.0)
    flat = two_point_rates(run(100, 3.0), run(200, 2.9))  # no more CPU for more items: plain rate, no fixed part
    assert flat["stages"]["dedup"]["fixed_s"] == 0.0 and flat["stages"]["dedup"]["per_core_s"] == pytest.approx(200 / 2.9)


def test_two_point_rates_with_a_repeat_run_leave_noise_to_the_fixed_part() -> None:
    def run(items: int, cpu: float) -> dict[str, Any]:
        return {**_rates(), "stages": {n: {"items": items, "cpu_s": cpu, "per_core_s": items / cpu}
                                       for n, _, _ in STAGES}}

    # no more CPU than the mean of the two runs of the small size: all start-up
    r = two_point_rates(run(100, 3.0), run(200, 3.05), repeat=run(100, 3.2))
    s = r["stages"]["corpus"]
    assert s["per_core_s"] == 0.0 and s["fixed_s"] == pytest.approx((3.0 + 3.2 + 3.05) / 3)
    p = make_plan(r, web_docs=10**6, pdf_pages=0, text_docs=0, tokens=0, model=S1, gpus="1xH100", cores=1)
    assert next(x for x in p.rows if x["stage"] == "corpus")["core_hours"] * 3600 == pytest.approx(s["fixed_s"])
    # grew: the slope from the mean of the small runs
    r = two_point_rates(run(100, 3.0), run(200, 5.1), repeat=run(100, 3.2))
    assert r["stages"]["corpus"]["per_core_s"] == pytest.approx(100 / 2.0)
    assert r["stages"]["corpus"]["fixed_s"] == pytest.approx(1.1)


def test_two_point_rates_split_dedup_keep_into_marginal_and_shared_pages() -> None:
    def run(items: int, keep_pdf: float) -> dict[str, Any]:
        base = _rates()
        return {**base, "keep": {**base["keep"], "dedup": {**base["keep"]["dedup"], "pdf": keep_pdf}},
                "stages": {n: {"items": items, "cpu_s": 1.0, "per_core_s": float(items)} for n, _, _ in STAGES}}

    # 80 PDF pages reach dedup, 40 kept; 160 reach it, 60 kept: 20 shared pages + a quarter of the rest
    r = two_point_rates(run(100, 0.5), run(200, 60 / 160))
    assert r["keep"]["dedup"]["pdf"] == pytest.approx(0.25) and r["keep"]["dedup_fixed"]["pdf"] == pytest.approx(20)
    assert r["keep"]["dedup"]["web"] == pytest.approx(0.9) and r["keep"]["dedup_fixed"]["web"] == pytest.approx(0)
    p = make_plan(r, web_docs=0, pdf_pages=400, text_docs=0, tokens=0, model=S1, gpus="1xH100", cores=1)
    assert next(x for x in p.rows if x["stage"] == "corpus")["items"] == pytest.approx(0.25 * 320 + 20)
    # never more pages kept than come in
    p = make_plan(r, web_docs=0, pdf_pages=10, text_docs=0, tokens=0, model=S1, gpus="1xH100", cores=1)
    assert next(x for x in p.rows if x["stage"] == "corpus")["items"] == pytest.approx(8)


def test_distinct_seeds_share_no_notes_or_fixed_pages(tmp_path: Path) -> None:
    import json

    import pymupdf

    from sciforge.fixtures.demo_data import write_demo_corpus

    a, b, plain = tmp_path / "a", tmp_path / "b", tmp_path / "plain"
    write_demo_corpus(a, seed=1000, distinct=True)
    write_demo_corpus(b, seed=1001, distinct=True)
    write_demo_corpus(plain, seed=1000)

    def notes(d: Path) -> set[str]:
        out = set()
        for line in (d / "jsonl" / "notes.jsonl").read_bytes().splitlines():
            try:
                out.add(json.loads(line)["text"])
            except (ValueError, KeyError):
                continue
        return out

    def pages(d: Path, name: str) -> list[str]:
        return [pg.get_text() for pg in pymupdf.open(d / "pdf" / name)]

    assert len(notes(a)) == 8 and not notes(a) & notes(b) and not notes(a) & notes(plain)
    qa, qb, qp = (pages(d, "paper_quantum.pdf") for d in (a, b, plain))
    assert qa[1] != qb[1] and qa[2] != qb[2]  # equation and reference pages: the seed's own paragraph
    assert qa[1].startswith(qp[1].split("\n")[0]) and qa[3] == qp[3]  # same intro; copyright page shared
    assert pages(a, "report_proteomics.pdf")[1] != pages(b, "report_proteomics.pdf")[1]  # table page
    # the web pages are the seed's own either way: distinct leaves the WARC files as they are
    for f in sorted((plain / "warc").iterdir()):
        assert (a / "warc" / f.name).read_bytes() == f.read_bytes()
