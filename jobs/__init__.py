"""Spark drivers: read datasets, map pipelines functions over Arrow batches, write datasets."""
