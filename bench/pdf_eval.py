"""PDF stage evaluation on real PDFs (../shared/data/pdf): text fidelity against docling's
ground truth (per page and per document, ours vs plain PyMuPDF get_text in the same run), OCR
fidelity against docling's OCR ground truth, and routing precision/recall + expensive share.

    .venv/bin/python bench/pdf_eval.py [--data ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._goals import Goals, add_check_flag  # noqa: E402
from bench.pdf_common import (  # noqa: E402
    DEFAULT_DATA,
    born_digital,
    gt_markdown,
    gt_pages,
    load_avg,
    ocr_gt_markdown,
    scanned,
    similarity,
)
from bench.pdf_stage import doc_markdown, page_routes, run_stage  # noqa: E402
from sciforge.pipelines.pdf.config import PdfConfig  # noqa: E402


def _get_text_pages(pdf: Path) -> list[str]:
    import pymupdf

    pymupdf._get_layout = None
    with pymupdf.open(pdf) as d:
        return [p.get_text() for p in d]


def _is_mineru(pdf: Path) -> bool:
    return "mineru_demo" in pdf.parts


def _pr(pairs: list[tuple[str, str]], label: str) -> tuple[float, float, int]:
    tp = sum(1 for g, p in pairs if g == label and p == label)
    fp = sum(1 for g, p in pairs if g != label and p == label)
    fn = sum(1 for g, p in pairs if g == label and p != label)
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return prec, rec, tp + fn


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (default ../shared/data)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    add_check_flag(ap)
    a = ap.parse_args(argv)
    if not (a.data / "pdf").is_dir():
        ap.error(f"{a.data}/pdf not found: pass --data")
    cfg = PdfConfig()
    digital, scans = born_digital(a.data), scanned(a.data)
    print(f"load average {load_avg()}; running the stage on {len(digital)} born-digital + {len(scans)} scanned PDFs")
    res, _ = run_stage(digital + scans, cfg)

    # --- text fidelity vs docling ground truth ---------------------------------------------------
    page_ours, page_base, doc_ours, doc_base = [], [], [], []
    pairs: list[tuple[str, str]] = []
    raw_pairs: list[tuple[str, str]] = []  # docling's formula labels as they are (one is a mislabel)
    for pdf in digital:
        gt = gt_pages(a.data, pdf)
        raw = gt_pages(a.data, pdf, audited=False) or {}
        md = gt_markdown(a.data, pdf)
        if gt is None or md is None:
            continue
        base_pages = _get_text_pages(pdf)
        ours = {r["page"]: r["text"] for r in res[pdf.name]["kept"]}
        routes = page_routes(res[pdf.name])
        for pno, g in gt.items():
            pairs.append((g["label"], routes.get(pno, "failed")))
            raw_pairs.append((raw[pno]["label"], routes.get(pno, "failed")))
            if g["label"] in ("text", "math") and g["text"].strip():
                page_ours.append(similarity(ours.get(pno, ""), g["text"]))
                page_base.append(similarity(base_pages[pno - 1], g["text"]))
        doc_ours.append(similarity(doc_markdown(res[pdf.name]), md))
        doc_base.append(similarity("\n".join(base_pages), md))
    # --- OCR fidelity --------------------------------------------------------------------------
    ocr_ours, ocr_names = [], []
    for pdf in scans:
        for p in range(1, res[pdf.name]["pages"] + 1):
            pairs.append(("scan", page_routes(res[pdf.name]).get(p, "failed")))
        gt_md = ocr_gt_markdown(a.data, pdf)
        if gt_md is not None:
            ocr_ours.append(similarity(doc_markdown(res[pdf.name]), gt_md))
            ocr_names.append(pdf.stem)
    # --- routing ------------------------------------------------------------------------------
    math_p, math_r, math_n = _pr(pairs, "math")
    raw_p, raw_r, raw_n = _pr(raw_pairs, "math")
    scan_p, scan_r, scan_n = _pr(pairs, "scan")
    routes_digital = Counter(r for pdf in digital for r in page_routes(res[pdf.name]).values())
    n_digital = sum(routes_digital.values())
    exp_digital = routes_digital["math"] + routes_digital["scan"]
    # collections by folder: pdf/docling/pdf/sources (13 PDFs, 11 with ground truth) and
    # pdf/mineru_demo (the three demo papers; its scanned small_ocr.pdf is in the scan set)
    gt_docs = [pdf for pdf in digital if not _is_mineru(pdf)]
    routes_gt = Counter(r for pdf in gt_docs for r in page_routes(res[pdf.name]).values())
    other_docs = [pdf for pdf in digital if pdf not in gt_docs]
    routes_other = Counter(r for pdf in other_docs for r in page_routes(res[pdf.name]).values())
    parsers = Counter(r["parser"] for v in res.values() for r in v["kept"])
    flags = Counter(f for v in res.values() for r in v["kept"] for f in r["flags"])
    fig = {
        "page_similarity_ours": mean(page_ours), "page_similarity_get_text": mean(page_base),
        "doc_similarity_ours": mean(doc_ours), "doc_similarity_get_text": mean(doc_base),
        "pages_compared": len(page_ours), "docs_compared": len(doc_ours),
        "ocr_doc_similarity_ours": mean(ocr_ours) if ocr_ours else None, "ocr_docs": ocr_names,
        "math_precision": math_p, "math_recall": math_r, "math_gt_pages": math_n,
        "math_precision_raw_labels": raw_p, "math_recall_raw_labels": raw_r, "math_gt_pages_raw_labels": raw_n,
        "scan_precision": scan_p, "scan_recall": scan_r, "scan_gt_pages": scan_n,
        "route_shares_born_digital": {k: v / n_digital for k, v in routes_digital.most_common()},
        "expensive_share_born_digital": exp_digital / n_digital,
        "expensive_share_docling_papers": (routes_gt["math"] + routes_gt["scan"]) / sum(routes_gt.values()),
        "expensive_share_other_papers": ((routes_other["math"] + routes_other["scan"]) / sum(routes_other.values())
                                         if routes_other else None),
        "parsers": dict(parsers), "flags": dict(flags), "load_average": load_avg(),
    }
    print("\n== text fidelity vs docling ground truth (normalised edit similarity) ==")
    print(f"per page ({len(page_ours)} pages): ours {fig['page_similarity_ours']:.3f} | "
          f"get_text {fig['page_similarity_get_text']:.3f} | ratio "
          f"{fig['page_similarity_ours'] / fig['page_similarity_get_text']:.3f}")
    print(f"per document ({len(doc_ours)} docs): ours {fig['doc_similarity_ours']:.3f} | "
          f"get_text {fig['doc_similarity_get_text']:.3f} | ratio "
          f"{fig['doc_similarity_ours'] / fig['doc_similarity_get_text']:.3f}")
    if ocr_ours:
        print(f"OCR pages vs docling OCR ground truth ({', '.join(ocr_names)}): ours "
              f"{fig['ocr_doc_similarity_ours']:.3f} (get_text: 0.000, these PDFs have no text layer)")
    print("\n== routing ==")
    print(f"math: precision {math_p:.2f} recall {math_r:.2f} ({math_n} ground-truth pages; docling formula "
          f"items without any formula character not counted)")
    print(f"math with docling's raw labels: precision {raw_p:.2f} recall {raw_r:.2f} ({raw_n} pages)")
    print(f"scan: precision {scan_p:.2f} recall {scan_r:.2f} ({scan_n} ground-truth pages)")
    print("route shares (born-digital): " + ", ".join(f"{k} {v:.1%}" for k, v in fig["route_shares_born_digital"].items()))
    print(f"expensive share: {fig['expensive_share_born_digital']:.1%} of all born-digital pages, "
          f"{fig['expensive_share_docling_papers']:.1%} of the docling PDFs ({sum(routes_gt.values())} pages), "
          f"{(fig['expensive_share_other_papers'] or 0):.1%} of the three MinerU demo papers ({sum(routes_other.values())} pages)")
    print(f"parsers used: {dict(parsers)}; flags: {dict(flags)}")
    fig["math_threshold_sweep"] = _threshold_sweep(a.data, digital, res)
    if a.json:
        a.json.write_text(json.dumps(fig, indent=2))
    return fig


def _threshold_sweep(data: Path, digital: list[Path], res: dict) -> list[dict]:
    """Re-route every born-digital page from its recorded features with other values of the
    math thresholds (``math_min_display_equations`` 1-5 with the density test off, then the
    default with it): math recall on the docling ground truth and the expensive share per
    collection, without parsing again (bench/pdf_routing.py: the same on hand-labelled pages)."""
    from sciforge.pipelines.pdf.features import PageFeatures
    from sciforge.pipelines.pdf.router import route_page

    feats: dict[str, dict[int, PageFeatures]] = {}
    for pdf in digital:
        rows = res[pdf.name]["kept"] + [q for q in res[pdf.name]["quarantined"] if q["page"] > 0 and q["features"]]
        feats[pdf.name] = {r["page"]: PageFeatures(**json.loads(r["features"])) for r in rows}
    default = PdfConfig()
    print("\n== math thresholds, re-routed from the recorded features (display equations >= n; "
          "the last row adds the default density test) ==")
    out = []
    variants = [(f">= {n}", PdfConfig(math_min_display_equations=n, math_min_equation_density=0.0))
                for n in (1, 2, 3, 4, 5)]
    variants.append((f">= {default.math_min_display_equations} & density >= {default.math_min_equation_density:g}",
                     default))
    for key, cfg in variants:
        routes = {name: {pno: route_page(f, cfg).label for pno, f in fs.items()} for name, fs in feats.items()}
        pairs = [(g["label"], routes[pdf.name].get(pno, "failed")) for pdf in digital
                 for pno, g in (gt_pages(data, pdf) or {}).items()]
        _, rec, n_gt = _pr(pairs, "math")
        shares = {}
        for coll, docs in (("docling", [d for d in digital if not _is_mineru(d)]),
                           ("mineru_demo", [d for d in digital if _is_mineru(d)]),
                           ("all", digital)):
            rs = [r for d in docs for r in routes[d.name].values()]
            shares[coll] = sum(r in ("math", "scan") for r in rs) / len(rs) if rs else float("nan")
        row = {"rule": key, "math_min_display_equations": cfg.math_min_display_equations,
               "math_min_equation_density": cfg.math_min_equation_density, "math_recall_docling": rec,
               "math_gt_pages": n_gt, "expensive_share": shares}
        out.append(row)
        print(f"  {key}: math recall {rec:.2f} ({n_gt} docling page(s)); expensive share docling "
              f"{shares['docling']:.1%}, MinerU demo {shares['mineru_demo']:.1%}, all {shares['all']:.1%}"
              + ("  <- default" if cfg == default else ""))
    return out


def check_goals(fig: dict) -> Goals:
    """Stated goals: page fidelity >= plain get_text's; scanned pages all routed to OCR (P = R = 1)."""
    goals = Goals("pdf_eval")
    goals.at_least("page text fidelity / get_text's", fig["page_similarity_ours"] / fig["page_similarity_get_text"],
                   1.0, fmt="{:.3f}")
    goals.at_least("scan route recall", fig["scan_recall"], 1.0, fmt="{:.2f}")
    goals.at_least("scan route precision", fig["scan_precision"], 1.0, fmt="{:.2f}")
    return goals


if __name__ == "__main__":
    sys.exit(check_goals(main()).finish("--check" in sys.argv[1:]))
