"""HTML bytes -> main text as light markdown, plus title and declared language.

Decoding: the HTTP ``Content-Type`` charset, then ``<meta charset>``, each tried strictly; when the
declared charset does not decode the bytes (a Latin-1 page declared UTF-8 is common) resiliparse's
detector picks one and the mismatch is counted. Binary payloads served as text/html are recognised
by magic bytes and by their share of control characters.

Extraction: resiliparse's main-content extractor (a C++ DOM, ~10x trafilatura's speed, see
bench/web_extract.py) in ``minimal_html`` mode, converted to markdown: headings ``#``, list items
``-``, tables ``| a | b |``, ``<pre>`` fenced. Math survives: MathML ``alttext`` and MathJax
``<script type="math/tex">`` become ``$...$`` before parsing. trafilatura is the other backend.

Precision repairs of resiliparse's main-content output (each measured on half A of the trafilatura
eval set, bench/web_extract.py; every threshold an :class:`ExtractConfig` field): boilerplate blocks
(``<figure>``, ``<footer>``, ``<aside>``, ``<nav>``, ``<form>``) are skipped (:func:`skip_selectors`; a figure
holding a table or math and a form wrapping the page stay); photos are removed (their alt text is
caption-like) while formula images become ``$...$``; optionally (off by default, see ``content_selectors``),
when the page marks its article container (``itemprop=articleBody``, ``entry-content``, ...) holding a fair
share of the main text, only the container is kept (:func:`container_text`); a trailing section
introduced by a "related / share / comments / newsletter" line is cut (:func:`cut_tail_section`); lines
that are mostly link text are dropped (every ``<a>`` is marked before parsing, :func:`drop_link_lines`),
and so are photo captions and credits (:func:`drop_caption_lines`); short lines before the first and
after the last anchor line (paragraph-length, a full sentence, structure) are trimmed, the page's
``<h1>`` title kept (:func:`trim_edges`: bylines, breadcrumbs, teaser headlines, legal lines); last, the
text is normalised (:func:`normalize_text`: NFC, ``&nbsp;`` and other layout spaces).

Router: a page whose text still comes out short (``fallback_min_chars``; and holds no code or TeX,
which trafilatura's markdown would lose) is the kind of page where
resiliparse's heuristic most often picked the wrong block; it is extracted again by trafilatura
(fast mode, plain-text output), whose output replaces ours when it has any text. That costs
trafilatura's time on those pages only (about 12% of the eval pages).
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.config import ExtractConfig

# Magic numbers of formats that are never HTML (file(1) / libmagic signatures).
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"RIFF",
                 b"\x00\x00\x01\x00", b"OggS", b"ID3", b"fLaC", b"\x7fELF", b"BZh", b"7z\xbc\xaf")
_SNIFF_BYTES = 4096
_CTRL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_HTML_LANG = re.compile(r"""<html[^>]*?\blang\s*=\s*["']?([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]+)?""", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_MATH_ALT = re.compile(r"""<math\b[^>]*?\balttext\s*=\s*(["'])(.*?)\1[^>]*>.*?</math\s*>""", re.I | re.S)
_MATHJAX = re.compile(r"""<script[^>]*type\s*=\s*["']math/tex(; *mode=display)?["'][^>]*>(.*?)</script\s*>""",
                      re.I | re.S)


@dataclass
class Extracted:
    text: str
    title: str
    declared_lang: str
    encoding: str


class ExtractError(ValueError):
    """The payload cannot give a page; ``reason`` is the quarantine reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", content_type, re.I)
    return m.group(1).lower() if m else None


# Byte order marks (HTML Standard, "decode": a BOM wins over every declared charset). UTF-32 first: its
# little-endian BOM starts with UTF-16's.
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_WIDE = ("utf-16", "utf-32")  # encodings whose ASCII text is half or three quarters NUL bytes


def sniff_bom(data: bytes) -> tuple[str, int] | None:
    """(encoding, BOM length) when ``data`` starts with a Unicode byte order mark."""
    return next(((enc, len(bom)) for bom, enc in _BOMS if data.startswith(bom)), None)


# The charset labels a page may declare: the WHATWG Encoding Standard's labels (what browsers accept), with
# the Python codec each decodes with, plus UTF-32. A label Python knows itself decodes with Python's codec
# of that name (``latin-1`` stays Latin-1), except the codecs in _NOT_WEB_CODECS, which are not web
# encodings (``utf-7`` and ``unicode_escape`` yield lone surrogates, ``idna`` raises UnicodeError, ``rot13``
# is not a text encoding): a page declaring one of those has an unknown charset.
_WHATWG: dict[str, tuple[str, ...]] = {
    "utf-8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "iso8859_2": ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2",
                  "iso_8859-2:1987", "l2", "latin2"),
    "iso8859_3": ("csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3",
                  "iso_8859-3:1988", "l3", "latin3"),
    "iso8859_4": ("csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4",
                  "iso_8859-4:1988", "l4", "latin4"),
    "iso8859_5": ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595",
                  "iso_8859-5", "iso_8859-5:1988"),
    "iso8859_6": ("arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114",
                  "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596",
                  "iso_8859-6", "iso_8859-6:1987"),
    "iso8859_7": ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126",
                  "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek"),
    "iso8859_8": ("csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138",
                  "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual", "csiso88598i",
                  "iso-8859-8-i", "logical"),
    "iso8859_10": ("csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6"),
    "iso8859_13": ("iso-8859-13", "iso8859-13", "iso885913"),
    "iso8859_14": ("iso-8859-14", "iso8859-14", "iso885914"),
    "iso8859_15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"),
    "iso8859_16": ("iso-8859-16",),
    "koi8_r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8_u": ("koi8-ru", "koi8-u"),
    "mac_roman": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "cp874": ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    "cp1250": ("cp1250", "windows-1250", "x-cp1250"),
    "cp1251": ("cp1251", "windows-1251", "x-cp1251"),
    "cp1252": ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
               "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1",
               "us-ascii", "windows-1252", "x-cp1252"),
    "cp1253": ("cp1253", "windows-1253", "x-cp1253"),
    "cp1254": ("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9",
               "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"),
    "cp1255": ("cp1255", "windows-1255", "x-cp1255"),
    "cp1256": ("cp1256", "windows-1256", "x-cp1256"),
    "cp1257": ("cp1257", "windows-1257", "x-cp1257"),
    "cp1258": ("cp1258", "windows-1258", "x-cp1258"),
    "mac_cyrillic": ("x-mac-cyrillic", "x-mac-ukrainian"),
    "gbk": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58",
            "x-gbk"),
    "gb18030": ("gb18030",),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "euc_jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "iso2022_jp": ("csiso2022jp", "iso-2022-jp"),
    "cp932": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"),
    "cp949": ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
              "ksc5601", "ksc_5601", "windows-949"),
    "utf-16-be": ("unicodefffe", "utf-16be"),
    "utf-16-le": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"),
    "utf-32-le": ("utf-32", "utf-32le"),
    "utf-32-be": ("utf-32be",),
}
CHARSET_LABELS = {label: codec for codec, labels in _WHATWG.items() for label in labels}
_NOT_WEB_CODECS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined",
                             "charmap", "mbcs", "oem"})


def charset_codec(label: str | None) -> str | None:
    """The Python codec for a declared charset label, or None when the label is not a web encoding."""
    if not label:
        return None
    import codecs

    label = label.strip().lower()
    try:
        info = codecs.lookup(label)
    except LookupError:
        return CHARSET_LABELS.get(label)  # a web label Python does not know (x-sjis, x-mac-cyrillic, ...)
    if info.name in _NOT_WEB_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return str(info.name)  # the codec Python itself has under that name


def is_binary(data: bytes, max_ratio: float) -> bool:
    head = data[:_SNIFF_BYTES]
    if head.startswith(_BINARY_MAGIC):
        return True
    if not head:
        return False
    bom = sniff_bom(head)
    if b"\x00" in head and not (bom and bom[0].startswith(_WIDE)):  # NUL bytes, and not UTF-16/32 text
        return True
    ctrl = sum(head.count(bytes([c])) for c in _CTRL)
    return ctrl / len(head) > max_ratio


_CTRL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")


def is_binary_text(text: str, max_ratio: float) -> bool:
    """The decoded-text form of :func:`is_binary` for wide encodings (UTF-16/32, where the bytes of
    ASCII text are mostly NUL): NUL or a share of control characters over ``max_ratio``."""
    head = text[:_SNIFF_BYTES]
    if not head:
        return False
    return "\x00" in head or len(_CTRL_CHARS.findall(head)) / len(head) > max_ratio


def decode_html(data: bytes, content_type: str | None, counters: StageCounters) -> tuple[str, str]:
    """Bytes -> (text, encoding used). Never raises on bad bytes.

    Order (the HTML Standard's): a byte order mark; the HTTP ``Content-Type`` charset; ``<meta charset>``
    (each a web charset label, tried strictly); else resiliparse's detector."""
    bom = sniff_bom(data)
    if bom is not None:
        enc, n = bom
        counters.add("charset_bom")
        try:
            return data[n:].decode(enc), enc
        except UnicodeDecodeError:
            counters.add("charset_bom_invalid")  # a BOM is authoritative: decode with replacement characters
            return data[n:].decode(enc, "replace"), enc
    candidates = []
    for c in (header_charset(content_type), _meta_charset(data)):
        if c and c not in candidates:
            candidates.append(c)
    for label in candidates:
        codec = charset_codec(label)
        if codec is None:
            counters.add("charset_unknown")
            continue
        try:
            return data.decode(codec), label
        except UnicodeError:
            counters.add("charset_mismatch")
    if not candidates:
        counters.add("charset_missing")
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    enc = detect_encoding(data) or "utf-8"
    if charset_codec(enc) is None:  # the detector names a web encoding in practice; anything else is refused
        enc = "utf-8"
    return bytes_to_str(data, enc), enc


def _meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:_SNIFF_BYTES])
    return m.group(1).decode("ascii", "ignore").lower() if m else None


