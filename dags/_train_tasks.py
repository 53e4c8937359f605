"""Body of the training DAGs' tasks: resolve the corpus version and the upstream checkpoint from the run's
params or the Asset event that triggered it, run the stage through the launcher (launch/train.py:
in-process, torchrun, or DeepSpeed's runner over a hostfile) and publish the stage's Asset event.
"""

from __future__ import annotations

from typing import Any


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

    from sciforge.infra.airflow_env import settings_with_connection
    from sciforge.launch.train import StageSkipped, run_training
    from sciforge.pipelines.config import get_settings

    settings = settings_with_connection(get_settings())
    corpus_ref, upstream_export = resolve_inputs(stage, context, upstream)
    try:
        out = run_training(settings, stage, corpus_ref, upstream_export, context.get("params") or {})
    except StageSkipped as e:
        raise AirflowSkipException(str(e)) from e
    context["outlet_events"][outlet].extra = {"corpus": corpus_ref, "export": out["export"]}  # type: ignore[index]
    return out
