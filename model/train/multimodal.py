"""Multimodal pre-training samples, generated: molecules drawn by RDKit with their names and SMILES,
and signals with a description of their shape. Loss on text tokens only, each sample weighted by
l^-1/2 of its number of text targets (Intern-S1: "square averaging", between per-token and per-sample
averaging, so long samples do not dominate and short ones are not over-weighted).

Each row holds one sample: text, one `<image>` or `<ts>` placeholder (expanded to the encoder's
token count) and more text, then `<|endoftext|>`, padded to `seq_len`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sciforge.pipelines.corpus.reader import IGNORE_INDEX
from sciforge.pipelines.counters import StageCounters

# Well-known molecules: (name, SMILES). Names and structures from PubChem.
MOLECULES: tuple[tuple[str, str], ...] = (
    ("water", "O"), ("methane", "C"), ("ethanol", "CCO"), ("methanol", "CO"), ("acetic acid", "CC(=O)O"),
    ("acetone", "CC(C)=O"), ("benzene", "c1ccccc1"), ("toluene", "Cc1ccccc1"), ("phenol", "Oc1ccccc1"),
    ("pyridine", "c1ccncc1"), ("aspirin", "CC(=O)Oc1ccccc1C(=O)O"), ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"), ("paracetamol", "CC(=O)Nc1ccc(O)cc1"),
    ("glycine", "NCC(=O)O"), ("alanine", "CC(N)C(=O)O"), ("urea", "NC(N)=O"), ("glucose", "OCC1OC(O)C(O)C(O)C1O"),
    ("naphthalene", "c1ccc2ccccc2c1"), ("cyclohexane", "C1CCCCC1"), ("ethylene", "C=C"), ("acetylene", "C#C"),
    ("formaldehyde", "C=O"), ("nicotine", "CN1CCCC1c1cccnc1"),
)
SIGNAL_KINDS = ("sine", "square", "sawtooth", "damped sine", "chirp", "step")
# ImageNet normalisation, which InternViT's preprocessing uses.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


def render_molecule(smiles: str, size: int) -> torch.Tensor:
    """(3, size, size) normalised pixels of an RDKit 2-D depiction."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    img = np.asarray(Draw.MolToImage(mol, size=(size, size)).convert("RGB"), dtype=np.float32) / 255.0
    x = (img - np.asarray(IMAGE_MEAN, np.float32)) / np.asarray(IMAGE_STD, np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy())


