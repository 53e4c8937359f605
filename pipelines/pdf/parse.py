"""Parse a range of pages of one PDF: features -> route -> cheap markdown -> expensive
backend where the route asks for it -> cleaning -> kept rows and quarantined rows.

Engine-free: ``jobs/pdf_parse.py`` calls :func:`parse_segment` inside Spark tasks, tests and
the CLI call it directly. Nothing here raises for bad input: it quarantines with a reason.
"""

from __future__ import annotations

import functools
import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.llm import LLMClient, open_client
from sciforge.pipelines.pages import page_schema
from sciforge.pipelines.pdf.backends import BACKENDS, select_backend
from sciforge.pipelines.pdf.clean import clean_markdown, margin_keys, running_keys, strip_margin_lines
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.isolate import BackendError, IsolatedWorker, PageTimeout, WorkerCrashed
from sciforge.pipelines.pdf.router import needs_image_coverage, route_page
from sciforge.pipelines.pdf.text import garble_score, ocr_garble_score
from sciforge.pipelines.pdf.vlm import page_messages, postprocess

SOURCE = "pdf"
# The page contract's columns first (pipelines/pages.py): `page` is the 1-based page number, `url` the
# PDF's path relative to the raw dataset's source, `text` markdown; then the parse's own columns.
KEPT_SCHEMA = page_schema([
    ("route", pa.string()),  # text | math | scan
    ("route_reason", pa.string()),
    ("parser", pa.string()),  # pymupdf | tesseract | rapidocr | pymupdf4llm | marker | glyph | vlm
    ("flags", pa.list_(pa.string())),  # e.g. expensive_timeout, symbol_font_repaired
    ("features", pa.string()),  # JSON of PageFeatures
    ("cheap_ms", pa.float32()),
    ("expensive_ms", pa.float32()),
])
QUARANTINE_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("page", pa.int32()),  # -1 when the whole document failed
    ("source", pa.string()),
    ("url", pa.string()),
    ("route", pa.string()),
    ("parser", pa.string()),
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("text", pa.string()),  # what was extracted (for inspection), may be empty
    ("features", pa.string()),
])
CHEAP_PARSER = "pymupdf"
CHEAP_PASS = "sciforge.pipelines.pdf.parse:cheap_pass"
CHEAP_PASS_MANY = "sciforge.pipelines.pdf.parse:cheap_pass_many"
RENDER_PAGE = "sciforge.pipelines.pdf.backends:render_page_png"
VLM_PARSER = "vlm"


@dataclass(frozen=True)
class Segment:
    doc_id: str
    path: str  # relative path (recorded as url)
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive
    page_count: int


@dataclass
class SegmentResult:
    kept: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    counters: StageCounters = field(default_factory=StageCounters)


# ---------------------------------------------------------------------------------------------
# stage 1: cheap pass (runs in an isolated worker so that a hanging page cannot stick the task)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a page's ``dict`` makes ~10^4 short-lived, acyclic
    objects (freed by reference counting) that set off generation-0 collections finding nothing,
    ~10% of the cheap path's time. Restored (and anything cyclic collected later) on exit."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@functools.lru_cache(maxsize=8)
def _config(cfg_json: str) -> PdfConfig:
    """The worker's configuration, parsed once per distinct JSON (a Spark task sends the same one
    with every range; validating it cost ~2% of the cheap pass). Read-only by the cheap pass."""
    return PdfConfig.model_validate_json(cfg_json)


