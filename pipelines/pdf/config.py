"""Typed options of the PDF parsing stage (``stages: {pdf: {...}}`` in the profile YAML)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sciforge.pipelines.llm import LLMConfig

# The instruction sent with each page image on the VLM route (olmOCR's and MinerU's VLM pipelines
# send the page image with a short instruction, olmOCR also the text layer as "anchor text").
VLM_PROMPT = (
    "Below is the image of one page of a document, followed by the raw text of the page's PDF text "
    "layer (it may be incomplete, out of order or garbled; the image is authoritative). Return the "
    "content of the page as markdown in natural reading order: headings with #, tables as markdown "
    "tables (HTML where cells span), every equation as LaTeX ($...$ inline, $$...$$ on its own lines "
    "for display). Leave out running headers, footers and page numbers. Do not describe figures. "
    "Answer with the markdown only.\n\nText layer:\n")


class VlmConfig(LLMConfig):
    """The VLM route of the expensive path: the page image (and the cheap text as a hint) to a
    vision-language model behind an OpenAI-compatible API (vLLM / SGLang / LMDeploy serving e.g.
    olmOCR, MinerU2.5 or Qwen2.5-VL), through pipelines/llm.py (retries, concurrency, cache)."""

    # The page is rendered at this resolution. olmOCR renders the longest side at 1288 px, ~117 dpi
    # on A4/Letter, matching Qwen2-VL's native patching; 120 keeps that size.
    dpi: int = Field(120, ge=50, le=400)
    # Characters of the cheap pass's text sent as a hint (olmOCR's anchor text: up to 6000).
    hint_chars: int = Field(6000, ge=0)
    # A dense page of markdown with LaTeX is 1-2k tokens; 4096 leaves room and bounds a loop.
    max_tokens: int | None = Field(4096, ge=1)
    prompt: str = VLM_PROMPT
    # Routes whose pages go to the VLM.
    routes: tuple[Literal["math", "scan"], ...] = ("math", "scan")
    # Post-processing: an answer whose tail repeats one unit of up to 64 characters this many times
    # in a row is a decoding loop (olmOCR and MinerU both filter such degenerate repetition) and
    # is rejected for the local parser.
    loop_min_repeats: int = Field(10, ge=2)

    def hashed(self) -> dict[str, Any]:
        return {**super().hashed(), "dpi": self.dpi, "hint_chars": self.hint_chars, "prompt": self.prompt,
                "routes": list(self.routes), "loop_min_repeats": self.loop_min_repeats}


class PdfConfig(BaseModel):
    """Every threshold of the stage, with where its default comes from."""

    model_config = ConfigDict(extra="forbid")

    # --- parallelism ---------------------------------------------------------------------
    # Pages per Spark task. At the cheap path's ~100-200 pages/s per core a task of 64 pages
    # lasts about half a second to a second: long enough to amortise task start-up, short
    # enough that a 500-page PDF spreads over ~8 executors (issue 4, step 6).
    pages_per_task: int = Field(64, ge=1)
    # Documents above this many pages are quarantined (`pdf_too_many_pages`) instead of parsed:
    # the longest printed reference works run to a few thousand pages; a 10,000-page "PDF" is
    # almost always generated junk (issue 4, bad input). Raise it for archives of bound volumes.
    max_pages_per_doc: int = Field(5000, ge=1)

    # --- router (documented rule set, see pipelines/pdf/router.py) -------------------------
    # A page with fewer visible text-layer characters than this is "no text layer" (MinerU's
    # classifier treats pages under ~100 chars of extractable text as image pages; 32 keeps
    # short title/section pages on the cheap path).
    min_text_chars: int = Field(32, ge=0)
    # Images covering at least this share of the page make a text-less page a scan.
    scan_min_image_coverage: float = Field(0.3, ge=0, le=1)
    # A page image this large, with a text layer that is mostly invisible or garbled, is a scan
    # carrying a (noisy) hidden OCR layer: re-OCR it rather than trust the layer.
    ocr_layer_min_image_coverage: float = Field(0.6, ge=0, le=1)
    ocr_layer_max_visible_ratio: float = Field(0.5, ge=0, le=1)
    # ... or whose text layer is noisier than this (half the garbled threshold: OCR noise under a
    # page image is reason enough to re-OCR, not to drop the page).
    ocr_layer_max_garble: float = Field(0.05, ge=0, le=1)
    # Vector paths above this count on a page without text: text converted to outlines -> OCR.
    outline_text_min_paths: int = Field(200, ge=0)
    # Math: share of characters set in math fonts (CMMI/CMSY/CMEX/MSAM/MSBM, STIX Math, Cambria
    # Math, Symbol, ...) or share of mathematical code points. A prose page of a physics paper
    # with a few inline symbols stays under 2-3%; display-math pages exceed 5%. Intern-S1 sends
    # ~5% of archive pages to the expensive parser; these defaults give 2-8% on papers.
    math_font_share: float = Field(0.06, ge=0, le=1)
    math_char_share: float = Field(0.04, ge=0, le=1)
    # Display equations (rows of display-equation lines, features.equation_rows) that make a page
    # "math". Intern-S1 sends only the pages DENSE in equations or symbols to the expensive
    # parser (~5% of archived-library pages, ~3% of web PDFs): a prose page with one or two
    # displayed formulas loses little in plain extraction (docling's one formula page,
    # "a2 + 8 = 12": cheap page similarity 0.9953, pymupdf4llm 0.9957, which adds only a <sup>),
    # while a derivation of 3+ displayed equations (sub/superscripts, fractions, operators on
    # several lines) is what a layout/formula-aware parser is for. 1 = any display equation
    # (the any-equation rule: 28% of the MinerU demo papers' pages and 12% of all born-digital pages
    # of the benchmark go expensive; 3 gives 14% and 5.5%, bench/pdf_eval.py's threshold sweep).
    math_min_display_equations: int = Field(3, ge=1)
    # ... and at least this many display equations per text line of the page (features.text_lines):
    # three short formulas in a two-column page of ~120 lines are a prose page with a few
    # formulas, not a derivation. 0.03 = one display equation per ~33 lines: a two-column page
    # then needs ~4, a single-column page of ~45 lines is held by the count rule above.
    # Chosen on bench/pdf_routing.py's sweep over hand-labelled pages (555 pages of 40 papers: 37
    # from GitHub repositories, the 3 MinerU demo papers; 73 pages dense in equations), with
    # docling's ground truth: the count rule alone gives dense-page precision 0.59 at recall 0.97;
    # with density 0.03, 0.61 at the same recall, and the equation-heavy MinerU demo papers'
    # expensive share falls from 13.8% to 10.3% (docling + MinerU: 5.5% -> 4.1%). At 0.05 one of
    # the two dense MinerU pages is lost, so the default keeps a step of margin below it.
    # On 99 held-out pages (7 papers labelled afterwards): precision 0.71, recall 1.00.
    # 0 switches the density test off.
    math_min_equation_density: float = Field(0.03, ge=0, le=1)
    # Lines whose math-font glyphs carry no usable Unicode ("Q% Z a C ðPÞ" for "Q = a C (P)", the
    # Elsevier/Advent fonts' habit): the cheap text of the formula is wrong, so one such line
    # is reason enough, as for a display equation.
    math_min_misencoded_lines: int = Field(1, ge=1)
    # ... but only a parser that reads glyphs (marker, a VLM) can repair them: pymupdf4llm, the
    # offline default, reads the same text layer. Off by default (the page stays on the cheap
    # path with the flag `math_misencoded`); turn on where a glyph-reading math backend runs.
    math_misencoded_expensive: bool = False
    # Both shares count only when the page has this many math characters (one equation line).
    math_min_chars: int = Field(24, ge=0)
    # Garbled-text score (bad code points + mojibake + junk tokens, see garble.py) above which a
    # page is quarantined. 0.1 = one character in ten unreadable: such text harms an LM corpus
    # (FineWeb drops documents with >10% odd characters in the same spirit).
    garbled_score: float = Field(0.1, ge=0, le=1)

    # --- cheap parser -----------------------------------------------------------------------
    # Ruled tables are looked for only on pages whose horizontal and vertical rules cross at least
    # this often: the smallest ruled table, 2 x 2 cells, has 3 x 3 = 9 crossings; a frame has 4.
    # Unruled and booktabs tables (whitespace-aligned columns) are found from the text lines on
    # every page (tables.aligned_tables).
    table_min_crossings: int = Field(9, ge=0)
    # "rules": cells from the page's own rules and words (tables.py, ~1 ms a table page);
    # "find_tables": PyMuPDF's find_tables (100-600 ms a table page, re-extracts every character);
    # "none": table text comes out as plain paragraphs.
    table_extractor: Literal["rules", "find_tables", "none"] = "rules"
    # Running headers/footers: a margin line recurring (digits masked) on this many pages of
    # a window of +-`header_window` pages around the page is boilerplate (the usual
    # repeated-line rule, cf. Gopher/FineWeb line-level repetition filters).
    header_window: int = Field(4, ge=1)
    header_min_repeat: int = Field(3, ge=2)
    # Top/bottom share of the page height that is the header/footer zone (page numbers).
    margin_share: float = Field(0.1, ge=0, le=0.5)
    # Top/bottom share where a recurring line is a running head: journal heads sit in the top
    # ~12-15% of the page (JSS and JCAP heads end at 10.2% and 12.7% of an A4 page).
    header_zone_share: float = Field(0.15, ge=0, le=0.5)

    # --- expensive parsers -----------------------------------------------------------------
    # "auto": Tesseract if its binary is installed, else RapidOCR (both offline); "none": scans
    # are quarantined as scan_not_ocred (e.g. a text-only first pass over a huge archive).
    ocr_backend: Literal["auto", "tesseract", "rapidocr", "none"] = "auto"
    # "auto": marker-pdf when installed with local weights, else "glyph": the cheap pass's
    # markdown, whose display and inline equations mathtex.py rebuilds as LaTeX from the glyph
    # layer (pymupdf4llm's layout mode emits formulas as plain text, no LaTeX: 0 of the math
    # tests of bench/pdf_structure.py); "pymupdf4llm" selects it; "cheap" keeps the cheap output
    # and flags the page `expensive_unavailable` (no expensive parser ran).
    math_backend: Literal["auto", "pymupdf4llm", "marker", "glyph", "cheap"] = "auto"
    # Tesseract's documentation: accuracy is best at >= 300 dpi; 200 dpi halves the cost and
    # loses little on 10 pt text (STACK.md measured ~2.3 s/page at 150-200 dpi on one core).
    ocr_dpi: int = Field(200, ge=72, le=600)
    ocr_language: str = "eng"
    # OCR validation (Tesseract backend). A page whose ink (backends.ink_share at 72 dpi: pixels
    # darker than the sheet, faint or not, with an ink neighbour) covers less than this share is
    # blank: quarantined as `blank_page` without OCR. Measured on A4 pages scanned at 150 dpi
    # (tests/pdf/test_structure.py): a 10 pt page number "17" covers 0.007%, one 12-character
    # word 0.05%, a line 0.28%, ten lines 2.6%; a sheet with 40 specks of dust 0.000%; the share does
    # not depend on the page size (a 30-inch page with two lines of text is not blank).
    ocr_blank_max_ink: float = Field(0.00005, ge=0, le=1)
    # A page whose confident OCR words (>= 60, two or more letters or digits each) hold fewer
    # letters and digits than this yields nothing to keep (dust read as "|", "." or "i", a lone
    # page number, a speckled sheet read as a few characters of noise): it is `blank_page` when its
    # ink covers less than `ocr_near_blank_ink` (0.01: about three and a half lines of text),
    # else `ocr_unreadable` (a page of handwriting, a picture).
    ocr_min_chars: int = Field(8, ge=0)
    ocr_near_blank_ink: float = Field(0.01, ge=0, le=1)
    # Pages Tesseract cannot read (handwriting, noise, pictures) are quarantined as
    # `ocr_unreadable` when the character-weighted mean word confidence is below
    # `ocr_min_confidence` or fewer than `ocr_min_good_share` of the characters lie in words of
    # confidence >= 60. Printed pages score 85-96 (bench/pdf_structure.py prints each OCR page's
    # figures); handwriting and noise 20-55.
    ocr_min_confidence: float = Field(60.0, ge=0, le=100)
    ocr_min_good_share: float = Field(0.5, ge=0, le=1)
    # The same two figures judge each OCR line. A page whose unreadable lines hold more than this
    # share of its characters is mixed (printed questions with handwritten answers, a printed
    # line over a verso showing through): only its readable lines are kept (none left:
    # `ocr_unreadable`); on other pages the unreadable lines are a printed page's misreads
    # (rules, split words, stamps: 0-10% of the characters of bench/data/pdf_real's dev scans)
    # and the page is judged whole, as above.
    ocr_max_unreadable_share: float = Field(0.25, ge=0, le=1)
    # Wall-clock allowance of the cheap pass per page: ~1000x its median cost (a few ms). A range
    # that overruns is redone page by page; a page that overruns alone is quarantined as
    # page_timeout (a pathological content stream must not stick the task).
    cheap_page_timeout_s: float = Field(20.0, gt=0)
    # Per-page limits of the expensive path (subprocess killed on expiry; memory via RLIMIT_AS).
    # 120 s is ~50x Tesseract's measured cost per page on these machines.
    page_timeout_s: float = Field(120.0, gt=0)
    page_memory_mb: int = Field(6144, ge=256)
    # marker-pdf weights folder (never downloaded): None -> $MARKER_MODELS_DIR.
    marker_models_dir: str | None = None
    # Which parser serves the expensive routes. "local": the offline parsers chosen by ocr_backend
    # and math_backend; "vlm": pages of `vlm.routes` go to the vision-language model of `vlm`
    # (off by default: it needs a served model); an answer the post-processing rejects (empty, a
    # decoding loop) falls back to the local parser with the reason recorded, and a page the
    # endpoint fails on after its retries is quarantined (`vlm_failed`); "marker": math pages to
    # marker-pdf (local weights), scans to the local OCR.
    expensive_backend: Literal["local", "vlm", "marker"] = "local"
    vlm: VlmConfig = Field(default_factory=VlmConfig)

    # Per-page wall-clock timings make outputs differ run to run, so they are off by default (the
    # data contract promises byte-identical re-runs); turn on to profile the stage.
    record_timings: bool = False

    @model_validator(mode="after")
    def _check_vlm(self) -> PdfConfig:
        if self.expensive_backend == "vlm" and not (self.vlm.endpoint and self.vlm.model):
            raise ValueError("pdf: expensive_backend=vlm needs vlm.endpoint and vlm.model")
        return self

    def hashed(self) -> dict[str, Any]:
        """The options that determine the output (the dataset version): not the timings switch,
        nor where the VLM is served or how its requests are retried."""
        d = self.model_dump(mode="json", exclude={"record_timings"})
        d["vlm"] = self.vlm.hashed()
        return d
