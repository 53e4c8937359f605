"""`sciforge lineage <run> --step K`: a cpt run records its snapshot and sample order; the listing of a step's
documents matches the rows the trainer fed (derived here from its metrics and the model's SampleStream)."""

from __future__ import annotations

from pathlib import Path

from sciforge.model.train import TrainConfig, train
from sciforge.model.train.data import SampleStream
from sciforge.model.train.metrics import read_metrics
from sciforge.pipelines.corpus.reader import CorpusSnapshot
from sciforge.pipelines.lineage import RUN_DATA, lineage_command, step_documents
from sciforge.pipelines.storage import open_storage
from tests.train.conftest import SEQ_LEN, cpt_config


def test_step_lists_the_documents_the_trainer_read(snapshot: tuple[str, str], tmp_path: Path,
                                                   threads_1: None) -> None:
    root, ref = snapshot
    summary = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "run", max_steps=6, export=False)))
    run_dir = Path(summary["run_dir"])
    assert (run_dir / RUN_DATA).is_file()
    metrics = read_metrics(run_dir / "metrics.jsonl")
    snap = CorpusSnapshot.open(root, ref)
    import pyarrow.parquet as pq

    doc_ids = {}
    for i, s in enumerate(snap.meta["shards"]):
        n = s["bin"].split("-")[1].split(".")[0]
        doc_ids[i] = pq.read_table(snap.folder / f"documents-{n}.parquet").column("doc_id").to_pylist()
    first_of_shard = [0]
    for s in snap.meta["shards"]:
        first_of_shard.append(first_of_shard[-1] + s["sequences"])
    stream = SampleStream(len(snap), 1234)  # TrainConfig's default seed
    consumed = 0
    for m in metrics:
        rows = m["batch_tokens"] // SEQ_LEN
        got = step_documents(open_storage(root), run_dir, m["step"])
        want_rows = [r for mb in stream.rank_micro_batches(consumed, rows, 0, 1, rows) for r in mb]
        assert [s["row"] for s in got["sequences"]] == want_rows
        for s in got["sequences"]:
            numbers = snap.sequence(s["row"])[1]
            shard_pos = max(i for i, f in enumerate(first_of_shard[:-1]) if f <= s["row"])
            expect = sorted({doc_ids[shard_pos][d] for d in numbers})
            assert sorted({d["doc_id"] for d in s["documents"]}) == expect
        consumed += rows
    assert len(metrics) == 6
    text = lineage_command(str(run_dir), shard=None, seq=None, token=None, step=5, as_json=False,
                           settings=None)
    assert text.startswith(f"step 5 of {run_dir}") and "doc-" in text
