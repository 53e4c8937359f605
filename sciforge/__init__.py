"""sciforge: an open reproduction of the Intern-S1 data-and-training pipeline.

One import namespace for every layer: ``sciforge.pipelines`` (pure stage functions), ``sciforge.jobs``
(Spark wiring), ``sciforge.launch`` (running a job or a training stage), ``sciforge.dags`` (Airflow),
``sciforge.model`` and ``sciforge.kernels`` (training), ``sciforge.infra`` (configuration files and local
services), ``sciforge.fixtures`` (demo and test data). In a source checkout ``sciforge/<layer>`` links to
the top-level ``<layer>/`` folder; the wheel holds the layers inside this package. `sciforge.cli` is the
composition root above all of them, the only code that imports every layer.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sciforge")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"