# Formula images: MediaWiki's fallback image (class ``mwe-math-fallback-image``, alt ``{\displaystyle ...}``;
# its MathML sits in a ``display: none`` span that resiliparse skips) and WordPress LaTeX plugins
# (class ``latex``, alt = the TeX source). Their alt text becomes ``$...$`` like MathML's alttext.
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_IMG_ALT = re.compile(r"""\balt\s*=\s*(["'])(.*?)\1""", re.I | re.S)
_MATH_IMG_HINTS = ("displaystyle", "latex", "mwe-math")


def _math_img(m: re.Match[str]) -> str:
    """A formula image -> `` $tex$ ``; any other image stays."""
    tag = m.group(0)
    if any(h in tag for h in _MATH_IMG_HINTS):
        alt = _IMG_ALT.search(tag)
        tex = html_lib.unescape(alt.group(2)).strip() if alt else ""
        if tex:
            return f" ${html_lib.escape(tex)}$ "
    return tag


def drop_images(html: str) -> str:
    """Remove ``<img>`` tags, so that resiliparse prints no alt text (its own ``alt_texts=False`` would
    also drop every ``<figure>``, tables included)."""
    return _IMG.sub("", html) if "<img" in html or "<IMG" in html else html


def _math_to_tex(html: str) -> str:
    """MathML, MathJax scripts and formula images -> ``$...$``."""
    if any(h in html for h in _MATH_IMG_HINTS):
        html = _IMG.sub(_math_img, html)
    if "<math" in html or "<MATH" in html:
        html = _MATH_ALT.sub(lambda m: f" ${html_lib.escape(html_lib.unescape(m.group(2)))}$ ", html)
    if "math/tex" in html:
        html = _MATHJAX.sub(lambda m: f" ${'$' if m.group(1) else ''}{m.group(2).strip()}"
                            f"{'$' if m.group(1) else ''}$ ", html)
    return html


