"""Training stages on DeepSpeed: continued pre-training (CPT), multimodal pre-training (MMPT) and SFT.

    from sciforge.model.train import TrainConfig, train
    summary = train(TrainConfig.load("model/train/configs/cpt_tiny.yaml"))   # or `sciforge train cpt --config ...`

Layout: `config` (typed options), `schedules` (WSD learning rate, batch-size warm-up with LR scaling),
`engine` (distributed init + DeepSpeed engine), `data` / `sft` / `multimodal` (sample sources),
`checkpointing` (atomic DeepSpeed checkpoints + safetensors export), `metrics` (JSONL, TensorBoard,
PNG, progress bar), `trainer` (the loop, exact resume), `stages` (cpt / mmpt / sft wiring), `cli`.
"""

from __future__ import annotations

from sciforge.model.train.config import TrainConfig
from sciforge.model.train.trainer import train

__all__ = ["TrainConfig", "train"]
