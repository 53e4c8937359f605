"""Typed options of the corpus snapshot stage (``stages: {corpus: {...}}``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CorpusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "default" = the seed tokenizer (sciforge.pipelines.tokenizer.default); otherwise a saved tokenizer folder.
    tokenizer: str = "default"
    # Tokens per training sequence. 4,096 is Qwen3's (Intern-S1's base) general pre-training stage length.
    seq_len: int = Field(4096, ge=2)
    # Target token share per domain (the page `field`, "" counted as "other"). Listed domains share what the
    # unlisted ones leave; unlisted domains keep their natural share. Empty = natural mixture.
    mixture: dict[str, float] = Field(default_factory=dict)
    # Up- and down-sampling happen by repeating or dropping whole documents. More than 4 epochs of the
    # same data stops helping (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models").
    max_repeat: float = Field(4.0, gt=0)
    domain_column: str = "field"
    unknown_domain: str = "other"
    # Shard size target in tokens: 2^26 uint32 tokens = 256 MiB per .bin (Megatron-style shards are
    # 100 MB-1 GB: large enough for sequential reads, small enough to move and checksum).
    shard_tokens: int = Field(1 << 26, ge=1)
    # Fixed shard count (None: estimated from the input size and shard_tokens).
    num_shards: int | None = Field(None, ge=1)
    # Documents with fewer tokens than this are dropped as `too_short` (an empty page teaches nothing).
    min_doc_tokens: int = Field(1, ge=1)
    # Pages of one document are joined with this text between them (a paragraph break).
    page_separator: str = "\n\n"
    seed: int = 20250815

    @field_validator("mixture")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("mixture weights must be >= 0")
        if v and sum(v.values()) <= 0:
            raise ValueError("mixture weights must not all be 0")
        return v
