"""Spark job: clean pages -> tokenized, domain-mixed, packed corpus snapshot ``corpus/snapshot/<v>``.

Two distributed passes, only small metadata on the driver:

1. one task per input part tokenizes its pages (the dynamic tokenizer, loaded by the executors from the
   snapshot's own ``tokenizer/`` files) and writes the token rows bucketed by ``doc_id`` to a work area;
2. the driver turns the per-domain token totals into mixture factors; one task per bucket then joins
   pages, repeats/drops documents, shuffles by hash and writes one ``shard-NNNNN.bin`` + ``.idx`` (+ a
   Parquet list of the documents it packed and the lineage index ``lineage/shard-NNNNN.parquet``: which
   page of which document each token span of each sequence holds, see pipelines/lineage.py).

The snapshot folder then holds the shards, ``tokenizer/`` (HF conventions), ``corpus.json`` (layout,
mixture, token counts) and the manifest, published last. Run with ``python -m sciforge.jobs.corpus --pages
clean/pages/<v> --date 2026-01-01``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import tempfile
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from sciforge.jobs.result import add_result_arg, report
from sciforge.jobs.runner import Engine, distribute
from sciforge.pipelines.config import Settings, get_settings
from sciforge.pipelines.corpus.config import CorpusConfig
from sciforge.pipelines.corpus.pack import (
    DOCUMENTS_SCHEMA,
    QUARANTINE_SCHEMA,
    TOKENS_SCHEMA,
    build_shard,
    mixture_factors,
    tokenize_pages,
)
from sciforge.pipelines.corpus.reader import CORPUS_META, TOKENIZER_DIR
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    make_version,
    part_keys,
    plan_part_slices,
    read_manifest,
    read_part,
    read_part_slice,
    write_part,
)
from sciforge.pipelines.lineage import lineage_bytes, lineage_key
from sciforge.pipelines.storage import open_storage
from sciforge.pipelines.tokenizer.config import TAGS
from sciforge.pipelines.tokenizer.tokenizer import CONFIG_FILE, SciTokenizer

log = logging.getLogger(__name__)
ZONE, NAME = "corpus", "snapshot"
WORK = "_work"
# Shard-count estimate: Parquet (zstd) text is ~3x smaller than the text, and the tokenizer averages ~4
# characters per token on English (bench/tokenizer_compression.py: 3.7-3.8 on held-out news).
PARQUET_TEXT_RATIO = 3.0
CHARS_PER_TOKEN = 4.0


def corpus_config(settings: Settings) -> CorpusConfig:
    return CorpusConfig(**settings.stage("corpus"))


def load_tokenizer(spec: str) -> SciTokenizer:
    if spec == "default":
        from sciforge.pipelines.tokenizer.default import default_tokenizer

        return default_tokenizer()
    return SciTokenizer.load(spec)


def _entry(path: str, data: bytes, rows: int = 0, **extra: Any) -> dict[str, Any]:
    return {"path": path, "rows": rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), **extra}


def put(storage: Any, prefix: str, path: str, data: bytes, rows: int = 0, **extra: Any) -> dict[str, Any]:
    """Write a non-Parquet file of a dataset and return its manifest entry (same fields as write_part)."""
    storage.write_bytes(f"{prefix}/{path}", data)
    return _entry(path, data, rows, **extra)


@lru_cache(maxsize=2)
def _executor_tokenizer(root: str, options_json: str, key: str, digest: str) -> SciTokenizer:
    storage = open_storage(root, json.loads(options_json))
    tok = SciTokenizer.from_bytes(storage.read_bytes(key))
    if tok.hash != digest:
        raise RuntimeError(f"tokenizer at {key} changed during the run")
    return tok


def run_corpus(settings: Settings, pages_ref: DatasetRef, logical_date: str, *, engine: Engine = "spark",
               spark: Any = None) -> DatasetRef:
    """Tokenize ``pages_ref`` (PAGE-TEXT CONTRACT) into ``corpus/snapshot/<v>``; returns its ref."""
    cfg = corpus_config(settings)
    storage = open_storage(settings.data_root, settings.storage_options())
    in_manifest = read_manifest(storage, pages_ref)  # refuses an unpublished input before any work
    tok = load_tokenizer(cfg.tokenizer)
    params = {"stage": "corpus", "config": cfg.model_dump(), "tokenizer_hash": tok.hash}
    ref = DatasetRef(ZONE, NAME, make_version(logical_date, {**params, "parents": [pages_ref.key]}))
    writer = DatasetWriter(storage, ref, logical_date=logical_date, config=params, parents=[pages_ref],
                           schema=DOCUMENTS_SCHEMA)
    qwriter = DatasetWriter(storage, ref.quarantine(), logical_date=logical_date, config=params,
                            parents=[pages_ref], schema=QUARANTINE_SCHEMA)
    # The tokenizer travels inside the snapshot (training reads only the snapshot), and executors load it
    # from there.
    with tempfile.TemporaryDirectory() as tmp:
        tok.save(tmp)
        for p in sorted(Path(tmp).iterdir()):
            writer.add_files([put(storage, writer.staging, f"{TOKENIZER_DIR}/{p.name}", p.read_bytes())])
    tok_key = f"{writer.staging}/{TOKENIZER_DIR}/{CONFIG_FILE}"
    in_bytes = sum(f["bytes"] for f in in_manifest["files"])
    n_buckets = cfg.num_shards or max(1, math.ceil(in_bytes * PARQUET_TEXT_RATIO / CHARS_PER_TOKEN / cfg.shard_tokens))
    root, opts = settings.data_root, settings.storage_options()
    opts_json = json.dumps(opts, sort_keys=True, default=str)
    work, qstaging, batch = f"{writer.staging}/{WORK}", qwriter.staging, settings.spark.arrow_batch_size
    cfg_json, digest = cfg.model_dump_json(), tok.hash

    def tokenize_task(item: dict[str, Any]) -> list[dict[str, Any]]:
        st = open_storage(root, opts)
        c = CorpusConfig.model_validate_json(cfg_json)
        t = _executor_tokenizer(root, opts_json, tok_key, digest)
        table = read_part_slice(st, item["key"], item["start"], item["stop"])
        counters, domain_tokens = StageCounters(), Counter[str]()
        buckets: dict[int, list[pa.Table]] = {}
        quarantined = []
        for b in table.to_batches(max_chunksize=batch):
            res = tokenize_pages(pa.Table.from_batches([b], schema=table.schema), t, c, n_buckets)
            counters.merge(res.counters)
            domain_tokens.update(res.domain_tokens)
            for k, v in res.buckets.items():
                buckets.setdefault(k, []).append(v)
            if res.quarantined.num_rows:
                quarantined.append(res.quarantined)
        name = f"part-{item['index']:05d}.parquet"
        out: list[dict[str, Any]] = [{"bucket": k, "key": f"{work}/b{k:05d}/{name}",
                                      "entry": write_part(st, f"{work}/b{k:05d}", name, pa.concat_tables(v))}
                                     for k, v in sorted(buckets.items())]
        if quarantined:
            out.append({"quarantine": write_part(st, qstaging, name, pa.concat_tables(quarantined))})
        out.append({"counters": counters.to_dict(), "domain_tokens": dict(domain_tokens)})
        return out

    if engine == "spark" and spark is None:
        from sciforge.jobs.spark import get_spark

        spark = get_spark(settings)
    items = plan_part_slices(in_manifest, pages_ref, settings.spark.task_input_bytes)
    results = distribute(items, tokenize_task, engine=engine, spark=spark, desc="tokenize")
    counters, natural = StageCounters(), Counter[str]()
    bucket_keys: dict[int, list[str]] = {}
    for r in results:
        if "counters" in r:
            counters.merge(r["counters"])
            natural.update(r["domain_tokens"])
        elif "quarantine" in r:
            qwriter.add_files([r["quarantine"]])
        else:
            bucket_keys.setdefault(r["bucket"], []).append(r["key"])
    factors = mixture_factors(dict(natural), cfg.mixture, cfg.max_repeat)
    domains = sorted(natural)
    separator = tok.encode(cfg.page_separator) if cfg.page_separator else []
    staging, eod_id, pad_id = writer.staging, tok.eod_id, tok.pad_id

    def shard_task(item: dict[str, Any]) -> list[dict[str, Any]]:
        st = open_storage(root, opts)
        c = CorpusConfig.model_validate_json(cfg_json)
        rows = pa.concat_tables([read_part(st, k) for k in item["keys"]]) if item["keys"] \
            else TOKENS_SCHEMA.empty_table()
        sh = build_shard(rows, item["shard"], factors, domains, c, eod_id=eod_id, pad_id=pad_id,
                         separator_ids=separator)
        if sh.index.n_tokens == 0:
            return [{"counters": sh.counters.to_dict(), "shard": None}]
        n = f"shard-{item['shard']:05d}"
        bin_e = put(st, staging, f"{n}.bin", sh.tokens.tobytes(), kind="tokens", tokens=int(sh.index.n_tokens),
                    sequences=int(sh.index.n_sequences))
        idx_e = put(st, staging, f"{n}.idx", sh.index.to_bytes(), kind="index", documents=len(sh.index.doc_start))
        doc_e = write_part(st, staging, f"documents-{item['shard']:05d}.parquet", sh.documents)
        lin_e = put(st, staging, lineage_key("", item["shard"]).lstrip("/"), lineage_bytes(sh.lineage),
                    rows=sh.lineage.num_rows, kind="lineage")
        return [{"files": [bin_e, idx_e, doc_e, lin_e], "counters": sh.counters.to_dict(),
                 "shard": {"bin": bin_e["path"], "idx": idx_e["path"], "tokens": bin_e["tokens"],
                           "sequences": bin_e["sequences"], "documents": idx_e["documents"]},
                 "domain_tokens": dict(sh.domain_tokens), "modality_tokens": dict(sh.modality_tokens)}]

    items = [{"shard": b, "keys": sorted(bucket_keys.get(b, []))} for b in range(n_buckets)]
    packed = distribute(items, shard_task, engine=engine, spark=spark, desc="pack")
    doc_counters, realized, modality = StageCounters(), Counter[str](), Counter[str]()
    shards = []
    for r in packed:
        doc_counters.merge(r["counters"])
        if r["shard"] is not None:
            writer.add_files(r["files"])
            shards.append(r["shard"])
            realized.update(r["domain_tokens"])
            modality.update(r["modality_tokens"])
    total = sum(realized.values())
    meta = {
        "format": "sciforge.corpus/1", "dtype": "uint32", "seq_len": cfg.seq_len,
        "tokenizer": {"hash": tok.hash, "folder": TOKENIZER_DIR, "vocab_size": tok.vocab_size,
                      "modality_ranges": {k: list(v) for k, v in tok.modality_ranges.items()}},
        "eod_id": eod_id, "pad_id": pad_id, "domains": domains, "shards": shards,
        "sequences": sum(s["sequences"] for s in shards), "tokens": sum(s["tokens"] for s in shards),
        "mixture": {"weights": cfg.mixture, "factors": factors, "natural_tokens": dict(sorted(natural.items())),
                    "tokens": dict(sorted(realized.items())),
                    "shares": {d: (realized[d] / total if total else 0.0) for d in domains}},
        "tokens_per_modality": dict(sorted(modality.items())),
        "modalities": sorted({"text", "special", *TAGS.values(), "dna"}),
    }
    writer.add_files([put(storage, staging, CORPUS_META, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())])
    storage.delete_prefix(work)  # the token rows were only a shuffle medium
    counters.dropped.update({f"documents_{k}": v for k, v in doc_counters.dropped.items()})
    counters.metrics.update(doc_counters.metrics)
    counters.metrics.update({f"tokens/domain/{d}": n for d, n in realized.items()})
    counters.metrics.update({f"tokens/modality/{m}": n for m, n in modality.items()})
    counters.add("documents", doc_counters.kept)
    qwriter.publish(StageCounters(input=counters.input, dropped=counters.dropped.copy()))
    writer.publish(counters)
    log.info("%s -> %s: %s; %d sequences of %d tokens in %d shards", pages_ref, ref, counters.summary(),
             meta["sequences"], cfg.seq_len, len(shards))
    return ref


def documents_table(settings: Settings, ref: DatasetRef) -> pa.Table:
    """The Parquet list of packed documents of a snapshot (its ``documents-NNNNN.parquet`` parts)."""
    storage = open_storage(settings.data_root, settings.storage_options())
    keys = [k for k in part_keys(storage, ref) if k.split("/")[-1].startswith("documents-")]
    return pa.concat_tables([read_part(storage, k) for k in keys]) if keys else DOCUMENTS_SCHEMA.empty_table()


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> None:
    """Run the job from its command line (``settings``: the launcher's, else get_settings())."""
    p = argparse.ArgumentParser(description="Tokenize clean pages into a packed, domain-mixed corpus snapshot.")
    p.add_argument("--pages", required=True, metavar="clean/pages/VERSION", help="the input page dataset")
    p.add_argument("--date", required=True, help="logical date YYYY-MM-DD")
    p.add_argument("--engine", choices=["spark", "local"], default="spark")
    add_result_arg(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = settings or get_settings()
    ref = run_corpus(settings, DatasetRef.parse(a.pages), a.date, engine=a.engine)
    report(settings, "corpus", ref, a.result_file)
    print(ref)


if __name__ == "__main__":
    # spark-submit runs this file as `__main__`: run the importable `sciforge.jobs.corpus` instead, so that what
    # executors unpickle (task closures, cached helpers) refers to a module they can import.
    from sciforge.jobs.corpus import main as _main

    _main()