def make_signal(kind: str, freq: float, rate: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * freq * t
    if kind == "sine":
        y = np.sin(phase)
    elif kind == "square":
        y = np.sign(np.sin(phase) + 1e-12)
    elif kind == "sawtooth":
        y = 2 * (t * freq - np.floor(0.5 + t * freq))
    elif kind == "damped sine":
        y = np.exp(-t / (seconds / 3)) * np.sin(phase)
    elif kind == "chirp":  # frequency rises linearly from freq to 3 * freq
        y = np.sin(2 * np.pi * (freq * t + freq * t**2 / seconds))
    elif kind == "step":
        y = (t >= seconds / 2).astype(np.float64)
    else:
        raise ValueError(f"unknown signal kind {kind!r}")
    return (y + 0.02 * rng.standard_normal(len(t))).astype(np.float32)[:, None]


def describe_signal(kind: str, freq: float, rate: float, seconds: float) -> str:
    where = f"sampled at {rate:g} Hz for {seconds:g} s"
    if kind == "step":
        return f"A step signal that jumps from 0 to 1 halfway through, {where}."
    if kind == "chirp":
        return f"A chirp whose frequency rises from {freq:g} Hz to {3 * freq:g} Hz, {where}."
    cycles = freq * seconds
    return f"A {kind} wave at {freq:g} Hz ({cycles:g} cycles), {where}."


@dataclass
class MMSample:
    ids: list[int]  # placeholders already expanded, ends with <|endoftext|>
    image: torch.Tensor | None = None
    series: torch.Tensor | None = None
    rate: float = 0.0
    text: str = ""


def sample_weight(n_text_targets: int) -> float:
    """Intern-S1's per-sample loss weight l^-1/2 (l = text tokens that are targets)."""
    return 1.0 / math.sqrt(max(1, n_text_targets))


class MultimodalSource:
    def __init__(self, samples: Sequence[MMSample], tokenizer: Any, seq_len: int, pad_id: int,
                 image_id: int, ts_id: int, counters: StageCounters) -> None:
        if not samples:
            raise ValueError(f"no multimodal sample fits in seq_len={seq_len} ({counters.to_dict()})")
        self.samples, self._tokenizer, self.seq_len = list(samples), tokenizer, seq_len
        self.pad_id, self.image_id, self.ts_id, self.counters = pad_id, image_id, ts_id, counters

    @classmethod
    def generate(cls, model: Any, tokenizer: Any, n: int, seq_len: int, seed: int) -> MultimodalSource:
        """`n` samples, alternating molecule images and signals, deterministic in `seed`."""
        cfg = model.config
        if cfg.vision is None or cfg.time_series is None:
            raise ValueError("multimodal pre-training needs a model with vision and time-series encoders")
        rng = np.random.default_rng(seed)
        counters = StageCounters()
        samples = []
        eod = int(tokenizer.eod_id)
        for i in range(n):
            counters.input += 1
            if i % 2 == 0:
                name, smi = MOLECULES[int(rng.integers(len(MOLECULES)))]
                before, after = "Structure: ", f" This is {name}; its SMILES is {smi}."
                ids = (tokenizer.encode(before) + [cfg.image_token_id] + tokenizer.encode(after) + [eod])
                sample = MMSample(model.expand_placeholders(ids), image=render_molecule(
                    smi, cfg.vision.image_size), text=before + "<image>" + after)
            else:
                kind = SIGNAL_KINDS[int(rng.integers(len(SIGNAL_KINDS)))]
                rate = float(rng.choice([50.0, 100.0, 200.0]))
                seconds = float(rng.choice([1.0, 2.0]))
                freq = float(rng.choice([1.0, 2.0, 5.0]))
                before, after = "Signal: ", " " + describe_signal(kind, freq, rate, seconds)
                series = torch.from_numpy(make_signal(kind, freq, rate, seconds, rng))
                ids = tokenizer.encode(before) + [cfg.ts_token_id] + tokenizer.encode(after) + [eod]
                sample = MMSample(model.expand_placeholders(ids, [(series.shape[0], rate)]), series=series,
                                  rate=rate, text=before + "<ts>" + after)
            if len(sample.ids) > seq_len:
                counters.drop("too_long")
                continue
            counters.kept += 1
            samples.append(sample)
        return cls(samples, tokenizer, seq_len, int(tokenizer.pad_id), int(cfg.image_token_id),
                   int(cfg.ts_token_id), counters)

    def __len__(self) -> int:
        return len(self.samples)

    def collate(self, rows: Sequence[int]) -> dict[str, Any]:
        b = len(rows)
        ids = torch.full((b, self.seq_len), self.pad_id, dtype=torch.long)
        weights = torch.zeros((b, self.seq_len), dtype=torch.float32)
        images, series, rates = [], [], []
        for r, i in enumerate(rows):
            s = self.samples[i]
            ids[r, : len(s.ids)] = torch.tensor(s.ids)
            text = sum(1 for t in s.ids[1:] if t not in (self.image_id, self.ts_id))  # targets after shift
            weights[r, : len(s.ids)] = sample_weight(text)
            if s.image is not None:
                images.append(s.image)
            if s.series is not None:
                series.append(s.series)
                rates.append(s.rate)
        labels = ids.masked_fill(ids == self.pad_id, IGNORE_INDEX)
        out: dict[str, Any] = {"input_ids": ids, "labels": labels, "label_weights": weights,
                               "attention_mask": (ids != self.pad_id).long()}
        if images:
            out["pixel_values"] = torch.stack(images)
        if series:
            out["time_series"], out["ts_sampling_rates"] = series, rates
        return out

    def tokenizer(self) -> Any:
        return self._tokenizer
