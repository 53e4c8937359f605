"""Global page-level deduplication: normalize -> shingles -> MinHash -> LSH bands ->
candidate edges -> connected components -> keep one representative per component.

Everything here is engine-free (numpy / pyarrow / pandas); ``jobs/dedup.py`` wires it into Spark.
"""