_TAG = re.compile(r"<(/?)(h[1-6]|p|ul|ol|li|pre|br|a)\b[^>]*>", re.I)
_BLANKS = re.compile(r"\n{3,}")


def minimal_html_to_markdown(s: str) -> str:
    """resiliparse's ``minimal_html`` output -> markdown (headings, lists, tables, code)."""
    out: list[str] = []
    pos = 0
    list_stack: list[str] = []
    for m in _TAG.finditer(s):
        chunk = s[pos:m.start()]
        out.append(chunk)
        pos = m.end()
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag == "pre":
            out.append("\n```\n")
        elif tag in ("ul", "ol"):
            if closing:
                if list_stack:
                    list_stack.pop()
            else:
                list_stack.append(tag)
            out.append("\n")
        elif tag == "li" and not closing:
            indent = "  " * max(0, len(list_stack) - 1)
            out.append(f"\n{indent}- ")
        elif tag[0] == "h" and not closing:
            out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6"):
            out.append("\n\n")
        elif tag == "br":
            out.append("\n")
    out.append(s[pos:])
    text = html_lib.unescape("".join(out))
    lines = []
    for line in text.split("\n"):
        if "\t\t" in line:  # resiliparse renders table rows with double tabs between cells
            cells = [c.strip() for c in line.split("\t\t")]
            line = "| " + " | ".join(cells) + " |"
        lines.append(line.rstrip())
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


