"""sciforge pipelines: engine-free stage logic, storage, datasets, configuration and CLI."""

__version__ = "0.1.0"
