"""Page-level PDF parsing with cost-aware routing (issue 4).

Every page gets cheap PyMuPDF features and a cheap markdown rendering; a rule-based router
labels it ``text | math | scan | garbled | empty``; only ``math`` and ``scan`` pages go to an
expensive backend (layout parser / OCR), run in a time- and memory-limited subprocess.
"""