# Lines that open a section of links to other pages, sharing or comments (English and German, the
# languages of the eval set; the cue words of trafilatura's and jusText's boilerplate lists).
_TAIL_CUE = re.compile(
    r"^\W*(related|more (from|on|about|in|stories|articles|news)|you (may|might) also|read (more|also|next)|"
    r"see also|recommended|popular|trending|most (read|popular)|share( this)?|follow us|comments?|"
    r"leave a (reply|comment)|newsletter|subscribe|tags?|about the author|ähnliche|mehr (zum|zu|aus|von)|"
    r"weitere|das könnte|auch interessant|lesen sie (auch|mehr)|empfehlungen|teilen|kommentare?|schlagworte|"
    r"themen|zum thema|artikel teilen|verwandte|beliebt|meistgelesen|abonnieren)\b.{0,40}$", re.I)
_TAIL_CUE_MAX_CHARS = 60  # a cue line is a heading or a label, not a sentence of the article


def cut_tail_section(text: str, after: float) -> tuple[str, bool]:
    """Cut ``text`` at the first cue line that has at least ``after`` of the text before it."""
    if after >= 1:
        return text, False
    pos, total = 0, len(text)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        s = line.strip().lstrip("#").strip()
        if pos > after * total and len(s) < _TAIL_CUE_MAX_CHARS and _TAIL_CUE.match(s):
            return "\n".join(lines[:i]).rstrip(), True
        pos += len(line) + 1
    return text, False


_FENCE = "```"


def drop_cue_headings(text: str) -> tuple[str, int]:
    """Drop heading lines that name a "related / more on / read also" section (:data:`_TAIL_CUE`) where
    :func:`cut_tail_section` did not cut (before the page's second half): the teaser links under them
    go with the link filter, the heading would stay alone."""
    out: list[str] = []
    dropped = 0
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("#"):
            h = s.lstrip("#").strip()
            if len(h) < _TAIL_CUE_MAX_CHARS and _TAIL_CUE.match(h):
                dropped += 1
                continue
        out.append(line)
    return "\n".join(out), dropped

# Photo captions and credits: a line opening with a credit label ("Photo:", "Foto:", "Bild:", "Image
# credit:"), a gallery counter ("Image 1 of 8"), or a short line ending in one ("... (Foto: dpa)"); the
# labels of the eval set's languages (English, German, Spanish, French share "foto" / "photo").
_CAPTION = re.compile(r"^\W*(photos?|fotos?|bild(er)?|images?|credits?|photograph|picture|abbildung|grafik)\b"
                      r"\s*(credit)?\s*[:©]", re.I)
_CAPTION_END = re.compile(r"\b(photos?|fotos?|bild|credits?)\s*:\s*[^.!?]{0,60}\)?\s*$", re.I)
_GALLERY = re.compile(r"^\W*(image|photo|bild|foto)\s+\d+\s+(of|von|/)", re.I)


