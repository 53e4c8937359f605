"""Jobs on a real SparkSession (local[2]) give the same datasets as the in-process engine."""

import functools

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sciforge.jobs.ingest import run_ingest
from sciforge.jobs.io import read_df, write_df
from sciforge.jobs.runner import run_map_stage
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import DatasetRef, DatasetWriter, read_table, write_dataset
from sciforge.pipelines.stage import BatchResult, MapStage
from sciforge.pipelines.storage import open_storage

pytestmark = pytest.mark.spark


def _files(settings, ref):
    st = open_storage(settings.data_root)
    return {k.split("/", 3)[-1]: st.read_bytes(k) for k in st.list(ref.key)}


def test_spark_ingest_equals_local_ingest(spark, settings, demo_corpus, tmp_path):
    from sciforge.pipelines.config import load_settings

    other = load_settings(storage={"data_root": str(tmp_path / "local-engine")})
    for kind in ("warc", "pdf"):
        ref, km, _ = run_ingest(settings, str(demo_corpus / kind), kind, "2026-01-01", spark=spark)
        ref2, km2, _ = run_ingest(other, str(demo_corpus / kind), kind, "2026-01-01", engine="local")
        assert ref == ref2 and km == km2
        assert _files(settings, ref) == _files(other, ref2)


def keep_short(batch: pa.Table, max_len: int) -> BatchResult:
    """A real (if simple) map-stage function for exercising the runner."""
    lengths = pc.utf8_length(batch["text"])
    keep = pc.less_equal(lengths, max_len)
    c = StageCounters(input=batch.num_rows, kept=pc.sum(keep).as_py() or 0)
    dropped = batch.filter(pc.invert(keep))
    if dropped.num_rows:
        c.drop("too_long", dropped.num_rows)
    q = dropped.append_column("reason", pa.array(["too_long"] * dropped.num_rows, pa.string()))
    return BatchResult(kept=batch.filter(keep), quarantined=q, counters=c)


def test_map_stage_spark_and_local_agree(spark, settings):
    st = open_storage(settings.data_root)
    src = DatasetRef("raw", "texts", "2026-01-01_x")
    texts = [f"doc {i} " + "x" * (i % 7) for i in range(50)]
    write_dataset(st, src, [pa.table({"id": list(range(25)), "text": texts[:25]}),
                            pa.table({"id": list(range(25, 50)), "text": texts[25:]})])
    schema = pa.schema([("id", pa.int64()), ("text", pa.string())])
    stage = MapStage("short", functools.partial(keep_short, max_len=9), schema,
                     schema.append(pa.field("reason", pa.string())), params={"max_len": 9})
    ref, km, qm = run_map_stage(settings, stage, src, "2026-01-01", spark=spark)
    kept = read_table(st, ref).to_pydict()
    assert kept["text"] == [t for t in texts if len(t) <= 9]
    assert km["counters"]["dropped"]["too_long"] == qm["rows"] == sum(len(t) > 9 for t in texts)
    assert km["parents"] == [src.to_dict()]
    spark_files = _files(settings, ref)
    ref2, km2, _ = run_map_stage(settings, stage, src, "2026-01-01", engine="local")
    assert ref2 == ref and km2 == km and _files(settings, ref) == spark_files


