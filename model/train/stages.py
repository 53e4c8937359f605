"""Stage wiring: which model and which sample source each stage trains on.

- cpt:  text rows of a corpus snapshot (`data.root` + `data.ref`); a preset model is sized to the
        snapshot's tokenizer and built text-only; a checkpoint folder continues from its weights.
- mmpt: generated interleaved image-text (RDKit molecules) and series-text (signals) samples, loss on
        text tokens weighted per sample by l^-1/2 (Intern-S1).
- sft:  chat records (`data.path`), loss on assistant turns, packed rows, best-of-N selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model.config import ModelConfig, get_config
from model.model import SciForgeModel
from model.train.config import TrainConfig


def load_tokenizer(spec: str) -> Any:
    if spec == "default":
        from pipelines.tokenizer.default import default_tokenizer

        return default_tokenizer()
    from pipelines.tokenizer.tokenizer import SciTokenizer

    return SciTokenizer.load(spec)


def build_model(cfg: TrainConfig, tokenizer: Any, text_only: bool) -> SciForgeModel:
    if Path(cfg.model).is_dir():
        from model.checkpoint import load_pretrained

        model = load_pretrained(cfg.model)
        assert isinstance(model, SciForgeModel)
        if model.config.vocab_size < len(tokenizer):
            raise ValueError(f"{cfg.model}: vocab {model.config.vocab_size} < tokenizer's {len(tokenizer)}")
        return model.train()
    base: ModelConfig = get_config(cfg.model)
    overrides = dict(cfg.model_overrides)
    if text_only:
        overrides.setdefault("vision", None)
        overrides.setdefault("time_series", None)
    mcfg = ModelConfig.from_tokenizer(tokenizer, base, **overrides)
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every run
    return SciForgeModel(mcfg).train()


def build_stage(cfg: TrainConfig) -> tuple[SciForgeModel, Any]:
    source: Any
    if cfg.stage == "cpt":
        from model.train.data import CorpusSource

        if not cfg.data.ref:
            raise ValueError("cpt needs data.ref (a corpus snapshot, e.g. corpus/snapshot/<version>)")
        from pipelines.config import get_settings

        settings = get_settings()  # the data root (local or s3://) and its credentials by default
        root = cfg.data.root or str(settings.data_root)
        source = CorpusSource(root, cfg.data.ref, settings.storage_options() if "://" in root else None)
        return build_model(cfg, source.tokenizer(), text_only=True), source
    tokenizer = load_tokenizer(cfg.data.tokenizer)
    if cfg.stage == "sft":
        from model.train.sft import SFTSource

        if not cfg.data.path:
            raise ValueError("sft needs data.path (a JSONL file of chat records)")
        model = build_model(cfg, tokenizer, text_only=True)
        return model, SFTSource.from_jsonl(cfg.data.path, tokenizer, cfg.data.seq_len, cfg.data.verifier)
    from model.train.multimodal import MultimodalSource

    model = build_model(cfg, tokenizer, text_only=False)
    source = MultimodalSource.generate(model, tokenizer, cfg.data.num_samples, cfg.data.seq_len, cfg.seed)
    return model, source