def drop_caption_lines(text: str, max_chars: int) -> tuple[str, int]:
    """Drop photo caption / credit lines shorter than ``max_chars`` (0 disables); code and tables stay."""
    if max_chars <= 0:
        return text, 0
    out: list[str] = []
    dropped = 0
    in_code = False
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith(_FENCE):
            in_code = not in_code
        elif (s and not in_code and len(s) < max_chars and not s.startswith("|")
              and (_CAPTION.match(s) or _GALLERY.match(s) or _CAPTION_END.search(s))):
            dropped += 1
            continue
        out.append(line)
    return "\n".join(out), dropped


_SENTENCE_END = re.compile(r"[.!?][\"'”“»)]?$")


def _is_anchor(line: str, min_chars: int, sentence_min_words: int = 0) -> bool:
    """A line that is surely article text: paragraph-length, structure (table row, code fence, list item,
    math) that boilerplate rarely has, or (``sentence_min_words`` > 0) a full sentence of that many words."""
    s = line.strip()
    if len(s) >= min_chars or s.startswith(("|", _FENCE, "- ")) or "$" in s:
        return True
    return (sentence_min_words > 0 and not s.startswith("#") and _SENTENCE_END.search(s) is not None
            and len(s.split()) >= sentence_min_words)


def trim_edges(text: str, min_chars: int, sentence_min_words: int = 0, keep_title: bool = False) -> tuple[str, bool]:
    """Drop the short lines before the first and after the last anchor line (:func:`_is_anchor`); a
    heading right before the first anchor stays (the article's title or first section), and with
    ``keep_title`` so does a top-level heading (``# ``, the page's ``<h1>``) anywhere before it."""
    if min_chars <= 0:
        return text, False
    lines = text.split("\n")
    anchors = [i for i, line in enumerate(lines) if _is_anchor(line, min_chars, sentence_min_words)]
    if not anchors:
        return text, False
    a, b = anchors[0], anchors[-1]
    j = a - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and lines[j].lstrip().startswith("#"):
        a = j
    head = [line for line in lines[:a] if line.lstrip().startswith("# ")] if keep_title else []
    out = "\n".join([*head, ""] + lines[a:b + 1] if head else lines[a:b + 1])
    return out, len(out) != len(text)


# Link marks: private-use characters (Unicode's PUA, never real text) inserted inside every ``<a>`` before
# parsing, so that resiliparse's output still says which characters of a line were link text.
_LINK_OPEN, _LINK_CLOSE = "\ue000", "\ue001"
_A_OPEN = re.compile(r"(<a\b[^>]*>)", re.I)
_A_CLOSE = re.compile(r"(</a\s*>)", re.I)
_LINK_TEXT = re.compile(f"{_LINK_OPEN}([^{_LINK_OPEN}{_LINK_CLOSE}]*)")
_NON_SPACE = re.compile(r"\S")


def _unmark(s: str) -> str:
    return s.replace(_LINK_OPEN, "").replace(_LINK_CLOSE, "") if _LINK_OPEN in s or _LINK_CLOSE in s else s


def mark_links(html: str) -> str:
    """Wrap the text of every ``<a>`` in link marks (marks already in the page are removed first)."""
    parts = _A_OPEN.split(_unmark(html))  # [text, tag, text, tag, ...]
    parts[1::2] = [tag + _LINK_OPEN for tag in parts[1::2]]
    parts = _A_CLOSE.split("".join(parts))
    parts[1::2] = [_LINK_CLOSE + tag for tag in parts[1::2]]
    return "".join(parts)


def link_share(line: str) -> float:
    """Share of a marked line's visible (non-space) characters that are link text (the text after an
    opening mark up to the next mark; a nested link counts once)."""
    total = len(_NON_SPACE.findall(line)) - line.count(_LINK_OPEN) - line.count(_LINK_CLOSE)
    if total <= 0:
        return 0.0
    inside = sum(len(_NON_SPACE.findall(t)) for t in _LINK_TEXT.findall(line))
    return min(1.0, inside / total)


