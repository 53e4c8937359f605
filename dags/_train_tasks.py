"""Body of the training DAGs' tasks: resolve the corpus version and the upstream checkpoint, then run
one stage through model.train (in-process, or `torchrun` when nproc > 1)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("sciforge.dags.training")
UPSTREAM_STAGE = {"mmpt": "cpt", "sft": "mmpt"}


def _triggering_extra(context: dict[str, Any], asset: Any) -> dict[str, Any]:
    events = (context.get("triggering_asset_events") or {}).get(asset) or []
    return dict(events[-1].extra or {}) if events else {}


def resolve_inputs(stage: str, context: dict[str, Any], upstream: Any) -> tuple[str, str | None]:
    """(corpus ref, upstream export folder or None) from params, else from the triggering event."""
    params = context.get("params") or {}
    extra = _triggering_extra(context, upstream)
    corpus_ref = params.get("corpus_ref") or extra.get("corpus") or extra.get("ref")
    if not corpus_ref:
        raise ValueError(f"train_{stage}: no corpus version: pass params.corpus_ref=corpus/snapshot/<v> "
                         "or trigger it from the corpus / checkpoint Asset")
    return str(corpus_ref), extra.get("export")


def run_stage(stage: str, context: dict[str, Any], upstream: Any, outlet: Any) -> dict[str, Any]:
    from airflow.exceptions import AirflowSkipException

    from infra.airflow_env import settings_with_connection
    from model.train.config import TrainConfig
    from pipelines.config import get_settings

    settings = settings_with_connection(get_settings())
    t = settings.train
    params = context.get("params") or {}
    corpus_ref, upstream_export = resolve_inputs(stage, context, upstream)
    version = corpus_ref.rstrip("/").split("/")[-1]
    root = Path(settings.resolve_path(t.checkpoint_root))
    overrides: dict[str, Any] = {"run": version, "out_dir": str(root)}
    if stage == "cpt":
        overrides["data"] = {"root": settings.data_root, "ref": corpus_ref}
    else:
        overrides["model"] = upstream_export or str(root / UPSTREAM_STAGE[stage] / version / "export")
    if stage == "sft":
        if not t.sft_data:
            raise AirflowSkipException("train_sft: no SFT data configured (set train.sft_data / "
                                       "SCIFORGE_TRAIN__SFT_DATA to a JSONL of chat records)")
        overrides["data"] = {"path": settings.resolve_path(t.sft_data)}
    max_steps = params.get("max_steps") or t.max_steps
    if max_steps:
        overrides["max_steps"] = int(max_steps)
    config = settings.resolve_path(params.get("config") or getattr(t, f"{stage}_config"))
    cfg = TrainConfig.load(config, **overrides)
    run_dir = cfg.run_dir()
    if params.get("fresh") and run_dir.exists():
        log.info("fresh=True: removing %s", run_dir)
        shutil.rmtree(run_dir)
    nproc = int(params.get("nproc") or 1)
    if nproc > 1:
        cfg_file = run_dir.parent / f"{version}.train_config.json"
        cfg_file.parent.mkdir(parents=True, exist_ok=True)
        cfg_file.write_text(cfg.model_dump_json(indent=2))
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        f"--nproc_per_node={nproc}", "-m", "model.train.cli", stage, "--config", str(cfg_file)],
                       check=True, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
        summary = json.loads((run_dir / "summary.json").read_text())
    else:
        from model.train import train

        summary = train(cfg)
    export = str(run_dir / "export")
    context["outlet_events"][outlet].extra = {"corpus": corpus_ref, "export": export}  # type: ignore[index]
    log.info("train_%s for %s: %s", stage, corpus_ref, {k: summary.get(k) for k in ("steps", "tokens")})
    return {"stage": stage, "corpus": corpus_ref, "run_dir": str(run_dir), "export": export,
            "summary": {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}}
