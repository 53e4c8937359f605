"""Typed options of the dedup stage (``settings.stage("dedup")``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # -- shingling ------------------------------------------------------------------------
    # Word 5-grams: datasketch's and text-dedup's MinHash examples and datatrove's
    # MinhashConfig (n_grams=5) all use 5; also the reference measurement.
    ngram: int = Field(5, ge=1, le=64)
    # Numbers policy. The exact-duplicate hash always keeps the numbers: two pages that differ
    # only in their values (the pages of a data volume, tables of measurements) are science
    # content, never exact duplicates. For the near-duplicate shingles:
    #  zero_in_prose: every digit -> 0 on prose pages only (digits at most
    #                 `prose_max_digit_share` of the page's non-space characters), so page
    #                 numbers, years and counters do not hide a repeated template page
    #                 (copyright page, front matter), while number-dense pages (tables,
    #                 data listings) keep their values and differ when the values differ;
    #  zero:          every digit -> 0 on every page (datatrove's norm_numbers=True): a data
    #                 volume's pages that differ only in their values collapse into one;
    #  keep:          digits as they are (a template page with a running year and page number
    #                 mid-text falls below the threshold: J 0.68 for a 46-word page).
    # Measured in tests/dedup/test_features.py and test_local.py (data volume vs templates).
    numbers: Literal["zero_in_prose", "zero", "keep"] = "zero_in_prose"
    # A copyright/front-matter page has a few percent digits (year, page number); a table of
    # values has most of its characters digits. 0.25 separates the two with a wide margin.
    prose_max_digit_share: float = Field(0.25, ge=0.0, le=1.0)
    # Pages longer than this (normalized characters) are MinHashed on their first
    # `max_minhash_chars` only (counted as `minhash_truncated`). The exact hash and the exact
    # Jaccard verification (`verify="exact"`) cover the whole text in both engines, so two
    # huge pages sharing only a prefix are candidates but not duplicates. 1M chars is ~250
    # dense PDF pages: no real page is that long, so this only bounds the MinHash cost.
    max_minhash_chars: int = Field(1_000_000, ge=1_000)

    # -- MinHash / LSH --------------------------------------------------------------------
    num_perm: int = Field(128, ge=2, le=1024)  # datasketch MinHash default
    seed: int = 1  # datasketch MinHash default seed (same permutations as datasketch)
    # Jaccard threshold of a near duplicate: the target; datasketch's MinHashLSH
    # examples and the Intern-S1-style "near identical page" both sit at 0.8.
    threshold: float = Field(0.8, gt=0.0, lt=1.0)
    # Weights of the false-positive / false-negative areas when choosing (bands, rows), the
    # criterion of datasketch's MinHashLSH (its defaults are 0.5/0.5 -> 9x13 at 0.8). Every
    # candidate is verified below, so a false positive costs one comparison while a false
    # negative is a missed duplicate: weight misses 4:1 (-> 12x10 at 0.8). Measured on 20NG
    # + planted near duplicates (bench/dedup_eval.py): pair recall 0.80 -> 0.96, F1 0.89 -> 0.98.
    false_positive_weight: float = Field(0.2, ge=0.0)
    false_negative_weight: float = Field(0.8, ge=0.0)
    bands: int | None = Field(None, ge=1, description="override the optimal (b, r)")
    rows: int | None = Field(None, ge=1)
    # Candidate edges of a shared LSH bucket: every member against the bucket's
    # `lsh_centers` members of smallest content hash (a total order on content, so both
    # engines and every input order verify the same pairs); a bucket of up to
    # `lsh_centers` + 1 members gets all its pairs. One centre (a star) misses true pairs
    # whenever the centre is far from a member (a boilerplate paragraph shared by documents
    # with tails of different lengths); the edges of a bucket are at most lsh_centers x size.
    # 8: on 300 pages sharing one paragraph with own tails (one true component), 1 centre
    # keeps 24 pages, 3 keep 20, 8 keep 18, the same as all pairs of every bucket
    # (tests/dedup/test_engines.py, pipelines/dedup/README.md). Ordinary buckets hold
    # 2-3 pages: there 8 centres cost nothing more than one.
    lsh_centers: int = Field(8, ge=1)
    # Verify every LSH candidate edge before it joins a component: by the exact Jaccard of the
    # two shingle sets (no estimator noise: the edge exists iff J >= threshold; ships both
    # texts of each candidate), by the MinHash estimate (cheaper; std ~0.035 at J=0.8 with 128
    # permutations, so pairs near the threshold flip), or not at all (raw LSH collisions).
    verify: Literal["none", "estimate", "exact"] = "exact"
    # -- decisions ------------------------------------------------------------------------
    # A (near-)identical page found in at least this many DISTINCT documents is a template
    # (copyright page, front matter, cookie wall) and is removed from every document.
    # Intern-S1 does not publish its K; 2 copies are an ordinary duplicate (one is kept),
    # 3+ unrelated documents sharing a page is the boilerplate signal.
    boilerplate_min_docs: int = Field(3, ge=2)
    # Count only multi-page documents (PDFs, books) towards `boilerplate_min_docs`: a web
    # document IS its single page, so the same article on 3 sites is a duplicate (keep one),
    # not a template page inside documents (remove everywhere).
    boilerplate_multi_page_only: bool = True
    # What happens to the non-representative members of a duplicate component:
    #  page:     each duplicate page is dropped (global page-level dedup, the default)
    #  document: a duplicate page is dropped only when ALL remaining pages of its document
    #            are duplicates (whole-document copies go, documents are never punched holes in)
    #  off:      only exact/near duplicates of earlier snapshots and boilerplate pages go
    near_dup_scope: Literal["page", "document", "off"] = "page"
    # Large-star/small-star converges in O(log^2 n) rounds (Kiveris et al., SoCC 2014);
    # 50 rounds covers any realistic graph; hitting it is an error, not a silent cut.
    cc_max_iterations: int = Field(50, ge=1)
    # Spark engine: a verified graph with at most this many edges gets its components in ONE
    # executor task (vectorized hook-and-compress, `decide.min_label_components`) instead of
    # ~5 distributed large-star/small-star rounds of several shuffles each (seconds of fixed
    # Spark overhead per round on small graphs). 2M edges are ~100 MB of int64 arrays and
    # temporaries in that task, a fraction of the 2 GB executor default; larger graphs go
    # distributed. Nothing reaches the driver either way. 0 = always distributed.
    cc_local_max_edges: int = Field(2_000_000, ge=0)
    # `engine="auto"` (sciforge.jobs.dedup.run_dedup, `--engine auto`): the local engine (one process,
    # no JVM) for inputs of at most this many pages (new + earlier snapshots), the Spark job
    # above. bench/dedup_throughput.py --docs N --masters 'local[1]' (20NG + edited copies,
    # the same input for both; docs per CPU-second, Spark's session start excluded): local
    # 2,650 vs Spark 490 at 20k (5.4x), 2,149 vs 1,431 at 100k (1.5x). Past 100k the local
    # engine is not measured for speed, and its one process holds every page (5.6 GB peak RSS
    # at 100k, growing with the input) while the Spark job keeps ~2 GB per executor and
    # spreads over workers: 100k is the largest size where both were measured.
    # Both engines publish the same rows: not part of the output version.
    local_engine_max_pages: int = Field(100_000, ge=0)

    # -- partial copies (containment) -----------------------------------------------------
    # A short page copied in part into a longer one (an excerpt, a quoted answer) has a low
    # Jaccard with it (a 100-word excerpt of a 1,000-word article: J ~0.1), so the Jaccard
    # path never links them. `on`: a page that is the representative of its component (it
    # would be kept) and whose shingle set is at least `containment_threshold` contained in
    # a better-ranked page of another component (|A n B| / |A|, A the worse-ranked page in
    # the representative order, i.e. the shorter one) is dropped as `contained`, with the
    # container as its `representative` and the measured value in a `containment` column.
    # The Jaccard path is unchanged; `off` publishes exactly what it publishes without this.
    # Measured on a planted partial-copy set (bench/dedup_containment.py, dedup README).
    containment: Literal["off", "on"] = "off"
    containment_threshold: float = Field(0.8, gt=0.0, le=1.0)
    # Containment candidates: pages sharing sampled shingles. A shingle is sampled when
    # fmix64(hash) % `containment_sample` == 0 (Broder's mod-m sample, 1997: the same
    # shingles are sampled in every page, so a copied passage's samples are all in its
    # container). Each sampled shingle shared by 2+ pages pairs its members with its
    # `lsh_centers` members of smallest content hash (the LSH bucket rule); a pair is a
    # candidate when it shares `containment_min_shared` sampled shingles. 1 in 4 and 2
    # shared: a 30-word excerpt (26 shingles, 21 of them in the source at C=0.8) expects 5
    # shared samples, P(< 2) ~ 0.03; see the bench for the measured recall.
    containment_sample: int = Field(4, ge=1)
    containment_min_shared: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _bands_rows(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both `bands` and `rows`, or neither (then they are optimized)")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows={self.bands * self.rows} exceeds num_perm={self.num_perm}")
        if self.containment == "on" and (self.verify != "exact" or self.near_dup_scope != "page"):
            raise ValueError("containment='on' needs verify='exact' (it measures |A n B| / |A| on the "
                             "shingle sets) and near_dup_scope='page' (it drops single pages)")
        return self

    def version_params(self) -> dict:
        """The options that define an output version: every field but the engine choice, the
        containment ones only when the mode is on (with it off the job publishes what it
        publishes without them)."""
        d = self.model_dump()
        d.pop("local_engine_max_pages")  # which engine runs changes no published row
        if self.containment == "off":
            for k in [k for k in d if k.startswith("containment")]:
                d.pop(k)
        return d