def drop_link_lines(text: str, cfg: ExtractConfig) -> tuple[str, int]:
    """Remove the link marks; drop the lines that are mostly link text (menus, teaser headlines, "more"
    links that survived main-content extraction): a short line (< ``edge_min_line_chars``) when its link
    share reaches ``link_line_max_share_short``, a longer one at ``link_line_max_share_long``. Table rows
    and code are kept. Returns the text and the number of lines dropped."""
    if _LINK_OPEN not in text:
        return _unmark(text), 0  # a stray </a> without its <a> leaves a close mark
    out: list[str] = []
    dropped = 0
    in_code = False
    for line in text.split("\n"):
        clean = _unmark(line)
        s = clean.strip()
        if s.startswith(_FENCE):
            in_code = not in_code
        elif s and not in_code and not s.startswith("|") and _LINK_OPEN in line:
            limit = cfg.link_line_max_share_short if len(s) < cfg.edge_min_line_chars else cfg.link_line_max_share_long
            if link_share(line) >= limit:
                dropped += 1
                continue
        out.append(clean)
    return "\n".join(out), dropped


# Unicode spaces that HTML authors use for layout (&nbsp;, thin and narrow no-break spaces, en/em spaces)
# become plain spaces, and invisible ones (zero-width space, BOM, soft hyphen) go: text search, n-gram
# dedup and tokenizers then see "a b", not "a\xa0b" (trafilatura normalises spaces the same way).
_UNICODE_SPACE = re.compile("[\u00a0\u2002\u2003\u2007\u2009\u200a\u202f]")
_INVISIBLE = re.compile("[\u200b\ufeff\u00ad]")
_INNER_SPACES = re.compile(r"(?<=\S) {2,}")
_TRAILING_SPACES = re.compile(r" +$", re.M)


def _normalize_prose(text: str) -> str:
    text = _INNER_SPACES.sub(" ", _INVISIBLE.sub("", _UNICODE_SPACE.sub(" ", text)))
    return _TRAILING_SPACES.sub("", text)


def normalize_text(text: str) -> str:
    """Unicode NFC (composed characters: "ü", not "u" + combining diaeresis); Unicode spaces -> " " and
    runs of spaces inside a line -> one; code blocks and indentation kept."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if _FENCE not in text:
        return _normalize_prose(text)
    parts = text.split(_FENCE)  # even parts are prose, odd parts are inside a fenced block
    return _FENCE.join(p if i % 2 else _normalize_prose(p) for i, p in enumerate(parts))


def _has_code_or_math(text: str) -> bool:
    """Our markdown kept a code block or TeX: trafilatura's markdown drops code fences, so such a
    page is not routed (a short science page is still better served by our converter)."""
    return _FENCE in text or "$" in text


def _trafilatura_route(html: str, fast: bool) -> str:
    """trafilatura's extraction with plain-text output: its markdown output lost recall on the eval
    set (F1 0.908 vs 0.919 over all pages: ``**`` and escapes split the text)."""
    import trafilatura

    return trafilatura.extract(html, fast=fast, include_tables=True) or ""


def _main_text(tree: object, cfg: ExtractConfig, skip: tuple[str, ...] = ()) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    raw = extract_plain_text(tree, main_content=True, comments=cfg.keep_comments,  # type: ignore[arg-type]
                             post_meta=cfg.keep_post_meta, preserve_formatting="minimal_html",
                             alt_texts=True, skip_elements=skip or None)
    return minimal_html_to_markdown(raw)


def container_text(tree: object, full: str, cfg: ExtractConfig, skip: tuple[str, ...] = ()) -> str | None:
    """Main text of the page's marked article container, when it has one holding at least
    ``container_min_share`` of ``full`` (else None: the marker sits on a teaser or a wrapper)."""
    from resiliparse.parse.html import HTMLTree

    body = tree.body  # type: ignore[attr-defined]
    node = body.query_selector(cfg.content_selectors) if body is not None and cfg.content_selectors else None
    if node is None:
        return None
    sub = _main_text(HTMLTree.parse(node.html), cfg, skip)
    return sub if len(sub) >= cfg.container_min_share * len(full) else None


def skip_selectors(cfg: ExtractConfig) -> tuple[str, ...]:
    """``cfg.prune_selectors`` as resiliparse ``skip_elements`` (skipped inside its C++ traversal: a
    DOM query from Python costs ~5 ms a page): a ``figure`` holding ``prune_keep_inside`` (a table, math)
    is kept; ``form`` is left to :func:`_prune_forms`, which needs the page's text share."""
    out = []
    for sel in (x.strip() for x in cfg.prune_selectors.split(",")):
        if not sel or sel == "form":
            continue
        if sel == "figure" and cfg.prune_keep_inside:
            sel = f"figure:not(:has({cfg.prune_keep_inside}))"
        out.append(sel)
    return tuple(out)


