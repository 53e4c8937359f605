from __future__ import annotations

import pytest

from sciforge.pipelines.tokenizer.default import default_tokenizer
from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer


@pytest.fixture(scope="session")
def tok() -> SciTokenizer:
    return default_tokenizer()
