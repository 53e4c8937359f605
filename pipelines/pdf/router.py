"""The page router: a documented rule set over PageFeatures.

Rules, first match wins (thresholds are PdfConfig fields):

1. ``scan``  a page image covers >= ocr_layer_min_image_coverage and its text layer is mostly
             invisible (a hidden OCR layer) or noisy: re-OCR instead of trusting the layer;
2. ``scan``  no usable text layer (< min_text_chars) and images cover >= scan_min_image_coverage,
             or a text-less page drawn with >= outline_text_min_paths vector paths (text as outlines);
3. ``empty`` no usable text layer and nothing to OCR;
4. ``garbled`` garble score >= garbled_score (unmapped glyphs, mojibake, junk tokens): quarantined;
5. ``math``  DENSE math only (Intern-S1: the expensive parser for pages dense in equations or
             symbols): >= math_min_display_equations display equations (rows of lines in a math
             font or with math code points, a relation sign, almost no prose words, and
             equation numbers alone on their row, whose formula is an image; labels inside
             drawn figures do not count; a page with one or two formulas stays cheap)
             that are also >= math_min_equation_density of the page's text lines (three short
             formulas in a long two-column page are prose with formulas, not a derivation),
             or (with math_misencoded_expensive) >= math_min_misencoded_lines lines whose
             math-font glyphs have no usable Unicode (the text layer garbles the formula: only a
             glyph-reading parser such as marker or a VLM gets it right; pymupdf4llm reads the
             same text layer, so by default such pages stay on the cheap path, flagged),
             or math-font character share >= math_font_share, or math code point share >=
             math_char_share (with at least math_min_chars math characters);
6. ``text``  everything else (the cheap parser's output is final).

``math`` and ``scan`` are the expensive routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.features import PageFeatures

EXPENSIVE_ROUTES = ("math", "scan")


@dataclass(frozen=True)
class Route:
    label: str
    reason: str

    @property
    def expensive(self) -> bool:
        return self.label in EXPENSIVE_ROUTES


def needs_image_coverage(f: PageFeatures, cfg: PdfConfig) -> bool:
    """Whether rules 1-3 could depend on the page's image coverage: only when the text layer is
    missing, mostly invisible or noisy. Measuring images costs a second pass over the content
    stream, so born-digital pages with a sound text layer skip it (the features then say -1)."""
    return (int(f.text_chars * f.visible_text_ratio) < cfg.min_text_chars
            or (f.text_chars > 0 and (f.visible_text_ratio <= cfg.ocr_layer_max_visible_ratio
                                      or f.garble_score >= cfg.ocr_layer_max_garble)))


def route_page(f: PageFeatures, cfg: PdfConfig) -> Route:
    visible_chars = int(f.text_chars * f.visible_text_ratio)
    if f.image_coverage >= cfg.ocr_layer_min_image_coverage and f.text_chars:
        if f.visible_text_ratio <= cfg.ocr_layer_max_visible_ratio:
            return Route("scan", f"page image covers {f.image_coverage:.0%} and only "
                                 f"{f.visible_text_ratio:.0%} of the text layer is visible (hidden OCR layer)")
        if f.garble_score >= cfg.ocr_layer_max_garble:
            return Route("scan", f"page image covers {f.image_coverage:.0%} and its text layer is noisy "
                                 f"(garble {f.garble_score:.2f})")
    if visible_chars < cfg.min_text_chars:
        if f.image_coverage >= cfg.scan_min_image_coverage:
            return Route("scan", f"{visible_chars} visible text chars, images cover {f.image_coverage:.0%}")
        if f.drawing_paths >= cfg.outline_text_min_paths:
            return Route("scan", f"{visible_chars} visible text chars, {f.drawing_paths} vector paths "
                                 "(text drawn as outlines)")
    if visible_chars < cfg.min_text_chars:
        return Route("empty", f"{visible_chars} visible text chars, images cover {f.image_coverage:.0%}")
    if f.garble_score >= cfg.garbled_score:
        return Route("garbled", f"garble score {f.garble_score:.2f} >= {cfg.garbled_score} "
                                f"({f.bad_chars} unmapped/odd chars)")
    if (f.display_equations >= cfg.math_min_display_equations
            and f.display_equations >= cfg.math_min_equation_density * f.text_lines):
        return Route("math", f"{f.display_equations} display equations ({f.equation_lines} lines) "
                             f"in {f.text_lines} text lines")
    if cfg.math_misencoded_expensive and f.misencoded_math_lines >= cfg.math_min_misencoded_lines:
        return Route("math", f"{f.misencoded_math_lines} line(s) of math glyphs without Unicode mapping")
    if f.math_font_chars + f.math_chars >= cfg.math_min_chars:
        if f.math_font_share >= cfg.math_font_share:
            return Route("math", f"{f.math_font_share:.1%} of chars in math fonts")
        if f.math_char_share >= cfg.math_char_share:
            return Route("math", f"{f.math_char_share:.1%} math code points")
    return Route("text", "clean text layer")
