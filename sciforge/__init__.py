"""sciforge: an open reproduction of the Intern-S1 data-and-training pipeline.

The layers (pipelines, jobs, dags, model, kernels, infra) sit beside this package; `sciforge.cli` is the
composition root above all of them, the only code that imports every layer.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sciforge")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"
