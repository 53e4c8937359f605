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
from dataclasses import dataclass
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


def grey_array(pix: Any) -> Any:
    """A pixmap's first channel as a 2-D uint8 array (a grey pixmap's only one)."""
    import numpy as np

    a = np.frombuffer(pix.samples, dtype=np.uint8)
    if pix.n > 1:
        a = a.reshape(-1, pix.n)[:, 0]
    return a.reshape(pix.height, pix.width) if a.size == pix.width * pix.height else a.reshape(1, -1)


def sheet_level(hist: Any) -> tuple[int, int]:
    """(sheet grey, ink threshold) from a 256-bin histogram of a page's grey levels: the sheet is
    the median grey (most of a page is paper), its noise the median absolute deviation around it
    (x 1.4826: a Gaussian's sigma); a pixel is ink when darker than the sheet by INK_MIN_CONTRAST
    and by INK_NOISE_SIGMAS times the noise. Relative to the sheet, so faint print on white, grey
    print on toned paper and black print on a dark scan are all ink, and the paper is not."""
    import numpy as np

    n = int(hist.sum())
    if not n:
        return 255, 0
    cum = np.cumsum(hist)
    sheet = int(np.searchsorted(cum, (n + 1) // 2))
    # pixels within d grey levels of the sheet, for d = 0..255
    lo = np.concatenate(([0], cum))  # lo[v] = pixels darker than v
    d = np.arange(256)
    within = cum[np.minimum(sheet + d, 255)] - lo[np.maximum(sheet - d, 0)]
    mad = int(np.searchsorted(within, (n + 1) // 2))
    return sheet, sheet - max(INK_MIN_CONTRAST, round(INK_NOISE_SIGMAS * 1.4826 * mad))


def ink_share(pix: Any) -> float:
    """Share of a grey pixmap's pixels that are ink (``sheet_level``) and touch another ink pixel
    (a lone dark pixel is dust or noise, a stroke of a glyph is at least two): ~0 on a blank or
    speckled sheet, on a mirrored verso showing through and on JPEG noise; a few percent on a
    page of text or handwriting, faint or not."""
    import numpy as np

    a = grey_array(pix)
    if not a.size:
        return 0.0
    _, level = sheet_level(np.bincount(a.ravel(), minlength=256))
    ink = a < level
    pair = np.zeros_like(ink)
    h = ink[:, 1:] & ink[:, :-1]
    pair[:, 1:] |= h
    pair[:, :-1] |= h
    v = ink[1:, :] & ink[:-1, :]
    pair[1:, :] |= v
    pair[:-1, :] |= v
    return float(pair.mean())


# A pixel at least INK_MIN_CONTRAST grey levels (0-255) darker than the sheet is ink: faint print
# and pencil on white paper are 55-80 levels darker at INK_DPI (bench/pdf_ocr_faint.py's faint
# pages: 35-60 at 50 dpi, where thin strokes blend with the paper); a mirrored verso showing
# through, JPEG ringing and paper grain stay within ~25 levels of the sheet.
INK_MIN_CONTRAST = 32
# ... and darker than the sheet's noise by this many sigmas (a noisy scan's grain is not ink:
# a Gaussian's 4-sigma tail is 3 pixels in 100,000).
INK_NOISE_SIGMAS = 4.0
# Ink is measured at this resolution (a speck of dust is below one pixel, a 10 pt glyph is not).
INK_DPI = 72
# A page is OCRed as it is (no contrast stretch) when its darkest ink (STRETCH_INK_PERCENTILE of
# its ink pixels) lies at least this many grey levels below the sheet, half the grey range: black
# print scores 200-255, an old book's print on toned paper 142 (bench/data/pdf_real's dev scans),
# and Tesseract's global (Otsu) threshold separates both from the paper. Fainter ink (faded print,
# pencil, grey print on toned paper, a dark scan: 50-115) is stretched to black on white first:
# Otsu's threshold otherwise lands in the paper's grain and Tesseract reads nothing
# (bench/pdf_ocr_faint.py: faint pages 0.20-0.25 of their tests without the stretch).
STRETCH_BELOW_CONTRAST = 128
# The darkest ink is this percentile of the ink pixels: the cores of the glyphs' strokes, not a
# speck of dust or a JPEG artefact (a few pixels darker than any stroke).
STRETCH_INK_PERCENTILE = 5.0
# The stretch maps the darkest ink to black and this point to white: half-way from the sheet to
# the ink threshold (sheet_level), so that paper grain and a verso showing through, lighter than
# ink, stay white instead of turning grey and being read as mirrored letters (faint lines over
# bleed-through: 0.40 of their tests with the sheet itself as the white point, 1.00 half-way; the
# ink threshold itself as the white point cuts the faintest print's strokes: mean confidence
# 96 -> 21-28 on print 35 grey levels darker than the sheet).
STRETCH_WHITE_POINT = 0.5
# ... and only when ink covers at least this share of the page (a blank sheet's few dark specks
# stretched to black on noise make Tesseract read the grain).
STRETCH_MIN_INK = 0.0005


def stretch_contrast(a: Any) -> Any | None:
    """The grey image ``a`` (2-D uint8) with its ink stretched to black and its sheet (and what is
    lighter than ink on it) to white, or None when the ink is dark enough already (or there is
    too little of it)."""
    import numpy as np

    hist = np.bincount(a.ravel(), minlength=256)
    sheet, level = sheet_level(hist)
    if level <= 0:
        return None
    n_ink = int(hist[:level].sum())
    if n_ink < STRETCH_MIN_INK * a.size:
        return None
    lo = int(np.searchsorted(np.cumsum(hist[:level]), n_ink * STRETCH_INK_PERCENTILE / 100))
    if sheet - lo >= STRETCH_BELOW_CONTRAST:
        return None
    white = sheet - STRETCH_WHITE_POINT * (sheet - level)
    lut = np.clip((np.arange(256) - lo) * 255.0 / max(1.0, white - lo), 0, 255).round().astype(np.uint8)
    return lut[a]


def _stretched(pix: Any) -> Any:
    """``pix`` (grey) with its contrast stretched (``stretch_contrast``), or ``pix`` itself."""
    import pymupdf

    a = stretch_contrast(grey_array(pix))
    return pix if a is None else pymupdf.Pixmap(pymupdf.csGRAY, pix.width, pix.height, a.tobytes(), 0)


def ocr_tsv_stats(tsv: str) -> tuple[int, float, float]:
    """(words, character-weighted mean confidence, share of characters in words of confidence
    >= OCR_GOOD_WORD_CONF) of Tesseract's TSV output (level-5 rows are words; conf -1 = none)."""
    words = chars = good = 0
    conf_sum = 0.0
    for line in ocr_lines(tsv):
        words += len(line.words)
        chars += line.chars
        conf_sum += line.conf * line.chars
        good += round(line.good_share * line.chars)
    return words, (conf_sum / chars if chars else 0.0), (good / chars if chars else 0.0)


def ocr_confident_chars(tsv: str) -> int:
    """Letters and digits of Tesseract's TSV words that are confident (>= OCR_GOOD_WORD_CONF)
    and hold at least two of them (a speck read as "|", "." or "i" counts nothing)."""
    return sum(line.sure_chars for line in ocr_lines(tsv))


# A word Tesseract is at least this sure of counts as read (its confidences run 0-100; clean
# print scores 85-96 a word).
OCR_GOOD_WORD_CONF = 60.0


@dataclass(frozen=True)
class OcrLine:
    """One text line of Tesseract's TSV: its words as (text, confidence, (left, top, width,
    height) in pixels)."""

    words: tuple[tuple[str, float, tuple[int, int, int, int]], ...]

    @property
    def chars(self) -> int:
        return sum(len(t) for t, _, _ in self.words)

    @property
    def conf(self) -> float:
        """Character-weighted mean word confidence."""
        n = self.chars
        return sum(c * len(t) for t, c, _ in self.words) / n if n else 0.0

    @property
    def good_share(self) -> float:
        """Share of the characters in words of confidence >= OCR_GOOD_WORD_CONF."""
        n = self.chars
        return sum(len(t) for t, c, _ in self.words if c >= OCR_GOOD_WORD_CONF) / n if n else 0.0

    @property
    def sure_chars(self) -> int:
        """Letters and digits in confident words of two or more of them."""
        n = 0
        for t, c, _ in self.words:
            alnum = sum(ch.isalnum() for ch in t)
            if c >= OCR_GOOD_WORD_CONF and alnum >= 2:
                n += alnum
        return n

    def readable(self, min_conf: float, min_good_share: float) -> bool:
        return self.conf >= min_conf and self.good_share >= min_good_share


def ocr_lines(tsv: str) -> list[OcrLine]:
    """The text lines of Tesseract's TSV output in its order (level-5 rows are words, grouped by
    page, block, paragraph and line; words without text or confidence (-1) are left out)."""
    lines: dict[tuple[str, ...], list[tuple[str, float, tuple[int, int, int, int]]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
            box = (int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9]))
        except ValueError:
            continue
        if text and conf >= 0:
            lines.setdefault(tuple(cols[1:5]), []).append((text, conf, box))
    return [OcrLine(tuple(ws)) for ws in lines.values()]


def ocr_tesseract(path: str, pno: int, opts: dict[str, Any]) -> str | dict[str, Any]:
    """OCR the rendered page with Tesseract, then build markdown from the OCR text layer with
    the same renderer as the cheap path (headings, columns, lists, tables).

    One ``tesseract`` run writes both a PDF with the text layer and the TSV of word confidences;
    faint or dark scans are stretched to black on white first (``stretch_contrast``). The page is
    trusted only when (1) it has ink (under ``ocr_blank_max_ink`` a sheet is blank, without OCR),
    (2) its confident words hold at least ``ocr_min_chars`` letters and digits (else nothing is
    kept: ``blank_page`` under ``ocr_near_blank_ink`` of ink, dust and a lone page number,
    ``ocr_unreadable`` above it), and (3) Tesseract read it: a line is readable when its
    character-weighted mean word confidence is >= ``ocr_min_confidence`` and >=
    ``ocr_min_good_share`` of its characters lie in confident words. A page whose unreadable
    lines hold more than ``ocr_max_unreadable_share`` of its characters is mixed (printed lines
    and handwriting): only its readable lines are kept, the others are cut from the text layer.
    Other pages are judged whole by the same two figures. Rejected pages come back as
    ``{"reject": reason, "detail": ...}`` for the stage to quarantine. A page turned by
    orientation detection (Tesseract OSD) that comes out rejected is read again as it is."""
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
    dpi = int(opts.get("dpi", 200))
    upright = page.rotation
    with tempfile.TemporaryDirectory() as tmp:
        # OSD misjudges sparse and faint pages (a few lines of stretched faint print read as upside
        # down with confidence 2-9): a page that OSD's rotation leaves unreadable is read as it is.
        for i, turn in enumerate((rot, 0) if rot else (0,)):
            page.set_rotation((upright + turn) % 360)
            try:
                raw = page.get_pixmap(dpi=dpi, colorspace="gray")
            finally:
                page.set_rotation(upright)  # the cached document stays as it was
            pix = _stretched(raw)
            base = os.path.join(tmp, f"page{i}")
            tsv = _tesseract(pix, base, dpi, opts)
            reject, drop, detail = ocr_verdict(ocr_lines(tsv), ink, opts)
            if pix is not raw:
                detail += ", contrast stretched"
            if turn:
                detail += f", turned {turn} degrees (orientation detection)"
            if reject is None:
                break
        if reject:
            return {"md": "", "reject": reject, "detail": detail}
        with pymupdf.open(base + ".pdf") as ocr_doc:
            opage = ocr_doc[0]
            if drop:
                _cut_words(opage, [w for ln in drop for w in ln.words], 72.0 / dpi)
            tp = opage.get_textpage(flags=text_flags())
            blocks, feats = extract_blocks(opage, textpage=tp)
            md = page_markdown(opage, blocks, feats, running=set(), margin_share=opts.get("margin_share", 0.1),
                               table_min_crossings=10**9, code_blocks=False, textpage=tp)
    flags = (["ocr_contrast_stretched"] if pix is not raw else []) + (["ocr_lines_left_out"] if drop else [])
    return {"md": md, "detail": detail, "flags": flags}


def _tesseract(pix: Any, base: str, dpi: int, opts: dict[str, Any]) -> str:
    """Run Tesseract on ``pix``: writes ``base``.pdf (the text layer) and returns the TSV."""
    import subprocess

    png = base + ".png"
    pix.save(png)
    cmd = ["tesseract", png, base, "-l", opts.get("language", "eng"), "--dpi", str(dpi), "pdf", "tsv"]
    td = tessdata_dir()
    if td:
        cmd[3:3] = ["--tessdata-dir", td]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=float(opts.get("timeout_s", 600)),
                       env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    if r.returncode != 0:
        raise RuntimeError(f"tesseract exit {r.returncode}: {r.stderr[-500:]}")
    return Path(base + ".tsv").read_text(encoding="utf-8", errors="replace")


def ocr_verdict(lines: list[OcrLine], ink: float, opts: dict[str, Any]) -> tuple[str | None, list[OcrLine], str]:
    """(quarantine reason or None, lines to leave out, detail) for a page whose OCR gave
    ``lines`` and whose ink covers ``ink`` of it (``ocr_tesseract``'s rules (2) and (3))."""
    min_conf = float(opts.get("ocr_min_confidence", 60))
    min_good = float(opts.get("ocr_min_good_share", 0.5))
    words = sum(len(ln.words) for ln in lines)
    chars = sum(ln.chars for ln in lines)
    conf = sum(ln.conf * ln.chars for ln in lines) / chars if chars else 0.0
    good = sum(ln.good_share * ln.chars for ln in lines) / chars if chars else 0.0
    stats = f"{words} words, mean confidence {conf:.1f}, {good:.0%} of characters confident, ink {ink:.5f}"
    if words == 0:
        return "blank_page", [], f"OCR found no words ({stats})"
    bad = [ln for ln in lines if not ln.readable(min_conf, min_good)]
    mixed = sum(ln.chars for ln in bad) > float(opts.get("ocr_max_unreadable_share", 0.25)) * chars
    drop = bad if mixed else []
    sure = sum(ln.sure_chars for ln in lines) - sum(ln.sure_chars for ln in drop)
    if sure < int(opts.get("ocr_min_chars", 8)):
        near_blank = ink < float(opts.get("ocr_near_blank_ink", 0.01))
        return ("blank_page" if near_blank else "ocr_unreadable", [],
                f"{'near-blank page' if near_blank else 'no readable words'}, {sure} letters and digits in "
                f"confident words ({stats})")
    if not mixed and (conf < min_conf or good < min_good):
        return "ocr_unreadable", [], stats
    if drop:
        stats += f"; {len(drop)} of {len(lines)} lines unreadable, left out"
    return None, drop, stats


def _cut_words(page: Any, words: list[tuple[str, float, tuple[int, int, int, int]]], scale: float) -> None:
    """Remove the OCR text layer's glyphs of ``words`` (TSV pixel boxes; ``scale`` points per
    pixel) by redaction; the page image stays. The boxes are taken at their middle third of
    height so that a neighbouring line's glyphs are never touched."""
    import pymupdf

    for _, _, (x, y, w, h) in words:
        page.add_redact_annot(pymupdf.Rect(x * scale, (y + h / 3) * scale, (x + w) * scale, (y + 2 * h / 3) * scale))
    # images=0, graphics=0: PDF_REDACT_IMAGE_NONE, PDF_REDACT_LINE_ART_NONE (the page image stays)
    page.apply_redactions(images=0, graphics=0)


def _osd_rotation(page: Any, opts: dict[str, Any]) -> int:
    """Clockwise rotation that makes the page upright, from Tesseract's orientation detection
    (needs osd.traineddata; 0 when unavailable or unsure)."""
    td = tessdata_dir()
    if not td or not (Path(td) / "osd.traineddata").exists() or not shutil.which("tesseract"):
        return 0
    import subprocess
    import tempfile

    pix = _stretched(page.get_pixmap(dpi=150, colorspace="gray"))  # faint or dark scans: OSD misreads them
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