def test_map_tasks_follow_the_data_size_not_the_part_count(spark, settings, tmp_path, monkeypatch):
    """One large part cut into several map tasks (each reads only its row groups): the same rows in the
    same order as one task per part, and Spark and the in-process engine write the same bytes."""
    from sciforge.pipelines import datasets
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import plan_part_slices, read_manifest

    st = open_storage(settings.data_root)
    src = DatasetRef("raw", "big", "2026-01-01_z")
    texts = [f"page {i} " + "y" * (i * 13 % 40) for i in range(3000)]
    other = load_settings(storage={"data_root": str(tmp_path / "local-engine")},
                          spark={"task_input_bytes": 4096})
    with monkeypatch.context() as mp:  # the input: ONE part of many small row groups (a small test)
        mp.setattr(datasets, "ROW_GROUP_BYTES", 2048)
        for root in (st, open_storage(other.data_root)):
            write_dataset(root, src, [pa.table({"id": list(range(3000)), "text": texts})])
    m = read_manifest(st, src)
    assert len(m["files"]) == 1 and datasets.pq.ParquetFile(st.uri(f"{src.key}/part-00000.parquet")) \
        .metadata.num_row_groups > 10
    schema = pa.schema([("id", pa.int64()), ("text", pa.string())])
    stage = MapStage("short", functools.partial(keep_short, max_len=30), schema,
                     schema.append(pa.field("reason", pa.string())), params={"max_len": 30})
    small = settings.model_copy(update={"spark": settings.spark.model_copy(update={"task_input_bytes": 4096})})
    items = plan_part_slices(m, src, 4096)
    assert len(items) > 4 and items[0]["start"] == 0 and items[-1]["stop"] == 3000
    assert all(a["stop"] == b["start"] for a, b in zip(items, items[1:], strict=False))

    ref, km, _ = run_map_stage(small, stage, src, "2026-01-01", spark=spark)
    assert len(km["files"]) == len(items)  # one output part per task
    assert read_table(st, ref).to_pydict()["text"] == [t for t in texts if len(t) <= 30]
    ref2, km2, _ = run_map_stage(other, stage, src, "2026-01-01", engine="local")
    assert ref2 == ref and km2 == km and _files(other, ref2) == _files(settings, ref)


def test_read_df_and_write_df_round_trip(spark, settings):
    st = open_storage(settings.data_root)
    src = DatasetRef("raw", "nums", "2026-01-01_y")
    write_dataset(st, src, [pa.table({"k": list(range(i, 100, 3)), "v": [str(x) for x in range(i, 100, 3)]})
                            for i in range(3)])
    df = read_df(spark, settings, src)
    assert df.count() == 100
    out = DatasetRef("clean", "nums", "2026-01-01_y")
    w = DatasetWriter(st, out, schema=pa.schema([("k", pa.int64()), ("v", pa.string())]))
    write_df(df.filter("k % 2 = 0"), w, ["k"], num_parts=4)
    w.publish()
    got = read_table(st, out).to_pydict()
    assert sorted(got["k"]) == list(range(0, 100, 2))
    first = _files(settings, out)
    w = DatasetWriter(st, out, schema=pa.schema([("k", pa.int64()), ("v", pa.string())]))
    write_df(read_df(spark, settings, src).filter("k % 2 = 0"), w, ["k"], num_parts=4)
    w.publish()
    assert _files(settings, out) == first


def test_read_df_groups_small_parts_into_tasks_by_bytes(spark, settings):
    from sciforge.jobs.io import group_parts

    assert group_parts(["a", "b", "c", "d"], {"a": 5, "b": 5, "c": 20, "d": 1}, 10) == [["a", "b"], ["c"], ["d"]]
    assert group_parts([], {}, 10) == []
    st = open_storage(settings.data_root)
    src = DatasetRef("raw", "nums", "2026-01-01_g")
    write_dataset(st, src, [pa.table({"k": list(range(i, 60, 6))}) for i in range(6)])
    everything = read_df(spark, settings, src)  # six small parts: one task
    assert everything.rdd.getNumPartitions() == 1
    assert sorted(r["k"] for r in everything.collect()) == list(range(60))
    one_each = settings.model_copy(update={"spark": settings.spark.model_copy(update={"task_input_bytes": 1})})
    split = read_df(spark, one_each, src, ["k"])  # parts larger than a task's bytes: one task each
    assert split.rdd.getNumPartitions() == 6
    assert sorted(r["k"] for r in split.collect()) == list(range(60))


def test_shuffle_partitions_are_set_for_the_job_and_restored(spark):
    from sciforge.jobs.spark import shuffle_partitions

    key = "spark.sql.shuffle.partitions"
    before = spark.conf.get(key)
    with shuffle_partitions(spark, 3):
        assert spark.conf.get(key) == "3"
        assert spark.range(10).repartition("id").rdd.getNumPartitions() <= 3
    assert spark.conf.get(key) == before
    with pytest.raises(RuntimeError), shuffle_partitions(spark, 0):  # at least one partition, restored on error
        assert spark.conf.get(key) == "1"
        raise RuntimeError("job failed")
    assert spark.conf.get(key) == before
