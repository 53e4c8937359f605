"""Expensive page parsers behind one interface.

Each backend is a module-level function ``fn(pdf_path, page_index, opts) -> markdown`` run
inside an :class:`~sciforge.pipelines.pdf.isolate.IsolatedWorker`. ``select_backend`` picks one per
route from what is installed; ``backend_status`` says what is available and why not.

- ``tesseract``  : OCR through PyMuPDF's Tesseract binding (needs the tesseract-ocr package).
- ``rapidocr``   : ONNX OCR whose models ship in the wheel (slower, no system package).
- ``pymupdf4llm``: pymupdf4llm's layout mode (ONNX layout model shipped in the wheel).
- ``marker``     : marker-pdf, only when installed AND its weights are present locally.
- ``vlm``        : not a local parser: with ``expensive_backend="vlm"`` the page image goes to a
                   vision-language model over HTTP (pipelines/pdf/vlm.py); the worker only renders
                   it (:func:`render_page_png`).
- ``glyph``      : no second parser: the cheap pass's markdown, whose equations mathtex.py
                   already rebuilt as LaTeX from the glyph layer (the offline default for
                   ``math``; pymupdf4llm's layout mode emits no LaTeX).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from sciforge.pipelines.pdf.config import PdfConfig

BACKENDS = {
    "tesseract": "sciforge.pipelines.pdf.backends:ocr_tesseract",
    "rapidocr": "sciforge.pipelines.pdf.backends:ocr_rapidocr",
    "pymupdf4llm": "sciforge.pipelines.pdf.backends:layout_pymupdf4llm",
    "marker": "sciforge.pipelines.pdf.backends:marker_page",
}
# marker-pdf (surya) weight folders, checked in this order; never downloaded by us.
MARKER_WEIGHT_ENV = "MARKER_MODELS_DIR"


def _marker_dir(cfg: PdfConfig) -> Path | None:
    d = cfg.marker_models_dir or os.environ.get(MARKER_WEIGHT_ENV)
    return Path(d) if d else None


def backend_status(cfg: PdfConfig) -> dict[str, tuple[bool, str]]:
    """name -> (available, why). Cheap: no model is loaded."""
    out: dict[str, tuple[bool, str]] = {}
    tess = shutil.which("tesseract")
    if not tess:
        out["tesseract"] = (False, "tesseract binary not found (apt-get install tesseract-ocr tesseract-ocr-eng)")
    else:
        td = tessdata_dir()
        ok = td is not None and (Path(td) / f"{cfg.ocr_language}.traineddata").exists()
        out["tesseract"] = (ok, f"{tess}, tessdata {td}" if ok else
                            f"no {cfg.ocr_language}.traineddata (install tesseract-ocr-{cfg.ocr_language})")
    out["rapidocr"] = ((True, "models ship in the wheel") if importlib.util.find_spec("rapidocr")
                       else (False, "rapidocr not installed"))
    out["pymupdf4llm"] = ((True, "layout mode, ONNX model in the wheel")
                          if importlib.util.find_spec("pymupdf4llm") else (False, "pymupdf4llm not installed"))
    out["vlm"] = ((True, f"{cfg.vlm.model} at {cfg.vlm.endpoint} (OpenAI-compatible API; not probed)")
                  if cfg.expensive_backend == "vlm" else
                  (False, "off: set expensive_backend=vlm with vlm.endpoint and vlm.model (a served VLM)"))
    out["glyph"] = (True, "the cheap pass's markdown with LaTeX rebuilt from the glyph layer (mathtex.py)")
    if importlib.util.find_spec("marker") is None:
        out["marker"] = (False, "marker-pdf is not installed in this environment (optional backend)")
    else:
        d = _marker_dir(cfg)
        if d is None:
            out["marker"] = (False, f"marker-pdf installed but no weights folder configured "
                                    f"(set stages.pdf.marker_models_dir or ${MARKER_WEIGHT_ENV}); "
                                    "weights are never downloaded at run time")
        elif not d.is_dir() or not any(d.iterdir()):
            out["marker"] = (False, f"marker-pdf weights not found in {d}; not downloading")
        else:
            out["marker"] = (True, f"weights in {d}")
    return out


def select_backend(route: str, cfg: PdfConfig) -> tuple[str | None, str]:
    """(backend name or None, why) for an expensive route."""
    st = backend_status(cfg)
    if route == "scan":
        if cfg.ocr_backend == "none":
            return None, "ocr_backend=none"
        order: list[str] = ["tesseract", "rapidocr"] if cfg.ocr_backend == "auto" else [cfg.ocr_backend]
    elif route == "math":
        if cfg.expensive_backend == "marker":
            order = ["marker"]
        elif cfg.math_backend == "cheap":
            return None, "math_backend=cheap"
        else:
            order = ["marker", "glyph"] if cfg.math_backend == "auto" else [cfg.math_backend]
    else:
        return None, f"route {route} has no expensive backend"
    for name in order:
        if st[name][0]:
            return name, st[name][1]
    return None, "; ".join(f"{n}: {st[n][1]}" for n in order)


@lru_cache(maxsize=1)
def tessdata_dir() -> str | None:
    if os.environ.get("TESSDATA_PREFIX"):
        return os.environ["TESSDATA_PREFIX"]
    try:
        import pymupdf

        return pymupdf.get_tessdata()
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# the backends (run in the worker process)

_DOCS: dict[str, Any] = {}


def _page(path: str, pno: int) -> Any:
    import pymupdf

    doc = _DOCS.get(path)
    if doc is None:
        for d in _DOCS.values():
            d.close()
        _DOCS.clear()
        doc = _DOCS[path] = pymupdf.open(path)
    return doc[pno]


def render_page_png(path: str, pno: int, dpi: int) -> bytes:
    """The page as PNG at ``dpi`` (the VLM route's input; deterministic for one PyMuPDF build)."""
    return bytes(_page(path, pno).get_pixmap(dpi=dpi).tobytes("png"))


def ink_share(pix: Any) -> float:
    """Share of a grey pixmap's pixels that are ink (darker than mid-grey, or clearly darker than
    a light sheet): ~0 on a blank (or speckled) sheet, a few percent on a page of text or
    handwriting."""
    import numpy as np

    a = np.frombuffer(pix.samples, dtype=np.uint8)
    if pix.n > 1:
        a = a.reshape(-1, pix.n)[:, 0]
    if not a.size:
        return 0.0
    level = max(INK_LEVEL, int(np.median(a)) - INK_CONTRAST)
    return float((a < level).mean())


# A pixel darker than this (0-255 grey) is ink; and on a light sheet, one at least INK_CONTRAST
# darker than the sheet (its median grey): pencil and faint print on white paper, grey ~140-190.
INK_LEVEL = 128
INK_CONTRAST = 64
# Ink is measured at this resolution (a speck of dust is below one pixel, a 10 pt glyph is not).
INK_DPI = 50


def ocr_tsv_stats(tsv: str) -> tuple[int, float, float]:
    """(words, character-weighted mean confidence, share of characters in words of confidence
    >= OCR_GOOD_WORD_CONF) of Tesseract's TSV output (level-5 rows are words; conf -1 = none)."""
    words = chars = good = 0
    conf_sum = 0.0
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        n = len(text)
        words += 1
        chars += n
        conf_sum += conf * n
        if conf >= OCR_GOOD_WORD_CONF:
            good += n
    return words, (conf_sum / chars if chars else 0.0), (good / chars if chars else 0.0)


def ocr_confident_chars(tsv: str) -> int:
    """Letters and digits of Tesseract's TSV words that are confident (>= OCR_GOOD_WORD_CONF)
    and hold at least two of them (a speck read as "|", "." or "i" counts nothing)."""
    n = 0
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        alnum = sum(c.isalnum() for c in cols[11])
        if conf >= OCR_GOOD_WORD_CONF and alnum >= 2:
            n += alnum
    return n


# A word Tesseract is at least this sure of counts as read (its confidences run 0-100; clean
# print scores 85-96 a word).
OCR_GOOD_WORD_CONF = 60.0


def ocr_tesseract(path: str, pno: int, opts: dict[str, Any]) -> str | dict[str, Any]:
    """OCR the rendered page with Tesseract, then build markdown from the OCR text layer with
    the same renderer as the cheap path (headings, columns, lists, tables).

    One ``tesseract`` run writes both a PDF with the text layer and the TSV of word confidences.
    The page is trusted only when (1) it has ink (``ocr_blank_max_ink``: a blank sheet yields
    nothing; a near-blank one, under ``ocr_near_blank_ink``, only words Tesseract is sure of,
    else nothing, instead of OCR noise from dust and specks), and (2) Tesseract read it (character-weighted
    mean word confidence >= ``ocr_min_confidence`` and >= ``ocr_min_good_share`` of characters
    in confident words): handwriting and noise come back as ``{"reject": reason, "detail": ...}``
    for the stage to quarantine."""
    import subprocess
    import tempfile

    import pymupdf

    from sciforge.pipelines.pdf.features import extract_blocks, text_flags
    from sciforge.pipelines.pdf.markdown import page_markdown

    pymupdf._get_layout = None  # plain MuPDF text extraction
    page = _page(path, pno)
    ink = ink_share(page.get_pixmap(dpi=INK_DPI, colorspace="gray"))
    if ink < float(opts.get("ocr_blank_max_ink", 0.00005)):
        return {"md": "", "reject": "blank_page", "detail": f"ink covers {ink:.4f} of the page"}
    rot = _osd_rotation(page, opts) if opts.get("detect_orientation", True) else 0
    if rot:
        page.set_rotation((page.rotation + rot) % 360)
    dpi = int(opts.get("dpi", 200))
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    with tempfile.TemporaryDirectory() as tmp:
        png, base = os.path.join(tmp, "page.png"), os.path.join(tmp, "page")
        pix.save(png)
        cmd = ["tesseract", png, base, "-l", opts.get("language", "eng"), "--dpi", str(dpi), "pdf", "tsv"]
        td = tessdata_dir()
        if td:
            cmd[3:3] = ["--tessdata-dir", td]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=float(opts.get("timeout_s", 600)),
                           env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        if r.returncode != 0:
            raise RuntimeError(f"tesseract exit {r.returncode}: {r.stderr[-500:]}")
        tsv = Path(base + ".tsv").read_text(encoding="utf-8", errors="replace")
        words, conf, good = ocr_tsv_stats(tsv)
        stats = f"{words} words, mean confidence {conf:.1f}, {good:.0%} of characters confident, ink {ink:.5f}"
        if words == 0:
            return {"md": "", "reject": "blank_page", "detail": f"OCR found no words ({stats})"}
        if ink < float(opts.get("ocr_near_blank_ink", 0.002)):
            sure = ocr_confident_chars(tsv)
            if sure < int(opts.get("ocr_near_blank_min_chars", 8)):
                return {"md": "", "reject": "blank_page",
                        "detail": f"near-blank page, {sure} letters and digits in confident words ({stats})"}
        if conf < float(opts.get("ocr_min_confidence", 60)) or good < float(opts.get("ocr_min_good_share", 0.5)):
            return {"md": "", "reject": "ocr_unreadable", "detail": stats}
        with pymupdf.open(base + ".pdf") as ocr_doc:
            opage = ocr_doc[0]
            tp = opage.get_textpage(flags=text_flags())
            blocks, feats = extract_blocks(opage, textpage=tp)
            md = page_markdown(opage, blocks, feats, running=set(), margin_share=opts.get("margin_share", 0.1),
                               table_min_crossings=10**9, code_blocks=False, textpage=tp)
    return {"md": md, "detail": stats}


def _osd_rotation(page: Any, opts: dict[str, Any]) -> int:
    """Clockwise rotation that makes the page upright, from Tesseract's orientation detection
    (needs osd.traineddata; 0 when unavailable or unsure)."""
    td = tessdata_dir()
    if not td or not (Path(td) / "osd.traineddata").exists() or not shutil.which("tesseract"):
        return 0
    import subprocess
    import tempfile

    pix = page.get_pixmap(dpi=150, colorspace="gray")
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        pix.save(f.name)
        r = subprocess.run(["tesseract", f.name, "-", "--psm", "0"], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    rot, conf = 0, 0.0
    for ln in r.stdout.splitlines():
        if ln.startswith("Rotate:"):
            rot = int(ln.split(":")[1])
        elif ln.startswith("Orientation confidence:"):
            conf = float(ln.split(":")[1])
    # Tesseract's OSD confidence: values above ~2 are reliable (its own docs/forums).
    return rot if conf >= 2.0 else 0


_RAPID: list[Any] = []
_MARKER: list[Any] = []


def ocr_rapidocr(path: str, pno: int, opts: dict[str, Any]) -> str:
    """OCR with RapidOCR (PP-OCR ONNX models from the wheel); lines grouped into paragraphs."""
    import numpy as np

    if not _RAPID:
        from rapidocr import RapidOCR

        _RAPID.append(RapidOCR())
    page = _page(path, pno)
    pix = page.get_pixmap(dpi=int(opts.get("dpi", 200)))
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)[:, :, :3]
    res = _RAPID[0](img)
    if res.boxes is None or res.txts is None:
        return ""
    rows = []
    for box, txt in zip(res.boxes, res.txts, strict=False):
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        rows.append((min(ys), max(ys), min(xs), str(txt)))
    rows.sort(key=lambda r: (r[0], r[2]))
    paras: list[list[str]] = []
    last_bottom, last_h = None, 0.0
    for y0, y1, _, txt in rows:
        h = y1 - y0
        if last_bottom is None or y0 - last_bottom > 0.8 * max(h, last_h):
            paras.append([])
        paras[-1].append(txt)
        last_bottom, last_h = y1, h
    from sciforge.pipelines.pdf.text import join_lines

    return "\n\n".join(join_lines(p) for p in paras)


def layout_pymupdf4llm(path: str, pno: int, opts: dict[str, Any]) -> str:
    """pymupdf4llm's layout mode on one page (ONNX layout model; formulas kept as blocks)."""
    import pymupdf
    import pymupdf4llm

    pymupdf4llm.use_layout(True)
    doc = pymupdf.open(path)
    try:
        return str(pymupdf4llm.to_markdown(doc, pages=[pno], header=False, footer=False,
                                           show_progress=False, use_ocr=False))
    finally:
        doc.close()


def marker_page(path: str, pno: int, opts: dict[str, Any]) -> str:  # pragma: no cover - optional
    """marker-pdf on one page, from local weights only (offline hub flags set)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    models_dir = opts.get("marker_models_dir")
    if not models_dir or not Path(models_dir).is_dir():
        raise FileNotFoundError("marker-pdf weights not present locally; refusing to download")
    os.environ["MODEL_CACHE_DIR"] = str(models_dir)
    from marker.converters.pdf import PdfConverter
    from marker.models import create_model_dict

    if not _MARKER:
        _MARKER.append(PdfConverter(artifact_dict=create_model_dict(),
                                    config={"page_range": [pno], "disable_tqdm": True}))
    conv = _MARKER[0]
    conv.config["page_range"] = [pno]
    return str(conv(path).markdown)
