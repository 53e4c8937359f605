"""Seed sources for the small DEFAULT tokenizer (tests, demo): everything it needs is in the repository.

- ``text.txt.gz``: English technical prose, the docstrings of Python's standard library and its
  reference-manual topics (``pydoc_data``), PSF licence; rebuilt by ``python -m
  sciforge.pipelines.tokenizer.seed.build`` (the shipped file is the source of truth, not the running Python).
- SMILES: well-known drug and metabolite structures written out in :mod:`.molecules` (facts, not a
  copied data set), expanded deterministically into randomized SMILES with RDKit.
- proteins: sequences drawn with a fixed seed from the UniProtKB/Swiss-Prot amino-acid composition.
"""
