from __future__ import annotations

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from sciforge.model import ModelConfig, get_config
from sciforge.model.config import PRESETS, VOCAB_PAD_MULTIPLE


def _hf_tokenizer(extra_specials: list[str]) -> PreTrainedTokenizerFast:
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "</s>"] + [f"w{i}" for i in range(297)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", eos_token="</s>"
    )
    fast.add_special_tokens({"additional_special_tokens": extra_specials})
    return fast


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_validate_and_round_trip(name):
    cfg = get_config(name)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_from_hf_tokenizer_reads_size_and_special_ids():
    tok = _hf_tokenizer(["<image>", "<ts>"])
    cfg = ModelConfig.from_tokenizer(tok, "tiny")
    assert cfg.vocab_size >= len(tok) and cfg.vocab_size % VOCAB_PAD_MULTIPLE == 0
    assert cfg.image_token_id == tok.convert_tokens_to_ids("<image>")
    assert cfg.ts_token_id == tok.convert_tokens_to_ids("<ts>")
    assert cfg.pad_token_id == tok.pad_token_id and cfg.eos_token_id == tok.eos_token_id
    assert cfg.vision is not None and cfg.time_series is not None


def test_from_tokenizer_without_placeholders_drops_encoders():
    cfg = ModelConfig.from_tokenizer(_hf_tokenizer([]), "tiny")
    assert cfg.vision is None and cfg.time_series is None and cfg.image_token_id is None


def test_from_tokenizer_modality_ranges_size_the_embeddings():
    tok = _hf_tokenizer(["<image>", "<ts>"])
    # A dynamic tokenizer concatenates sub-vocabularies after the base one.
    tok.modality_ranges = {"text": (0, 300), "smiles": (302, 700), "fasta": (700, 1000)}
    cfg = ModelConfig.from_tokenizer(tok, "tiny")
    assert cfg.vocab_size >= 1000
    assert (
        cfg.modality_of(400) == "smiles" and cfg.modality_of(999) == "fasta" and cfg.modality_of(301) is None
    )


class _MinimalTokenizer:
    """Only `vocab_size`: the protocol needs nothing else."""

    vocab_size = 1000

    def __len__(self):
        raise TypeError


def test_from_tokenizer_minimal_protocol():
    cfg = ModelConfig.from_tokenizer(_MinimalTokenizer(), "tiny")
    assert cfg.vocab_size == 1024 and cfg.vision is None


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"num_key_value_heads": 3}, "multiple"),
        ({"num_experts_per_tok": 9}, "num_experts_per_tok"),
        ({"image_token_id": 10_000}, "outside the vocabulary"),
        ({"modality_ranges": {"a": (0, 100), "b": (50, 150)}}, "overlaps"),
        ({"modality_ranges": {"a": (0, 10_000)}}, "outside"),
        ({"capacity_factor": 0.0}, "capacity_factor"),
        ({"image_token_id": None}, "image_token_id"),
    ],
)
def test_bad_configs_raise_clear_errors(changes, match):
    with pytest.raises(ValueError, match=match):
        get_config("tiny", **changes)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown model config"):
        get_config("huge")
