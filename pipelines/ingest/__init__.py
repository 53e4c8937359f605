"""Ingest: register raw inputs (WARC records, PDFs, JSONL documents) as raw datasets."""
