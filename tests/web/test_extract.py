"""Extraction repairs: DOM pruning, article container, edge trim and the trafilatura router."""

from __future__ import annotations

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.config import ARTICLE_CONTAINERS, ExtractConfig
from sciforge.pipelines.web.extract import extract_html, normalize_text, trim_edges

PARA = ("The heat equation describes how temperature diffuses through a solid body over time, and its "
        "solutions smooth out any initial irregularities as the system approaches equilibrium. ")
NO_ROUTE = ExtractConfig(fallback_min_chars=0)
CONTAINER = ExtractConfig(fallback_min_chars=0, content_selectors=ARTICLE_CONTAINERS)


def _page(body: str) -> bytes:
    return f"<!DOCTYPE html><html lang='en'><head><title>T</title></head><body>{body}</body></html>".encode()


def test_trim_edges_drops_short_edge_lines_and_keeps_structure() -> None:
    text = "\n".join(["Home > Science > Physics", "By Jane Doe | 3 May 2021", "## Diffusion", PARA, PARA,
                      "| t | T |", "Share on Twitter", "Imprint"])
    out, trimmed = trim_edges(text, 60)
    assert trimmed
    assert out.split("\n")[0] == "## Diffusion"  # the heading right before the first paragraph stays
    assert "Home > Science" not in out and "By Jane Doe" not in out
    assert out.endswith("| t | T |")  # a table row is an anchor; the short lines after it go
    code = PARA + "\n```\nx = 1\n```"
    assert trim_edges(code, 60) == (code, False)
    assert trim_edges("short\nlines only", 60) == ("short\nlines only", False)  # no anchor: untouched
    assert trim_edges(text, 0) == (text, False)  # 0 disables


def test_figures_footers_and_forms_are_pruned() -> None:
    body = (f"<article><h1>Diffusion</h1><p>{PARA * 3}</p>"
            "<figure><img src='a.png' alt=''><figcaption>Figure 1: credit Getty Images</figcaption></figure>"
            f"<p>{PARA * 2}</p><form><label>Subscribe to our newsletter now and never miss a story</label>"
            "</form></article><footer><p>Copyright 2025 Example Media GmbH, all rights reserved worldwide.</p>"
            "</footer>")
    c = StageCounters()
    text = extract_html(_page(body), "text/html", NO_ROUTE, c).text
    assert "heat equation" in text
    assert "Getty" not in text and "newsletter" not in text and "Copyright" not in text
    # (with keep_image_alt: resiliparse drops a figure's caption together with its image's alt text)
    kept = extract_html(_page(body), "text/html",
                        ExtractConfig(fallback_min_chars=0, prune_selectors="", keep_image_alt=True),
                        StageCounters()).text
    assert "Getty" in kept  # the selector list is what removed it


def test_figures_holding_tables_and_page_wide_forms_are_content() -> None:
    # arXiv / LaTeXML HTML puts every table in <figure class="ltx_table">; ASP.NET wraps the page in a form
    table = ("<figure class='ltx_table'><figcaption>Table 1: diffusion constants</figcaption><table>"
             "<tr><th>metal</th><th>D (cm2/s)</th></tr><tr><td>copper</td><td>0.78</td></tr></table></figure>")
    body = f"<form id='aspnetForm'><article><h1>Diffusion</h1><p>{PARA * 3}</p>{table}<p>{PARA}</p></article></form>"
    c = StageCounters()
    text = extract_html(_page(body), "text/html", NO_ROUTE, c).text
    assert "heat equation" in text and "copper" in text and "0.78" in text
    assert c.metrics["extract_figure_kept"] == 1 and c.metrics["extract_page_form_kept"] == 1


def test_article_container_wins_over_teasers_around_it() -> None:
    teaser = "".join(f"<div class='teaser'><h3>Other story {i}</h3><p>{PARA}</p></div>" for i in range(4))
    body = (f"<div class='layout'>{teaser}<div class='entry-content'><p>Main article opens here. {PARA * 2}</p>"
            f"<p>{PARA * 2}</p></div>{teaser}</div>")
    c = StageCounters()
    text = extract_html(_page(body), "text/html", CONTAINER, c).text
    assert text.startswith("Main article opens here.")
    assert "Other story" not in text and c.metrics["extract_container"] == 1
    # a marker on a small box (under container_min_share of the main text) is ignored
    small = (f"<article><p>{PARA * 6}</p><div class='story-body'>Tiny box with a bit of text in it.</div>"
             "</article>")
    c2 = StageCounters()
    extract_html(_page(small), "text/html", CONTAINER, c2)
    assert "extract_container" not in c2.metrics


def test_router_sends_short_plain_pages_to_trafilatura_but_not_code_or_math() -> None:
    short = _page(f"<article><p>{PARA}</p></article>")  # ~190 chars: under fallback_min_chars
    c = StageCounters()
    out = extract_html(short, "text/html", ExtractConfig(), c)
    assert c.metrics["extract_fallback_trafilatura"] == 1 and "heat equation" in out.text
    code = _page(f"<article><p>{PARA}</p><pre>x = 1\ny = 2</pre></article>")
    c2 = StageCounters()
    out2 = extract_html(code, "text/html", ExtractConfig(), c2)
    assert "extract_fallback_trafilatura" not in c2.metrics and "```\nx = 1\ny = 2\n```" in out2.text
    long_page = _page(f"<article><p>{PARA * 8}</p></article>")
    c3 = StageCounters()
    extract_html(long_page, "text/html", ExtractConfig(), c3)
    assert "extract_fallback_trafilatura" not in c3.metrics


