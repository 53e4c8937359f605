"""Web filter job: ``raw/web/<v>`` (WARC responses) -> science pages, one decision per domain.

Pass 1 (map, no shuffle): every record is extracted, language-identified, quality-checked and
classified (pipelines/web/pages.py:score_batch) -> ``interim/web_scored`` + its quarantine.
Pass 2 (aggregate by registered domain): a seeded bottom-k sample of each domain's OK pages gives
purity, quality, dominant field and boilerplate lines, and a keep / rewrite / drop decision
(pipelines/web/domains.py) -> ``clean/web_domains``.
Pass 3 (join): each page follows its domain's decision (rewrite, rescue, drop) ->
``clean/web_pages`` (PAGE-TEXT CONTRACT + scores) and ``quarantine/web_pages`` (everything dropped,
page-level and domain-level, with ``reason``).

    spark-submit jobs/web_filter.py --input raw/web/<version> --date 2026-01-01
"""

from __future__ import annotations

import argparse
import json
import logging
from functools import partial
from typing import Any

import pyarrow as pa

from sciforge.jobs.result import add_result_arg, report
from sciforge.jobs.runner import Engine, output_parts, run_map_stage
from sciforge.pipelines.config import Settings, get_settings
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import DatasetRef, DatasetWriter, make_version, read_manifest, read_table
from sciforge.pipelines.stage import MapStage
from sciforge.pipelines.storage import open_storage
from sciforge.pipelines.web.config import WebConfig
from sciforge.pipelines.web.domains import (
    DOMAIN_SCHEMA,
    domain_table_local,
    sample_key,
    stats_from_sample,
    stats_row,
)
from sciforge.pipelines.web.pages import (
    PAGES_SCHEMA,
    QUARANTINE_SCHEMA,
    SCORED_SCHEMA,
    finalize_pages,
    score_batch,
)
from sciforge.pipelines.web.rewrite import rewrite_client

log = logging.getLogger(__name__)
STAGE = "web_filter"
PAGES, DOMAINS, SCORED = "web_pages", "web_domains", "web_scored"
_KIND = "_kind"


def web_config(settings: Settings) -> WebConfig:
    return WebConfig(**settings.stage("web"))


def _decisions(domains: pa.Table) -> dict[str, tuple[str, list[str]]]:
    return {d: (dec, json.loads(bp)) for d, dec, bp in zip(
        domains.column("domain").to_pylist(), domains.column("decision").to_pylist(),
        domains.column("boilerplate_lines").to_pylist(), strict=True)}


def _counters_from_groups(groups: list[tuple[str, str, str, int]], domains_counts: dict[str, int],
                          scored_counters: dict[str, Any]) -> StageCounters:
    """Final funnel: raw records in, pages kept, every drop reason (page and domain level)."""
    c = StageCounters.from_dict(scored_counters)  # input = raw records; metrics of the page step
    c.kept = 0
    c.dropped.clear()  # page-level drops come back through ``groups`` (the quarantine rows)
    for kind, reason, method, n in groups:
        if kind == "kept":
            c.kept += n
            c.add(f"route_{reason}", n)
            if method:
                c.add(f"rewrite_{method.split(':')[0]}", n)
        else:
            c.drop(reason, n)
    c.metrics.pop("science_pages", None)
    c.metrics.pop("other_pages", None)
    for dec, n in domains_counts.items():
        c.add(f"domains_{dec}", n)
    return c


def run_web_filter(settings: Settings, raw_web_ref: DatasetRef, logical_date: str, *, engine: Engine = "spark",
                   spark: Any = None) -> DatasetRef:
    """Filter ``raw_web_ref``; returns the ``clean/web_pages`` ref (domains: same version in ``clean/web_domains``)."""
    cfg = web_config(settings)
    storage = open_storage(settings.data_root, settings.storage_options())
    params = cfg.hashed()
    if engine == "spark" and spark is None:
        from sciforge.jobs.spark import get_spark

        spark = get_spark(settings)
    # -- pass 1: page scores
    stage = MapStage(SCORED, partial(score_batch, cfg_json=cfg.model_dump_json()), SCORED_SCHEMA,
                     QUARANTINE_SCHEMA, params={"web": params}, zone="interim")
    scored_ref, scored_m, _ = run_map_stage(settings, stage, raw_web_ref, logical_date, engine=engine, spark=spark)

    version = make_version(logical_date, {"stage": STAGE, "params": params, "parents": [raw_web_ref.key]})
    conf = {"stage": STAGE, "params": params}
    pages_ref = DatasetRef("clean", PAGES, version)
    domains_ref = DatasetRef("clean", DOMAINS, version)
    kw: dict[str, Any] = {"logical_date": logical_date, "config": conf, "parents": [raw_web_ref, scored_ref]}
    pages_w = DatasetWriter(storage, pages_ref, schema=PAGES_SCHEMA, **kw)
    quar_w = DatasetWriter(storage, pages_ref.quarantine(), schema=QUARANTINE_SCHEMA, **kw)
    dom_w = DatasetWriter(storage, domains_ref, schema=DOMAIN_SCHEMA, **kw)
    if engine == "local":
        groups, dom_counts = _local(settings, cfg, scored_ref, pages_w, quar_w, dom_w)
    else:
        from sciforge.jobs.spark import shuffle_partitions

        # the domain and routing shuffles get as many partitions as pass 1 had map tasks (input bytes
        # / spark.task_input_bytes), at most spark.shuffle_partitions
        with shuffle_partitions(spark, output_parts(read_manifest(storage, raw_web_ref), settings)):
            groups, dom_counts = _spark(spark, settings, cfg, scored_ref, pages_w, quar_w, dom_w)
    counters = _counters_from_groups(groups, dom_counts, scored_m["counters"])
    dom_w.publish(StageCounters(input=sum(dom_counts.values()), kept=sum(dom_counts.values()),
                                metrics=_as_counter(dom_counts, "domains_")))
    quar_w.publish(StageCounters(input=counters.input, dropped=counters.dropped.copy()))
    pages_w.publish(counters)
    log.info("web filter %s -> %s: %s", raw_web_ref, pages_ref, counters.summary())
    return pages_ref


