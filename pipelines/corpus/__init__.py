"""Corpus snapshots: tokenize clean pages, mix by domain, pack into memory-mapped uint32 token shards."""
