"""Shared fixtures for the model tests: tiny configs, one intra-op thread."""

from __future__ import annotations

import pytest
import torch

from sciforge.model import build_model, get_config


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny GEMMs gain nothing from more, and the CI machines are shared (2 cores).
    Restored afterwards so other test areas keep their own setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_cfg():
    return get_config("tiny")


@pytest.fixture
def text_cfg():
    """Text-only tiny config (no encoders), still with a dense first layer and a shared expert."""
    return get_config("tiny", vision=None, time_series=None)


@pytest.fixture
def tiny_model(tiny_cfg):
    return build_model(tiny_cfg, seed=0).eval()


@pytest.fixture
def text_model(text_cfg):
    return build_model(text_cfg, seed=0).eval()
