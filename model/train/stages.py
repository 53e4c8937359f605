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

from sciforge.model.config import ModelConfig, get_config
from sciforge.model.model import SciForgeModel
from sciforge.model.train.config import TrainConfig


def load_tokenizer(spec: str) -> Any:
    if spec == "default":
        from sciforge.pipelines.tokenizer.default import default_tokenizer

        return default_tokenizer()
    from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer

    return SciTokenizer.load(spec)


def build_model(cfg: TrainConfig, tokenizer: Any, text_only: bool) -> SciForgeModel:
    if Path(cfg.model).is_dir():
        from sciforge.model.checkpoint import load_pretrained

        model = load_pretrained(cfg.model)
        assert isinstance(model, SciForgeModel)
        if model.config.vocab_size < len(tokenizer):
            raise ValueError(f"{cfg.model}: vocab {model.config.vocab_size} < tokenizer's {len(tokenizer)}")
        if not text_only and (model.config.vision is None or model.config.time_series is None):
            model = attach_encoders(model, cfg.seed)
        return model.train()
    base: ModelConfig = get_config(cfg.model)
    overrides = dict(cfg.model_overrides)
    if text_only:
        overrides.setdefault("vision", None)
        overrides.setdefault("time_series", None)
    mcfg = ModelConfig.from_tokenizer(tokenizer, base, **overrides)
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every run
    return SciForgeModel(mcfg).train()


def attach_encoders(model: SciForgeModel, seed: int) -> SciForgeModel:
    """A text-only LM (a CPT export) plus freshly initialised vision and time-series encoders.

    Intern-S1 builds its multimodal model from a pre-trained LLM, a vision encoder and a time-series
    encoder, and trains them together in multimodal pre-training. The encoder sizes come from the preset
    the LM was built from (`config.name`); the LM's weights are kept exactly.
    """
    mcfg = model.config
    try:
        preset = get_config(mcfg.name)
    except ValueError as err:
        raise ValueError(f"the checkpoint is text-only and its preset {mcfg.name!r} is unknown, so there is no "
                         "encoder size to attach; start mmpt from a preset or a multimodal checkpoint") from err
    if mcfg.image_token_id is None or mcfg.ts_token_id is None:
        raise ValueError("the checkpoint's tokenizer has no <image>/<ts> token: cannot attach encoders")
    new_cfg = mcfg.replace(vision=mcfg.vision or preset.vision, time_series=mcfg.time_series or preset.time_series)
    torch.manual_seed(seed)  # the same encoder initialisation on every rank and every run
    out = SciForgeModel(new_cfg)
    missing, unexpected = out.load_state_dict(model.state_dict(), strict=False)
    stray = [k for k in missing if not k.startswith(("vision_model.", "time_series_model."))]
    if unexpected or stray:
        raise ValueError(f"attaching encoders: unexpected={unexpected[:5]} missing LM weights={stray[:5]}")
    return out


def build_stage(cfg: TrainConfig) -> tuple[SciForgeModel, Any]:
    source: Any
    if cfg.stage == "cpt":
        from sciforge.model.train.data import CorpusSource

        if not cfg.data.ref:
            raise ValueError("cpt needs data.ref (a corpus snapshot, e.g. corpus/snapshot/<version>)")
        from sciforge.pipelines.config import get_settings

        settings = get_settings()  # the data root (local or s3://) and its credentials by default
        root = cfg.data.root or str(settings.data_root)
        source = CorpusSource(root, cfg.data.ref, settings.storage_options() if "://" in root else None)
        return build_model(cfg, source.tokenizer(), text_only=True), source
    tokenizer = load_tokenizer(cfg.data.tokenizer)
    if cfg.stage == "sft":
        from sciforge.model.train.sft import SFTSource

        if not cfg.data.path:
            raise ValueError("sft needs data.path (a JSONL file of chat records)")
        model = build_model(cfg, tokenizer, text_only=True)
        return model, SFTSource.from_jsonl(cfg.data.path, tokenizer, cfg.data.seq_len, cfg.data.verifier)
    from sciforge.model.train.multimodal import MultimodalSource

    model = build_model(cfg, tokenizer, text_only=False)
    source = MultimodalSource.generate(model, tokenizer, cfg.data.num_samples, cfg.data.seq_len, cfg.seed)
    return model, source
