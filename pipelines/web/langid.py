"""Language identification with py3langid (its model ships inside the wheel: works offline).

py3langid (Lui & Baldwin 2012, numpy port) classifies ~2,400 docs/s on one core here
(STACK.md). Its normalized probability plays the role of FineWeb's fastText language score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.config import LangIdConfig


class _Model:
    _inst: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls._inst is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier  # bundled model

            cls._inst = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return cls._inst


@dataclass(frozen=True)
class LangResult:
    lang: str
    score: float
    keep: bool
    reason: str = ""


def identify(text: str, cfg: LangIdConfig) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of the first ``cfg.max_chars`` characters."""
    lang, score = _Model.get().classify(text[: cfg.max_chars])
    return str(lang), float(score)


def check_language(text: str, cfg: LangIdConfig, counters: StageCounters) -> LangResult:
    lang, score = identify(text, cfg)
    counters.add(f"lang_{lang}")
    if lang not in cfg.languages:
        return LangResult(lang, score, False, "language_not_kept")
    if score < cfg.min_score:
        return LangResult(lang, score, False, "language_low_confidence")
    return LangResult(lang, score, True)
