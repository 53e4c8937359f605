"""Hugging Face conventions: a ``transformers`` ``PreTrainedTokenizer`` over :class:`SciTokenizer`.

A saved tokenizer folder holds ``sciforge_tokenizer.json`` (everything, one file), ``text_bpe.json``
(the text BPE alone, loadable by ``tokenizers``; deliberately not ``tokenizer.json``), ``tokenizer_config.json`` with an ``auto_map`` and a
two-line ``tokenization_sciforge.py``, so with sciforge installed::

    AutoTokenizer.from_pretrained(folder, trust_remote_code=True)

returns a :class:`SciforgeTokenizer` whose ids are exactly ``SciTokenizer.encode``'s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizer

from sciforge.pipelines.tokenizer.tokenizer import (
    CONFIG_FILE,
    EOD,
    IM_END,
    IM_START,
    IMAGE,
    PAD,
    TS,
    SciTokenizer,
)

SHIM = "tokenization_sciforge.py"
# ChatML, as model/train/sft.py trains it: `apply_chat_template` renders text with the turn markers, which
# `tokenize` maps to their special ids (the Hugging Face convention for chat tokenizers).
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
_MARKERS = re.compile(f"({re.escape(IM_START)}|{re.escape(IM_END)})")
_SHIM_CODE = '''"""Loads the sciforge dynamic tokenizer (needs the `sciforge` package installed)."""
from sciforge.pipelines.tokenizer.hf import SciforgeTokenizer

__all__ = ["SciforgeTokenizer"]
'''


class SciforgeTokenizer(PreTrainedTokenizer):
    """``transformers`` front end; all the work is done by :class:`SciTokenizer`."""

    vocab_files_names = {"sciforge_file": CONFIG_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, sciforge_file: str | None = None, sci: SciTokenizer | None = None, **kwargs: Any) -> None:
        if sci is None:
            if sciforge_file is None:
                raise ValueError("give sciforge_file= (a sciforge_tokenizer.json) or sci=")
            sci = SciTokenizer.load(sciforge_file)
        self.sci = sci
        self._names = [sci.id_to_token(i) for i in range(sci.vocab_size)]
        self._ids: dict[str, int] = {}
        for i, name in enumerate(self._names):
            self._ids.setdefault(name, i)
        for tok, i in sci.special_ids.items():
            self._ids[tok] = i
        kwargs.setdefault("eos_token", EOD)
        kwargs.setdefault("pad_token", PAD)
        kwargs.setdefault("extra_special_tokens", {"image_token": IMAGE, "ts_token": TS})
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        kwargs.setdefault("chat_template", CHAT_TEMPLATE)
        super().__init__(**kwargs)

    @property
    def vocab_size(self) -> int:
        return self.sci.vocab_size

    def __len__(self) -> int:
        return self.sci.vocab_size

    def get_vocab(self) -> dict[str, int]:
        return dict(self._ids)

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:  # type: ignore[override]
        """Chat turn markers in the text become their special tokens (as in any HF chat tokenizer); the
        pieces between them are encoded by :class:`SciTokenizer` (with its modality detection)."""
        out: list[str] = []
        for piece in _MARKERS.split(text):
            if piece in (IM_START, IM_END) and piece in self.sci.special_ids:
                out.append(piece)
            elif piece:
                out += [self._names[i] for i in self.sci.encode(piece)]
        return out

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        return self.tokenize(text)

    def _convert_token_to_id(self, token: str) -> int:
        return self._ids[token]

    def _convert_id_to_token(self, index: int) -> str:
        return self._names[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self.sci.decode([self._ids[t] for t in tokens])

    def _decode(self, token_ids: int | list[int], skip_special_tokens: bool = False, **kwargs: Any) -> str:  # type: ignore[override]
        ids = [token_ids] if isinstance(token_ids, int) else list(token_ids)
        return self.sci.decode(ids, skip_special_tokens=skip_special_tokens)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        name = f"{filename_prefix}-{CONFIG_FILE}" if filename_prefix else CONFIG_FILE
        path = Path(save_directory) / name
        path.write_bytes(self.sci.to_json_bytes())
        (Path(save_directory) / SHIM).write_text(_SHIM_CODE)
        return (str(path),)


def write_hf_files(tok: SciTokenizer, directory: Path) -> None:
    """The ``transformers`` side files of a saved :class:`SciTokenizer` folder."""
    config = {
        "tokenizer_class": "SciforgeTokenizer",
        "auto_map": {"AutoTokenizer": ["tokenization_sciforge.SciforgeTokenizer", None]},
        "sciforge_file": CONFIG_FILE,
        "eos_token": EOD,
        "pad_token": PAD,
        "extra_special_tokens": {"image_token": IMAGE, "ts_token": TS},
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
        "sciforge_hash": tok.hash,
        "modality_ranges": {k: list(v) for k, v in tok.modality_ranges.items()},
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (directory / "special_tokens_map.json").write_text(
        json.dumps({"eos_token": EOD, "pad_token": PAD}, indent=2, sort_keys=True) + "\n")
    (directory / SHIM).write_text(_SHIM_CODE)