def _as_counter(d: dict[str, int], prefix: str) -> Any:
    from collections import Counter

    return Counter({f"{prefix}{k}": v for k, v in d.items()})


def _local(settings: Settings, cfg: WebConfig, scored_ref: DatasetRef, pages_w: DatasetWriter,
           quar_w: DatasetWriter, dom_w: DatasetWriter) -> tuple[list[tuple[str, str, str, int]], dict[str, int]]:
    storage = pages_w.storage
    pages = read_table(storage, scored_ref).to_pandas()
    q_page = read_table(storage, scored_ref.quarantine()).to_pandas()
    domains = domain_table_local(pages, q_page, settings.seed, cfg.domain, cfg.classifier)
    dom_w.write(domains)
    counters = StageCounters()
    client = rewrite_client(cfg.rewrite, settings.data_root, settings.storage_options())
    try:
        kept, q_dom = finalize_pages(pages.sort_values("doc_id", kind="mergesort"), _decisions(domains), cfg,
                                     counters, client)
    finally:
        if client is not None:
            client.close()
    kept = kept.sort_values("doc_id", kind="mergesort")
    pages_w.write(pa.Table.from_pandas(kept, schema=PAGES_SCHEMA, preserve_index=False))
    import pandas as pd

    quar = pd.concat([q_page, q_dom], ignore_index=True).sort_values("doc_id", kind="mergesort")
    quar_w.write(pa.Table.from_pandas(quar[[f.name for f in QUARANTINE_SCHEMA]], schema=QUARANTINE_SCHEMA,
                                      preserve_index=False))
    groups = [("kept", r, m, int(n)) for (r, m), n in kept.groupby(["route", "rewrite_method"]).size().items()]
    groups += [("quarantine", r, "", int(n)) for r, n in quar["reason"].value_counts().items()]
    dom_counts = {str(k): int(v) for k, v in domains.to_pandas()["decision"].value_counts().items()}
    return groups, dom_counts