def cheap_pass(pdf_file: str, start: int, end: int, cfg_json: str) -> dict[str, Any]:
    """Features, route and cheap markdown of pages [start, end) of the PDF at ``pdf_file``.

    Returns {"error": str} when the document cannot be opened, else {"page_count", "pages": [...]}
    with one dict per page: page, features, route, reason, md, cheap_ms or error."""
    import pymupdf

    from sciforge.pipelines.pdf.features import add_graphics_features, extract_blocks, text_flags
    from sciforge.pipelines.pdf.markdown import page_markdown

    pymupdf._get_layout = None  # PyMuPDF 2 activates its layout model on import: 5-10x slower
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    cfg = _config(cfg_json)
    try:
        doc = pymupdf.open(pdf_file, filetype="pdf")
    except Exception as e:
        return {"error": f"pdf_open_failed: {type(e).__name__}: {e}"}
    with doc, _gc_paused():
        if doc.needs_pass and not doc.authenticate(""):
            return {"error": "pdf_encrypted: password required"}
        n = doc.page_count
        repaired = bool(getattr(doc, "is_repaired", False))  # MuPDF rebuilt a broken xref/trailer
        javascript = _has_javascript(doc)  # never executed (MuPDF has no JS engine here); flagged
        lo, hi = max(0, start - cfg.header_window), min(n, end + cfg.header_window)
        keys: dict[int, set[str]] = {}
        extracted: dict[int, Any] = {}
        errors: dict[int, str] = {}
        t_page: dict[int, float] = {}
        for pno in range(lo, hi):
            t0 = time.perf_counter()
            try:
                page = doc[pno]
                if start <= pno < end:
                    tp = page.get_textpage(flags=text_flags())  # the page's one text extraction
                    blocks, feats = extract_blocks(page, textpage=tp)
                    extracted[pno] = (page, tp, blocks, feats)
                    keys[pno] = margin_keys(((b.bbox, b.text) for b in blocks), feats.height, cfg.header_zone_share)
                else:  # context page for running headers: cheaper block listing
                    h = page.rect.height
                    keys[pno] = margin_keys(((tuple(b[:4]), b[4]) for b in page.get_text("blocks")
                                             if b[6] == 0), h, cfg.header_zone_share)
            except Exception as e:
                if start <= pno < end:
                    errors[pno] = f"{type(e).__name__}: {e}"
            t_page[pno] = time.perf_counter() - t0
        pages = []
        for pno in range(start, min(end, n)):
            if pno in errors:
                pages.append({"page": pno, "error": errors[pno]})
                continue
            page, tp, blocks, feats = extracted.pop(pno)
            t0 = time.perf_counter()
            try:
                rules = add_graphics_features(page, feats, measure_images=needs_image_coverage(feats, cfg))
                route = route_page(feats, cfg)
                running = running_keys(pno, keys, cfg.header_window, cfg.header_min_repeat)
                md = "" if route.label == "empty" else page_markdown(
                    page, blocks, feats, running=running, margin_share=cfg.margin_share,
                    header_zone=cfg.header_zone_share,
                    table_min_crossings=cfg.table_min_crossings, table_extractor=cfg.table_extractor,
                    rules=rules, textpage=tp)
            except Exception as e:
                pages.append({"page": pno, "error": f"{type(e).__name__}: {e}"})
                continue
            pages.append({
                "page": pno, "features": feats.to_dict(), "route": route.label, "reason": route.reason,
                "md": md, "running": sorted(running),
                "cheap_ms": 1000 * (t_page[pno] + time.perf_counter() - t0),
            })
        return {"page_count": n, "pages": pages, "repaired": repaired, "javascript": javascript}


def cheap_pass_many(ref: str, items: list[tuple[str, int, int]], cfg_json: str) -> list[dict[str, Any]]:
    """``ref`` (cheap_pass or a function with its signature) over several (file, start, end)
    ranges in one worker call: a Spark task's segments cost one round trip, not one each."""
    from sciforge.pipelines.pdf.isolate import resolve

    fn = resolve(ref)
    return [fn(f, start, end, cfg_json) for f, start, end in items]


def _has_javascript(doc: Any) -> bool:
    """Document-level JavaScript: an /OpenAction or /AA action, or a /Names /JavaScript tree."""
    try:
        cat = doc.pdf_catalog()
        for key in ("OpenAction", "AA", "Names/JavaScript"):
            kind, val = doc.xref_get_key(cat, key)
            if kind != "null" and (key == "Names/JavaScript" or "JavaScript" in val or
                                   (kind == "xref" and "JavaScript" in doc.xref_object(int(val.split()[0])))):
                return True
    except Exception:
        return False
    return False


# ---------------------------------------------------------------------------------------------
# stage 2+3: expensive backends and final decisions (runs in the task's own process)