def _prune_forms(tree: Any, html: str, cfg: ExtractConfig, c: StageCounters) -> None:
    """Remove the page's forms, except a form that holds most of the page's text (ASP.NET wraps the whole
    page in one); also counts the figures kept for their tables or math."""
    if cfg.prune_keep_inside and ("<figure" in html or "<FIGURE" in html):
        n = len(tree.body.query_selector_all(f"figure:has({cfg.prune_keep_inside})"))
        if n:
            c.add("extract_figure_kept", n)
    if "<form" not in html and "<FORM" not in html:
        return
    if not any(x.strip() == "form" for x in cfg.prune_selectors.split(",")):
        return
    body_chars: int | None = None
    for el in list(tree.body.get_elements_by_tag_name("form")):  # a live collection: copy before removing
        if body_chars is None:
            body_chars = len(tree.body.text)
        if body_chars and len(el.text) >= cfg.prune_keep_form_share * body_chars:
            c.add("extract_page_form_kept")
            continue
        el.decompose()


def _resiliparse(html: str, cfg: ExtractConfig, counters: StageCounters | None = None) -> str:
    from resiliparse.parse.html import HTMLTree

    c = counters if counters is not None else StageCounters()
    marked = cfg.link_line_max_share_short <= 1 or cfg.link_line_max_share_long <= 1
    if not cfg.keep_image_alt:
        html = drop_images(html)
    tree = HTMLTree.parse(mark_links(html) if marked else html)
    skip = skip_selectors(cfg)
    if cfg.prune_selectors and tree.body is not None:
        _prune_forms(tree, html, cfg, c)
    text = _main_text(tree, cfg, skip)
    sub = container_text(tree, text, cfg, skip)
    if sub is not None:
        c.add("extract_container")
        text = sub
    text, cut = cut_tail_section(text, cfg.tail_cut_after)
    if cut:
        c.add("extract_tail_cut")
    if marked:
        text, n_links = drop_link_lines(text, cfg)
        if n_links:
            c.add("extract_link_lines_dropped", n_links)
    if cfg.drop_cue_headings:
        text, n_cues = drop_cue_headings(text)
        if n_cues:
            c.add("extract_cue_headings_dropped", n_cues)
    text, n_captions = drop_caption_lines(text, cfg.caption_max_chars)
    if n_captions:
        c.add("extract_caption_lines_dropped", n_captions)
    text, trimmed = trim_edges(text, cfg.edge_min_line_chars, cfg.edge_sentence_min_words, cfg.edge_keep_title)
    if trimmed:
        c.add("extract_edges_trimmed")
    return normalize_text(text) if cfg.normalize_text else text


def _trafilatura(html: str, cfg: ExtractConfig) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=cfg.keep_comments, include_tables=True,
                               include_formatting=True, output_format="markdown") or ""


