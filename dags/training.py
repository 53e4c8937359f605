"""Training DAGs on data-aware scheduling:

    corpus (Asset) -> train_cpt -> checkpoint_cpt -> train_mmpt -> checkpoint_mmpt -> train_sft -> checkpoint_sft
                   -> train_rl -> checkpoint_rl

Each stage is one training run (DeepSpeed for cpt/mmpt/sft; online RL in model/rl) named after the corpus version it descends from, under
`<train.checkpoint_root>/<stage>/<corpus version>/`. Re-running a stage for the same corpus version
resumes (or, with `fresh=True`, restarts) that run and re-publishes its Asset, so only that stage and
the stages downstream of it run again: a safe backfill. Params select the stage config and the corpus
version. Heavy imports (torch, deepspeed) happen inside the task only.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from sciforge.dags.assets import CKPT_CPT, CKPT_MMPT, CKPT_RL, CKPT_SFT, CORPUS

DEFAULT_ARGS = {
    "owner": "ml-eng",
    "retries": 1,  # a retry resumes from the last checkpoint
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(days=7),
}
PARAMS = {
    "config": Param(None, type=["null", "string"], description="stage config YAML (default: settings.train)"),
    "corpus_ref": Param(None, type=["null", "string"],
                        description="corpus/snapshot/<version> (default: the triggering Asset event)"),
    "fresh": Param(False, type="boolean", description="delete the run and start over instead of resuming"),
    "max_steps": Param(None, type=["null", "integer"], description="cap the steps (smoke runs)"),
    "nproc": Param(1, type="integer", minimum=1, description="processes (torchrun) on this worker"),
    "hostfile": Param(None, type=["null", "string"],
                      description="DeepSpeed hostfile for a multi-node launch (default: settings.train.hostfile)"),
}


def _stage_dag(stage: str, upstream, outlet):  # type: ignore[no-untyped-def]
    @dag(dag_id=f"train_{stage}", schedule=[upstream], start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=False, max_active_runs=1, default_args=DEFAULT_ARGS, tags=["sciforge", "training"],
         params=PARAMS, doc_md=__doc__)
    def stage_dag() -> None:
        @task(task_id=stage, outlets=[outlet])
        def run(**context: object) -> dict:
            from sciforge.dags._train_tasks import run_stage

            return run_stage(stage, context, upstream, outlet)

        run()

    return stage_dag()


train_cpt = _stage_dag("cpt", CORPUS, CKPT_CPT)
train_mmpt = _stage_dag("mmpt", CKPT_CPT, CKPT_MMPT)
train_sft = _stage_dag("sft", CKPT_MMPT, CKPT_SFT)
train_rl = _stage_dag("rl", CKPT_SFT, CKPT_RL)
