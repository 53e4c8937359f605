from __future__ import annotations

import pytest

from pipelines.tokenizer.default import default_tokenizer
from pipelines.tokenizer.tokenizer import SciTokenizer


@pytest.fixture(scope="session")
def tok() -> SciTokenizer:
    return default_tokenizer()
