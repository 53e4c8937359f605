"""Document quality rules in the spirit of Gopher, C4 and FineWeb, each counted on its own.

The rules and default thresholds follow datatrove's ``GopherQualityFilter``,
``GopherRepetitionFilter``, ``C4QualityFilter`` and ``FineWebQualityFilter`` (see the citations
in :class:`sciforge.pipelines.web.config.QualityConfig`); this is an independent implementation over
plain strings. :func:`check_quality` returns every rule a page fails (each counted as a metric
``quality_<rule>``); the page is dropped with the FIRST failed rule as its reason, so the
``dropped`` counters add up to the number of pages dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.config import QualityConfig

# Gopher's stop words (Rae et al. 2021, App. A.1.1).
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
# C4's terminal punctuation and policy-line markers (Raffel et al. 2020; datatrove c4_filters).
TERMINAL_PUNCT = (".", "!", "?", '"', "'", "\u201d", ":", ";", "\u3002")
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")
BULLETS = ("-", "*", "\u2022", "\u2023", "\u25e6", "\u2043", "\u2219", "\u25aa", "\u25cf")
ELLIPSES = ("...", "\u2026")
_WORD = re.compile(r"\w+", re.U)
_SENTENCE_END = re.compile(r"[.!?\u3002](?:\s|$)")
_PARAGRAPHS = re.compile(r"\n{2,}")


@dataclass
class QualityResult:
    failed: list[str]
    score: float  # share of rules passed (0..1): a soft page-quality score for the domain statistics

    @property
    def keep(self) -> bool:
        return not self.failed

    @property
    def reason(self) -> str:
        return f"quality_{self.failed[0]}" if self.failed else ""


def _dup_stats(items: list[str]) -> tuple[float, float]:
    """(share of items that are repeats, share of characters in repeated items) -- Gopher's measures."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_n = dup_chars = total_chars = 0
    for it in items:
        total_chars += len(it)
        if it in seen:
            dup_n += 1
            dup_chars += len(it)
        else:
            seen.add(it)
    return dup_n / len(items), dup_chars / max(1, total_chars)


def _top_ngram_frac(words: list[str], n: int) -> float:
    """Share of characters covered by the most frequent n-gram (Gopher)."""
    if len(words) < n:
        return 0.0
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    if count < 2:
        return 0.0
    total = sum(len(w) for w in words)
    return sum(len(w) for w in gram) * count / max(1, total)


def _dup_ngram_frac(words: list[str], n: int) -> float:
    """Share of characters inside n-grams that occur more than once, each word counted once (Gopher)."""
    if len(words) < n:
        return 0.0
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(words)
    for i, g in enumerate(grams):
        if counts[g] > 1:
            for j in range(i, i + n):
                covered[j] = True
    total = sum(len(w) for w in words)
    return sum(len(w) for w, c in zip(words, covered, strict=True) if c) / max(1, total)


def quality_rules(text: str, cfg: QualityConfig) -> list[str]:
    """Names of the rules ``text`` fails, in a fixed order (cheapest first)."""
    failed: list[str] = []
    words = text.split()
    n = len(words)
    # Gopher quality
    if n < cfg.min_words:
        return ["too_few_words"]  # every ratio below is noise on a tiny page
    if n > cfg.max_words:
        failed.append("too_many_words")
    alpha_words = [w for w in _WORD.findall(text) if any(ch.isalpha() for ch in w)]
    avg_len = sum(len(w) for w in alpha_words) / max(1, len(alpha_words))
    if not cfg.min_avg_word_length <= avg_len <= cfg.max_avg_word_length:
        failed.append("avg_word_length")
    symbols = text.count("#") + sum(text.count(e) for e in ELLIPSES)
    if symbols / n > cfg.max_symbol_word_ratio:
        failed.append("symbol_word_ratio")
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if lines:
        if sum(ln.startswith(BULLETS) for ln in lines) / len(lines) > cfg.max_bullet_lines_ratio:
            failed.append("bullet_lines")
        if sum(ln.endswith(ELLIPSES) for ln in lines) / len(lines) > cfg.max_ellipsis_lines_ratio:
            failed.append("ellipsis_lines")
    if sum(any(ch.isalpha() for ch in w) for w in words) / n < cfg.max_non_alpha_words_ratio:
        failed.append("non_alpha_words")
    lower = [w.lower().strip(".,;:!?\"'()") for w in words]
    if sum(w in GOPHER_STOP_WORDS for w in lower) < cfg.min_stop_words:
        failed.append("stop_words")
    # Gopher repetition
    line_dup, line_char_dup = _dup_stats(lines)
    paras = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    para_dup, para_char_dup = _dup_stats(paras)
    if line_dup > cfg.dup_line_frac:
        failed.append("dup_lines")
    if para_dup > cfg.dup_para_frac:
        failed.append("dup_paragraphs")
    if line_char_dup > cfg.dup_line_char_frac:
        failed.append("dup_line_chars")
    if para_char_dup > cfg.dup_para_char_frac:
        failed.append("dup_paragraph_chars")
    for k, thr in cfg.top_n_grams:
        if _top_ngram_frac(lower, k) > thr:
            failed.append(f"top_{k}gram")
            break
    for k, thr in cfg.dup_n_grams:
        if _dup_ngram_frac(lower, k) > thr:
            failed.append(f"dup_{k}gram")
            break
    # C4
    if len(_SENTENCE_END.findall(text)) < cfg.c4_min_sentences:
        failed.append("c4_few_sentences")
    if any(len(w) > cfg.c4_max_word_length for w in words):
        failed.append("c4_long_word")
    low = text.lower()
    if cfg.c4_lorem_ipsum and "lorem ipsum" in low:
        failed.append("c4_lorem_ipsum")
    if cfg.c4_curly_bracket and "{" in text:
        failed.append("c4_curly_bracket")
    # FineWeb
    if lines:
        if sum(ln.endswith(TERMINAL_PUNCT) for ln in lines) / len(lines) < cfg.fineweb_line_punct_thr:
            failed.append("fineweb_line_punct")
        short = sum(len(ln) <= cfg.fineweb_short_line_length for ln in lines)
        if short / len(lines) > cfg.fineweb_short_line_thr:
            failed.append("fineweb_short_lines")
        if text.count("\n") / n > cfg.fineweb_new_line_ratio:
            failed.append("fineweb_new_lines")
    if line_char_dup > cfg.fineweb_char_dup_ratio:
        failed.append("fineweb_char_dup")
    return failed


# Number of rules quality_rules can fail on a page of normal length (for the soft score).
N_RULES = 22


def check_quality(text: str, cfg: QualityConfig, counters: StageCounters) -> QualityResult:
    failed = quality_rules(text, cfg)
    for rule in failed:
        counters.add(f"quality_{rule}")
    score = 0.0 if failed[:1] == ["too_few_words"] else max(0.0, 1 - len(failed) / N_RULES)
    return QualityResult(failed, round(score, 6))


def is_policy_line(line: str) -> bool:
    low = line.lower()
    return "javascript" in low or any(s in low for s in POLICY_SUBSTRINGS)