def _spark(spark: Any, settings: Settings, cfg: WebConfig, scored_ref: DatasetRef, pages_w: DatasetWriter,
           quar_w: DatasetWriter, dom_w: DatasetWriter) -> tuple[list[tuple[str, str, str, int]], dict[str, int]]:
    import pandas as pd
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from sciforge.jobs.io import read_df, write_df

    storage = open_storage(settings.data_root, settings.storage_options())
    n_parts = output_parts(read_manifest(storage, scored_ref), settings)
    seed, dcfg, ccfg = settings.seed, cfg.domain, cfg.classifier
    # Each read names the columns its query needs: a read is a Python task over Parquet parts, which
    # Spark cannot prune, and the per-domain counts need no page text.
    pages = read_df(spark, settings, scored_ref)
    q_page = read_df(spark, settings, scored_ref.quarantine())
    page_domains = read_df(spark, settings, scored_ref, ["domain"])

    # -- pass 2: per-domain statistics over a seeded bottom-k sample
    fetched = (page_domains.unionByName(read_df(spark, settings, scored_ref.quarantine(), ["domain"]))
               .groupBy("domain").agg(F.count(F.lit(1)).alias("pages_fetched")))
    ok = page_domains.groupBy("domain").agg(F.count(F.lit(1)).alias("pages_ok"))

    sample_cols = ["doc_id", "domain", "science_score", "field", "text"]

    def add_key(it: Any) -> Any:
        for pdf in it:
            pdf = pdf[sample_cols].copy()
            pdf["_k"] = [sample_key(d, seed) for d in pdf["doc_id"]]
            yield pdf

    keyed = read_df(spark, settings, scored_ref, sample_cols).mapInPandas(
        add_key, "doc_id string, domain string, science_score float, field string, text string, _k long")
    w = Window.partitionBy("domain").orderBy("_k", "doc_id")
    sample = (keyed.withColumn("_rn", F.row_number().over(w)).where(F.col("_rn") <= dcfg.sample_size)
              .join(fetched, "domain").join(ok, "domain"))
    dom_schema = from_arrow_schema(DOMAIN_SCHEMA)

    def stats(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values(["_k", "doc_id"], kind="mergesort")
        return pd.DataFrame([stats_from_sample(pdf, dcfg, ccfg)])

    def empty_stats(it: Any) -> Any:
        from sciforge.pipelines.web.domains import domain_stats

        for pdf in it:
            rows = [stats_row(domain_stats(d, int(n), 0, [], [], [], dcfg, ccfg), dcfg)
                    for d, n in zip(pdf["domain"], pdf["pages_fetched"], strict=True)]
            yield pd.DataFrame(rows, columns=[f.name for f in DOMAIN_SCHEMA])

    domains = (sample.groupBy("domain").applyInPandas(stats, dom_schema)
               .unionByName(fetched.join(ok, "domain", "left_anti").mapInPandas(empty_stats, dom_schema)))
    domains = domains.persist(StorageLevel.MEMORY_AND_DISK)
    write_df(domains, dom_w, ["domain"], n_parts)
    dom_counts = {r["decision"]: int(r["count"]) for r in domains.groupBy("decision").count().collect()}

    # -- pass 3: route every page by its domain's decision (rewrite / rescue / drop)
    cfg_json = cfg.model_dump_json()
    kcols = [f.name for f in PAGES_SCHEMA]
    qcols = [f.name for f in QUARANTINE_SCHEMA]
    union_fields = list(PAGES_SCHEMA) + [f for f in QUARANTINE_SCHEMA if f.name not in kcols]
    union_schema = pa.schema(union_fields + [pa.field(_KIND, pa.string())])

    data_root, options = settings.data_root, settings.storage_options()

    def finalize(it: Any) -> Any:
        c = WebConfig.model_validate(json.loads(cfg_json))
        client = rewrite_client(c.rewrite, data_root, options)  # the cache lives under the data root
        try:
            for pdf in it:
                decisions = {d: (dec if isinstance(dec, str) else "page_level", json.loads(bp) if bp else [])
                             for d, dec, bp in zip(pdf["domain"], pdf["decision"], pdf["boilerplate_lines"],
                                                   strict=True)}
                kept, quar = finalize_pages(pdf[[f.name for f in SCORED_SCHEMA]], decisions, c, StageCounters(),
                                            client)
                kept[_KIND] = "kept"
                quar[_KIND] = "quarantine"
                yield pd.concat([kept.reindex(columns=[f.name for f in union_schema]),
                                 quar.reindex(columns=[f.name for f in union_schema])], ignore_index=True)
        finally:
            if client is not None:
                client.close()

    joined = pages.join(domains.select("domain", "decision", "boilerplate_lines"), "domain", "left")
    routed = joined.mapInPandas(finalize, from_arrow_schema(union_schema)).persist(StorageLevel.MEMORY_AND_DISK)
    write_df(routed.where(F.col(_KIND) == "kept").select(*kcols), pages_w, ["doc_id"], n_parts)
    quar = routed.where(F.col(_KIND) == "quarantine").select(*qcols).unionByName(q_page.select(*qcols))
    write_df(quar, quar_w, ["doc_id", "stage"], n_parts)
    groups = [(r[_KIND], r["r"] or "", r["rewrite_method"] or "", int(r["count"])) for r in
              routed.select(_KIND, F.when(F.col(_KIND) == "kept", F.col("route")).otherwise(F.col("reason")).alias("r"),
                            "rewrite_method").groupBy(_KIND, "r", "rewrite_method").count().collect()]
    q_reasons = read_df(spark, settings, scored_ref.quarantine(), ["reason"])
    groups += [("quarantine", r["reason"], "", int(r["count"])) for r in q_reasons.groupBy("reason").count().collect()]
    routed.unpersist()
    domains.unpersist()
    return groups, dom_counts


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Run the job from its command line (``settings``: the launcher's, else get_settings())."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="raw web dataset, raw/web/<version>")
    p.add_argument("--date", required=True, help="logical date (YYYY-MM-DD) of the run")
    p.add_argument("--engine", default="spark", choices=["spark", "local"])
    add_result_arg(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = settings or get_settings()
    ref = run_web_filter(settings, DatasetRef.parse(a.input), a.date, engine=a.engine)
    r = report(settings, "web_filter", ref, a.result_file)
    print(f"{ref}: {r['rows']} pages kept; {StageCounters.from_dict(r['counters']).summary()}")


if __name__ == "__main__":
    # spark-submit runs this file as `__main__`: run the importable `sciforge.jobs.web_filter` instead, so that what
    # executors unpickle (task closures, cached helpers) refers to a module they can import.
    from sciforge.jobs.web_filter import main as _main

    _main()