class PageParser:
    """Parses segments; owns the isolated workers (cheap and expensive), reused across calls."""

    def __init__(self, cfg: PdfConfig, *, isolate_cheap: bool = True, cheap_ref: str = CHEAP_PASS,
                 data_root: str | None = None, storage_options: dict[str, Any] | None = None,
                 vlm_client: LLMClient | None = None) -> None:
        """``data_root`` (and its ``storage_options``) holds the VLM answers' cache; ``vlm_client``
        replaces the client built from ``cfg.vlm``."""
        self.cfg = cfg
        self.vlm: LLMClient | None = None
        if cfg.expensive_backend == "vlm":
            self.vlm = vlm_client or open_client(cfg.vlm, data_root, storage_options)
        self.cheap_ref = cheap_ref  # "module:function" with cheap_pass's signature
        self.cfg_json = cfg.model_dump_json()
        self.isolate_cheap = isolate_cheap
        preload = ("pymupdf", "sciforge.pipelines.pdf.parse")
        self.cheap_worker = IsolatedWorker(memory_mb=cfg.page_memory_mb, preload=preload)
        self.expensive_worker = IsolatedWorker(memory_mb=cfg.page_memory_mb, preload=preload)
        self._backend: dict[str, tuple[str | None, str]] = {}

    def close(self) -> None:
        self.cheap_worker.close()
        self.expensive_worker.close()
        if self.vlm is not None:
            self.vlm.close()

    def __enter__(self) -> PageParser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def backend(self, route: str) -> tuple[str | None, str]:
        if route not in self._backend:
            self._backend[route] = select_backend(route, self.cfg)
        return self._backend[route]

    # -- cheap pass with time limits ----------------------------------------------------------
    def _cheap(self, pdf_file: str, start: int, end: int) -> dict[str, Any]:
        if not self.isolate_cheap:
            return cheap_pass(pdf_file, start, end, self.cfg_json)
        try:
            return self.cheap_worker.call(self.cheap_ref, (pdf_file, start, end, self.cfg_json),
                                          self.cfg.cheap_page_timeout_s * (end - start))
        except (PageTimeout, WorkerCrashed, BackendError) as first:
            if end - start == 1:
                kind = "page_timeout" if isinstance(first, PageTimeout) else "page_crashed"
                return {"pages": [{"page": start, "error": f"{kind}: {first}"}], "page_count": -1}
        # Something in the range hangs or crashes: redo page by page to isolate it.
        out: dict[str, Any] = {"pages": [], "page_count": -1}
        for pno in range(start, end):
            r = self._cheap(pdf_file, pno, pno + 1)
            if "error" in r:
                return r
            out["pages"].extend(r["pages"])
            out["page_count"] = max(out["page_count"], r.get("page_count", -1))
        return out

    # -- segments -----------------------------------------------------------------------------
    def parse_segments(self, segs: list[tuple[str, Segment]]) -> list[SegmentResult]:
        """Parse several (local file, segment) pairs, e.g. one Spark task's; the cheap pass of all
        of them runs in one worker call (its time limit the sum of theirs). When that call times
        out or crashes, every segment is redone on its own (and page by page inside it), so a
        bad page still costs only itself."""
        todo = [i for i, (_, seg) in enumerate(segs) if seg.page_count <= self.cfg.max_pages_per_doc]
        cheap: dict[int, dict[str, Any]] = {}
        if self.isolate_cheap and len(todo) > 1:
            items = [(segs[i][0], segs[i][1].start, segs[i][1].end) for i in todo]
            pages = sum(end - start for _, start, end in items)
            try:
                outs = self.cheap_worker.call(CHEAP_PASS_MANY, (self.cheap_ref, items, self.cfg_json),
                                              self.cfg.cheap_page_timeout_s * pages)
                cheap = dict(zip(todo, outs, strict=True))
            except (PageTimeout, WorkerCrashed, BackendError):
                cheap = {}
        return [self.parse_segment(f, seg, cheap=cheap.get(i)) for i, (f, seg) in enumerate(segs)]

    def parse_segment(self, pdf_file: str, seg: Segment, cheap: dict[str, Any] | None = None) -> SegmentResult:
        """Parse one segment; ``cheap`` is its cheap-pass output when already computed."""
        res = SegmentResult()
        c = res.counters
        n_pages = seg.end - seg.start
        c.input += n_pages
        base = {"doc_id": seg.doc_id, "source": SOURCE, "url": seg.path}
        if seg.page_count > self.cfg.max_pages_per_doc:
            c.drop("pdf_too_many_pages", n_pages)
            if seg.start == 0:
                res.quarantined.append(self._q(base, -1, "", "", "pdf_too_many_pages",
                                               f"{seg.page_count} pages > max_pages_per_doc="
                                               f"{self.cfg.max_pages_per_doc}"))
            return res
        out = cheap if cheap is not None else self._cheap(pdf_file, seg.start, seg.end)
        if "error" in out:
            reason, _, detail = out["error"].partition(": ")
            c.drop(reason, n_pages)
            res.quarantined.append(self._q(base, -1, "", "", reason, detail))
            return res
        if self.vlm is not None:
            self._vlm_pass(pdf_file, out["pages"])
        seen = set()
        if out.get("repaired"):
            c.add("pages_in_repaired_pdfs", n_pages)
        for p in out["pages"]:
            seen.add(p["page"])
            p["repaired"] = bool(out.get("repaired"))
            p["javascript"] = bool(out.get("javascript"))
            self._finish_page(base, p, pdf_file, res)
        for pno in range(seg.start, seg.end):  # pages the file no longer has (truncated, repaired)
            if pno not in seen:
                c.drop("page_missing")
                res.quarantined.append(self._q(base, pno + 1, "", "", "page_missing",
                                               f"document has {out.get('page_count')} pages"))
        return res

    def _vlm_pass(self, pdf_file: str, pages: list[dict[str, Any]]) -> None:
        """Render the segment's pages of the VLM routes (in the isolated worker) and ask the model
        about all of them at once (``vlm.max_concurrency`` in flight); each page gets ``vlm`` (the
        completion) or ``vlm_render_error``."""
        assert self.vlm is not None
        vcfg = self.cfg.vlm
        asked, requests = [], []
        for p in pages:
            if "error" in p or p["route"] not in vcfg.routes:
                continue
            try:
                png = self.expensive_worker.call(RENDER_PAGE, (pdf_file, p["page"], vcfg.dpi), self.cfg.page_timeout_s)
            except (PageTimeout, WorkerCrashed, BackendError) as e:
                p["vlm_render_error"] = f"{type(e).__name__}: {e}"
                continue
            asked.append(p)
            requests.append(page_messages(png, p["md"], vcfg))
        for p, comp in zip(asked, self.vlm.complete_many(requests), strict=True):
            p["vlm"] = comp

    def _q(self, base: dict[str, Any], page: int, route: str, parser: str, reason: str, detail: str,
           text: str = "", features: str = "") -> dict[str, Any]:
        return {**base, "page": page, "route": route, "parser": parser, "reason": reason,
                "detail": detail[:2000], "text": text, "features": features}

    def _finish_page(self, base: dict[str, Any], p: dict[str, Any], pdf_file: str, res: SegmentResult) -> None:
        cfg, c = self.cfg, res.counters
        page = p["page"] + 1
        if "error" in p:
            reason = p["error"].split(":", 1)[0] if p["error"].startswith("page_") else "page_parse_error"
            c.drop(reason)
            res.quarantined.append(self._q(base, page, "", CHEAP_PARSER, reason, p["error"]))
            return
        route, md, feats = p["route"], p["md"], p["features"]
        fjson = json.dumps(feats, sort_keys=True)
        c.add(f"route_{route}")
        flags: list[str] = []
        if feats.get("symbol_latin_chars"):
            flags.append("symbol_font_repaired")
        if feats.get("tables"):
            flags.append("tables")
        if feats.get("misencoded_math_lines"):
            flags.append("math_misencoded")
        if p.get("repaired"):
            flags.append("pdf_repaired")
        if p.get("javascript"):
            flags.append("pdf_javascript")
        if route == "empty":
            c.drop("empty_page")
            detail = p["reason"] + ("; the PDF was damaged and repaired" if p.get("repaired") else "")
            res.quarantined.append(self._q(base, page, route, CHEAP_PARSER, "empty_page", detail,
                                           features=fjson))
            return
        if route == "garbled":
            c.drop("garbled_text")
            res.quarantined.append(self._q(base, page, route, CHEAP_PARSER, "garbled_text", p["reason"],
                                           md, fjson))
            return
        parser, exp_ms = CHEAP_PARSER, 0.0
        if route in ("math", "scan"):
            c.add("pages_expensive")
        if "vlm" in p or "vlm_render_error" in p:
            c.add(f"parser_{VLM_PARSER}")
            comp = p.get("vlm")
            if comp is not None and not comp.ok:  # the endpoint failed after its retries: loud
                c.drop("vlm_failed")
                res.quarantined.append(self._q(base, page, route, VLM_PARSER, "vlm_failed",
                                               f"{p['reason']}; {comp.error}", md, fjson))
                return
            if comp is None:
                vmd, why = "", f"vlm_render_failed: {p['vlm_render_error']}"
            else:
                c.add("vlm_cached" if comp.cached else "vlm_answered")
                vmd, rejected = postprocess(comp.text or "", self.cfg.vlm)
                why = rejected or ""
            if not why:
                md, parser = strip_margin_lines(vmd, set(p["running"])), VLM_PARSER
            else:  # an unusable answer (the same on every re-run): the local parser, reason recorded
                flags.append("vlm_rejected")
                c.add(f"vlm_rejected_{why.split(':')[0].removeprefix('vlm_')}")
                p["reason"] += f"; VLM answer rejected ({why.splitlines()[0][:300]}), local parser used"
        if route in ("math", "scan") and parser == CHEAP_PARSER:
            name, why = self.backend(route)
            if name == "glyph":  # the cheap markdown already carries the rebuilt LaTeX
                c.add("parser_glyph")
            elif name is None:
                flags.append("expensive_unavailable")
                c.add("expensive_unavailable")
            else:
                opts = {"dpi": cfg.ocr_dpi, "language": cfg.ocr_language, "margin_share": cfg.margin_share,
                        "marker_models_dir": cfg.marker_models_dir, "ocr_blank_max_ink": cfg.ocr_blank_max_ink,
                        "ocr_min_confidence": cfg.ocr_min_confidence,
                        "ocr_min_good_share": cfg.ocr_min_good_share, "timeout_s": cfg.page_timeout_s,
                        "ocr_max_unreadable_share": cfg.ocr_max_unreadable_share,
                        "ocr_near_blank_ink": cfg.ocr_near_blank_ink,
                        "ocr_min_chars": cfg.ocr_min_chars}
                t0 = time.perf_counter()
                try:
                    emd = self.expensive_worker.call(BACKENDS[name], (pdf_file, p["page"], opts),
                                                     cfg.page_timeout_s)
                    if isinstance(emd, dict):  # a backend that validates its output (OCR confidences)
                        if emd.get("reject"):
                            c.add(f"parser_{name}")
                            c.drop(emd["reject"])
                            res.quarantined.append(self._q(base, page, route, name, emd["reject"],
                                                           f"{p['reason']}; {emd.get('detail', '')}",
                                                           emd.get("md", ""), fjson))
                            return
                        flags.extend(emd.get("flags", []))  # e.g. ocr_lines_left_out
                        emd = emd["md"]
                    md, parser = strip_margin_lines(emd, set(p["running"])), name
                except PageTimeout as e:
                    flags.append("expensive_timeout")
                    why = str(e)
                except WorkerCrashed as e:
                    flags.append("expensive_crashed")
                    why = str(e)
                except BackendError as e:
                    flags.append("expensive_error")
                    why = str(e)
                exp_ms = 1000 * (time.perf_counter() - t0)
                c.add(f"parser_{name}")
                if parser == CHEAP_PARSER:
                    c.add("expensive_fallback")
                    p["reason"] += f"; fell back to the cheap output: {why.splitlines()[0][:300]}"
        if route == "scan" and parser == CHEAP_PARSER:
            # No OCR output: whatever text layer a scan has is hidden/noisy (that is why it was
            # routed here), so it is not kept as the page's text.
            c.drop("scan_not_ocred")
            why = ", ".join(flags[-1:]) or "no OCR"
            res.quarantined.append(self._q(base, page, route, parser, "scan_not_ocred",
                                           f"{p['reason']} ({why})", md, fjson))
            return
        md = clean_markdown(md)
        score = (ocr_garble_score(md) if route == "scan" else garble_score(md)) if parser != CHEAP_PARSER else 0.0
        if score >= cfg.garbled_score:
            detail = f"{parser} output garble score {score:.2f}"
            if route == "math" and p["md"].strip():  # the text layer was fine: keep the cheap output
                flags.append("expensive_garbled")
                c.add("expensive_fallback")
                md, parser = clean_markdown(p["md"]), CHEAP_PARSER
                p["reason"] += f"; fell back to the cheap output: {detail}"
            else:
                c.drop("garbled_text")
                res.quarantined.append(self._q(base, page, route, parser, "garbled_text", detail, md, fjson))
                return
        if not md.strip():
            c.drop("no_text_extracted")
            res.quarantined.append(self._q(base, page, route, parser, "no_text_extracted", p["reason"], "",
                                           fjson))
            return
        c.kept += 1
        keep_t = cfg.record_timings
        res.kept.append({**base, "page": page, "domain": "", "field": "", "text": md, "route": route,
                         "route_reason": p["reason"], "parser": parser, "flags": flags, "features": fjson,
                         "cheap_ms": round(p["cheap_ms"], 3) if keep_t else 0.0,
                         "expensive_ms": round(exp_ms, 3) if keep_t else 0.0})


def to_tables(res: SegmentResult) -> tuple[pa.Table, pa.Table]:
    return (pa.Table.from_pylist(res.kept, schema=KEPT_SCHEMA),
            pa.Table.from_pylist(res.quarantined, schema=QUARANTINE_SCHEMA))