def test_link_lines_are_dropped_and_link_rich_paragraphs_kept() -> None:
    menu = "".join(f"<p><a href='/s{i}'>Other story number {i}</a></p>" for i in range(3))
    inline = f"<p>{PARA} See <a href='/w/Heat'>heat</a> and <a href='/w/Fourier'>Fourier's law</a>.</p>"
    body = f"<article><h1>Diffusion</h1><p>{PARA * 2}</p>{menu}{inline}<p>{PARA}</p></article>"
    c = StageCounters()
    text = extract_html(_page(body), "text/html", NO_ROUTE, c).text
    assert "Other story" not in text and c.metrics["extract_link_lines_dropped"] == 3
    assert "Fourier's law" in text and "\ue000" not in text and "\ue001" not in text  # marks removed
    off = ExtractConfig(fallback_min_chars=0, link_line_max_share_short=2, link_line_max_share_long=2)
    assert "Other story number 1" in extract_html(_page(body), "text/html", off, StageCounters()).text
    stray = extract_html(_page(f"<article><p>{PARA}</a></p><p>{PARA}</p></article>"), "text/html", NO_ROUTE,
                         StageCounters()).text  # a closing </a> without its <a>
    assert PARA.split()[0] in stray and "\ue001" not in stray


def test_formula_images_become_tex_and_photos_go() -> None:
    math = ("<span class='mwe-math-element'><span style='display: none;'><math alttext='{\\displaystyle u_t}'>"
            "<mi>u</mi></math></span><img class='mwe-math-fallback-image-inline' alt='{\\displaystyle u_t}'"
            " src='u.svg'></span>")
    body = (f"<article><h1>Heat</h1><p>{PARA}</p><p>It reads {math} = 0, where {PARA}</p>"
            f"<p><img src='p.jpg' alt='Copper glowing in a furnace'>{PARA}</p></article>")
    text = extract_html(_page(body), "text/html", NO_ROUTE, StageCounters()).text
    assert "${\\displaystyle u_t}$" in text
    assert "glowing" not in text
    alt = ExtractConfig(fallback_min_chars=0, keep_image_alt=True)
    assert "glowing" in extract_html(_page(body), "text/html", alt, StageCounters()).text


def test_trim_edges_keeps_the_title_and_a_short_closing_sentence() -> None:
    text = "\n".join(["# Diffusion in metals", "By Jane Doe", "3 May 2021", PARA, PARA,
                      "The data are available on request.", "Share on Twitter", "Imprint"])
    out, trimmed = trim_edges(text, 60, sentence_min_words=6, keep_title=True)
    assert trimmed and out.startswith("# Diffusion in metals\n\n" + PARA.strip()[:20])
    assert "By Jane Doe" not in out and out.endswith("The data are available on request.")
    old, _ = trim_edges(text, 60)  # without both: title and closing sentence go with the byline
    assert old.startswith(PARA[:20]) and old.endswith(PARA)


def test_normalize_text_spaces_and_nfc_but_not_code() -> None:
    text = "Warnung vor\u00a0Tesla,\u00a0 gepru\u0308ft\u200b.\n  - item  one\n```\nx  =\u00a01\n```"
    out = normalize_text(text)
    assert out.split("\n")[0] == "Warnung vor Tesla, geprüft."
    assert out.split("\n")[1] == "  - item one"  # indentation kept, inner runs collapsed
    assert "x  =\u00a01" in out  # code untouched
    html = _page(f"<p>{PARA}</p><p>Warnung&nbsp;vor&nbsp;Tesla und {PARA}</p>")
    assert "Warnung vor Tesla" in extract_html(html, "text/html", NO_ROUTE, StageCounters()).text


def test_photo_captions_and_credits_are_dropped() -> None:
    body = (f"<article><h1>Diffusion</h1><p>{PARA}</p><p>Foto: Matthias Kern/Getty Images</p>"
            f"<p>Copper samples in the furnace (Photo: AP)</p><p>Image 1 of 8</p><p>{PARA}</p></article>")
    c = StageCounters()
    text = extract_html(_page(body), "text/html", NO_ROUTE, c).text
    assert "Getty" not in text and "furnace" not in text and "Image 1" not in text
    assert text.count("heat equation") == 2 and c.metrics["extract_caption_lines_dropped"] == 3
    off = ExtractConfig(fallback_min_chars=0, caption_max_chars=0)
    assert "Getty" in extract_html(_page(body), "text/html", off, StageCounters()).text


def test_related_section_headings_are_dropped_anywhere() -> None:
    teasers = "".join(f"<p><a href='/s{i}'>Other story number {i}</a></p>" for i in range(3))
    body = f"<article><h1>Diffusion</h1><p>{PARA}</p><h3>Lesen Sie auch</h3>{teasers}<p>{PARA * 3}</p></article>"
    c = StageCounters()
    text = extract_html(_page(body), "text/html", NO_ROUTE, c).text
    assert "Lesen Sie auch" not in text and "Other story" not in text and c.metrics["extract_cue_headings_dropped"] == 1
    off = ExtractConfig(fallback_min_chars=0, drop_cue_headings=False)
    assert "Lesen Sie auch" in extract_html(_page(body), "text/html", off, StageCounters()).text