# Deepest DOM accepted. resiliparse's main-content extraction is quadratic in the depth of a nested chain
# (2,000 nested <div> cost 0.2 s, 10,000 cost 4.5 s, 40,000 over a minute, on one page), and a page is at
# most max_html_bytes: at 2048 a page costs seconds, not minutes. Real pages stay far below: over the 990
# pages of the trafilatura eval set the median depth is 25, the 99th percentile 128, the deepest 614
# (nymag.com, unclosed tags).
MAX_DOM_DEPTH = 2048
# Opening tags of non-void elements (a void element never nests): the running count of these minus the
# closing tags bounds the DOM depth from above, except for implied end tags (<p>, <li> left open).
_OPEN_CLOSE = re.compile(r"<(/?)(?!(?:area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr)\b)"
                         r"[a-zA-Z]", re.I)
_DEPTH_STEP = {"": 1, "/": -1}


def dom_too_deep(html: str, limit: int = MAX_DOM_DEPTH) -> bool:
    """Does the page's DOM nest deeper than ``limit``? A tag-count bound first (C-speed regex), then, only
    when that bound exceeds ``limit``, a walk of the parsed tree."""
    from itertools import accumulate

    if html.count("<") <= limit:
        return False
    bound = max(accumulate(map(_DEPTH_STEP.__getitem__, _OPEN_CLOSE.findall(html))), default=0)
    if bound <= limit:
        return False
    from resiliparse.parse.html import HTMLTree

    stack: list[tuple[Any, int]] = [(HTMLTree.parse(html).document, 0)]
    while stack:
        node, d = stack.pop()
        if d > limit:
            return True
        c = node.first_child if node is not None else None
        while c is not None:
            stack.append((c, d + 1))
            c = c.next_sibling
    return False


def extract_html(data: bytes, content_type: str | None, cfg: ExtractConfig,
                 counters: StageCounters) -> Extracted:
    """Raw payload -> :class:`Extracted`, or :class:`ExtractError` with a quarantine reason."""
    if not data:
        raise ExtractError("empty_payload")
    if len(data) > cfg.max_html_bytes:
        raise ExtractError("html_too_large", f"{len(data)} bytes > max_html_bytes={cfg.max_html_bytes}")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime not in cfg.html_content_types:
        raise ExtractError("not_html", f"content type {mime!r}")
    bom = sniff_bom(data)
    wide = (bom is not None and bom[0].startswith(_WIDE)) or (charset_codec(header_charset(content_type))
                                                               or "").startswith(_WIDE)
    if not wide and is_binary(data, cfg.max_binary_ratio):
        raise ExtractError("binary_payload", f"served as {mime or 'no content type'}")
    html, enc = decode_html(data, content_type, counters)
    if wide and (data[:_SNIFF_BYTES].startswith(_BINARY_MAGIC) or is_binary_text(html, cfg.max_binary_ratio)):
        raise ExtractError("binary_payload", f"served as {mime or 'no content type'} ({enc})")
    head = html[:_SNIFF_BYTES * 4]
    t = _TITLE.search(head)
    title = re.sub(r"\s+", " ", html_lib.unescape(t.group(1))).strip()[:1000] if t else ""
    lang = _HTML_LANG.search(head)
    html = _math_to_tex(html)
    if dom_too_deep(html):
        raise ExtractError("html_too_deep", f"DOM deeper than MAX_DOM_DEPTH={MAX_DOM_DEPTH}")
    try:
        if cfg.backend == "trafilatura":
            text = _trafilatura(html, cfg)
        else:
            text = _resiliparse(html, cfg, counters)
            if len(text) < cfg.fallback_min_chars and not _has_code_or_math(text):
                counters.add("extract_fallback_trafilatura")
                alt = _trafilatura_route(html, cfg.fallback_fast)
                if alt.strip():
                    counters.add("extract_fallback_used")
                    text = alt
    except Exception as e:  # a parser bug on hostile markup must not kill the batch
        raise ExtractError("extract_failed", f"{type(e).__name__}: {e}") from None
    if not text.strip():
        raise ExtractError("empty_text")
    for name, value in (("text", text), ("title", title)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:  # Arrow refuses a lone surrogate: it would fail the whole batch
            raise ExtractError("invalid_unicode", f"{name}: {e.reason} at character {e.start}") from None
    return Extracted(text=text, title=title, declared_lang=lang.group(1).lower() if lang else "", encoding=enc)
