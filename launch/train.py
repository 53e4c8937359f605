"""Launch one training stage: resolve its run folder and config, then run it through sciforge.model.train.

* in-process (nproc 1, no hostfile);
* `torchrun --standalone --nproc_per_node=N` on this machine (nproc > 1);
* multi-node: DeepSpeed's runner over a hostfile (setting `train.hostfile` or param `hostfile`):
  `python -m deepspeed.launcher.runner --hostfile H --master_addr A --master_port P --launcher pdsh
  --module sciforge.model.train.cli <stage> --config <run config>`; every host needs the same image, the
  repository at the same path and `train.checkpoint_root` on shared storage (infra/README.md). The
  remote ranks get the caller's settings and credentials through a 0600 settings file on that storage
  (remote_rank_env), never through the launcher's command line.

No Airflow here: the training DAGs' tasks (dags/_train_tasks.py) resolve their inputs from the run's
params and Asset events and call :func:`run_training`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("sciforge.launch.train")
STAGES = ("cpt", "mmpt", "sft", "rl")
UPSTREAM_STAGE = {"mmpt": "cpt", "sft": "mmpt", "rl": "sft"}
TRAIN_MODULE = "sciforge.model.train.cli"  # what every rank runs (`python -m` / `deepspeed --module`)


def read_hostfile(path: str | Path) -> dict[str, int]:
    """Hosts and slots of a DeepSpeed hostfile (``<host> slots=<n>`` per line, ``#`` comments), checked
    here so that a typo fails the task with a clear message before any launch."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"hostfile {p} does not exist")
    hosts: dict[str, int] = {}
    for n, raw in enumerate(p.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(\S+)\s+slots=(\d+)", line)
        if not m or int(m.group(2)) < 1:
            raise ValueError(f"{p}:{n}: expected '<host> slots=<n>' (n >= 1), got {raw!r}")
        if m.group(1) in hosts:
            raise ValueError(f"{p}:{n}: host {m.group(1)} listed twice")
        hosts[m.group(1)] = int(m.group(2))
    if not hosts:
        raise ValueError(f"hostfile {p} lists no hosts")
    return hosts


def launch_command(stage: str, cfg_file: str | Path, *, nproc: int = 1, hostfile: str | Path | None = None,
                   master_addr: str | None = None, master_port: int = 29500, launcher: str = "pdsh",
                   node_rank: int | None = None, python: str = sys.executable,
                   module: str = TRAIN_MODULE) -> list[str] | None:
    """The command that runs one training stage, or None to run it in this process.

    With a hostfile, DeepSpeed's runner starts every rank: from this node over ssh (``launcher``,
    pdsh by default), or, with ``node_rank``, only this node's ranks without ssh (each node runs the
    same command with its own rank: a Kubernetes indexed Job, see infra/k8s/training/training-job.yaml).
    """
    tail = [stage, "--config", str(cfg_file)]
    if hostfile:
        hosts = read_hostfile(hostfile)
        if node_rank is not None and not 0 <= node_rank < len(hosts):
            raise ValueError(f"node_rank {node_rank} is not in [0, {len(hosts)}) for {hostfile}")
        where = ["--launcher", launcher] if node_rank is None else ["--no_ssh", "--node_rank", str(node_rank)]
        return [python, "-m", "deepspeed.launcher.runner", "--hostfile", str(hostfile),
                "--master_addr", master_addr or next(iter(hosts)), "--master_port", str(master_port),
                *where, "--module", module, *tail]
    if nproc > 1:
        return [python, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                "-m", module, *tail]
    return None


# DeepSpeed's runner reads the variables to export to the ranks it starts over ssh (pdsh, MPI launchers)
# from the file DS_ENV_FILE names (default: .deepspeed_env in the home or current folder), one KEY=VALUE
# per line; it puts them on the launcher's command line (`export K=V; ...` for pdsh, `-x K=V` for
# OpenMPI) and logs that line. So the secrets never go there: the settings, credentials included, go
# to a dotenv file (mode 0600) on the storage every node shares (train.checkpoint_root) that
# sciforge.pipelines.config reads from SCIFORGE_ENV_FILE; the exports file names that file and the profile only.
# DS_ENV_FILE may be an absolute path: the runner os.path.join()s it to ~ and ., which keeps it whole.
DS_ENV_FILE_VAR = "DS_ENV_FILE"
_DS_SAFE_VALUE = re.compile(r"[\w@%+=:,./-]*")  # what the runner passes through unquoted


def _revealed(model: Any) -> dict[str, Any]:
    """A settings model as plain data with its secrets in clear (for the 0600 settings file only)."""
    from pydantic import BaseModel, SecretStr

    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, BaseModel):
            value = _revealed(value)
        out[name] = value
    return out


def _dotenv_quote(text: str) -> str:
    """``text`` single-quoted for python-dotenv (pydantic-settings), which decodes \\\\ and \\' there."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable and writable by its owner only (0600), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def remote_rank_env(settings: Any, folder: str | Path, name: str) -> tuple[dict[str, str], list[Path]]:
    """Write what the ranks DeepSpeed starts on other hosts need to see this task's settings.

    ``folder`` must be on storage that every host mounts at the same path. Returns the variables to add
    to the runner's environment (DS_ENV_FILE) and the files written (delete them after the launch):
    ``<name>.settings.env``: every setting as ``SCIFORGE_<FIELD>='<json>'`` (credentials resolved from
    the Airflow connection included), and ``<name>.deepspeed_env``: SCIFORGE_PROFILE, SCIFORGE_ENV_FILE
    and OMP_NUM_THREADS=1 for the runner to export. Both 0600.
    """
    from sciforge.pipelines.config import ENV_FILE_VAR, ENV_PREFIX

    root = Path(folder).resolve()
    settings_file, ds_file = root / f"{name}.settings.env", root / f"{name}.deepspeed_env"
    lines = []
    for field, value in _revealed(settings).items():
        # a str field is read as it is, every other (numbers, sections, mappings) as JSON
        blob = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        lines.append(f"{ENV_PREFIX}{field.upper()}={_dotenv_quote(blob)}")
    exports = {f"{ENV_PREFIX}PROFILE": settings.profile, ENV_FILE_VAR: str(settings_file),
               "OMP_NUM_THREADS": "1"}  # one thread per rank (STACK.md, "Threads")
    for key, value in exports.items():
        if not _DS_SAFE_VALUE.fullmatch(value):
            raise ValueError(f"{key}={value!r}: DeepSpeed's runner cannot export this value unquoted; "
                             "use a path of letters, digits and ._-/ only")
    _write_private(settings_file, "\n".join(lines) + "\n")
    _write_private(ds_file, "".join(f"{k}={v}\n" for k, v in exports.items()))
    return {DS_ENV_FILE_VAR: str(ds_file)}, [settings_file, ds_file]


def launch(cmd: list[str], settings: Any, folder: str | Path, name: str, *, remote_ranks: bool) -> None:
    """Run a launch command to its end (CalledProcessError if it fails). With ``remote_ranks`` (DeepSpeed's
    runner starting ranks on other hosts), the settings files of remote_rank_env exist exactly as long
    as the launch."""
    # One thread per rank: N ranks x all cores each would thrash (STACK.md, "Threads").
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    written: list[Path] = []
    if remote_ranks:
        extra, written = remote_rank_env(settings, folder, name)
        env.update(extra)
    log.info("launching: %s", " ".join(cmd))
    try:
        subprocess.run(cmd, check=True, env=env)
    finally:
        for f in written:
            f.unlink(missing_ok=True)


UPSTREAM_FILE = "upstream.json"


def upstream_fingerprint(export: str | Path) -> dict[str, Any]:
    """sha256 of every weights/config file of an upstream export (what a downstream stage starts from)."""
    root = Path(export)
    files = sorted(p for p in root.glob("*") if p.suffix in (".safetensors", ".json") and p.is_file())
    if not files:
        raise FileNotFoundError(f"upstream export {root} has no weights: run the upstream stage first")
    out = {}
    for p in files:
        h = hashlib.sha256()
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        out[p.name] = h.hexdigest()
    return {"export": str(root), "sha256": out}


def check_upstream(run_dir: Path, export: str) -> None:
    """Resume `run_dir` only if it was started from these upstream weights; otherwise start it over.

    A new upstream checkpoint (a re-trained mmpt for the same corpus version, say) triggers the stages
    after it; resuming their old run folders would keep weights trained from the old upstream.
    """
    fp = upstream_fingerprint(export)
    marker = run_dir / UPSTREAM_FILE
    if run_dir.exists() and marker.exists():
        before = json.loads(marker.read_text())
        if before.get("sha256") != fp["sha256"]:
            log.info("upstream %s changed since %s was started: starting the run over", export, run_dir)
            shutil.rmtree(run_dir)
    elif run_dir.exists() and any(run_dir.iterdir()):
        log.info("%s has no %s (an older run): starting it over from %s", run_dir, UPSTREAM_FILE, export)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        marker.write_text(json.dumps(fp, indent=2, sort_keys=True) + "\n")



class StageSkipped(Exception):
    """The stage has nothing to run (its data is not configured): the caller skips it, not fails it."""


def run_training(settings: Any, stage: str, corpus_ref: str, upstream_export: str | None = None,
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run training stage ``stage`` on the corpus snapshot ``corpus_ref`` (``corpus/snapshot/<v>``) to its end.

    ``upstream_export``: the export folder of the stage before (default: that stage's run for the same
    corpus version under ``train.checkpoint_root``). ``params``: the run's overrides: ``max_steps``,
    ``config``, ``fresh`` (start the run folder over), ``nproc``, ``hostfile``. Returns
    ``{"stage", "corpus", "run_dir", "export", "summary"}``; StageSkipped when SFT has no data.
    """
    from sciforge.model.train.config import TrainConfig

    if stage not in STAGES:
        raise ValueError(f"unknown training stage {stage!r}; expected one of {', '.join(STAGES)}")
    t = settings.train
    params = params or {}
    version = corpus_ref.rstrip("/").split("/")[-1]
    root = Path(settings.resolve_path(t.checkpoint_root))
    overrides: dict[str, Any] = {"run": version, "out_dir": str(root)}
    if stage == "cpt":
        overrides["data"] = {"root": settings.data_root, "ref": corpus_ref}
    else:
        overrides["model"] = upstream_export or str(root / UPSTREAM_STAGE[stage] / version / "export")
    if stage == "sft":
        if not t.sft_data:
            raise StageSkipped("train_sft: no SFT data configured (set train.sft_data / "
                               "SCIFORGE_TRAIN__SFT_DATA to a JSONL of chat records)")
        overrides["data"] = {"path": settings.resolve_path(t.sft_data)}
    max_steps = params.get("max_steps") or t.max_steps
    if max_steps:
        overrides["steps" if stage == "rl" else "max_steps"] = int(max_steps)
    config = settings.resolve_path(params.get("config") or getattr(t, f"{stage}_config"))
    cfg: Any
    if stage == "rl":
        from sciforge.model.rl.config import RLConfig

        cfg = RLConfig.load(config, **overrides)
    else:
        cfg = TrainConfig.load(config, **overrides)
    run_dir = cfg.run_dir()
    if params.get("fresh") and run_dir.exists():
        log.info("fresh=True: removing %s", run_dir)
        shutil.rmtree(run_dir)
    if stage != "cpt":  # the run continues only from the same upstream weights it started from
        check_upstream(run_dir, str(overrides["model"]))
    nproc = int(params.get("nproc") or 1)
    hostfile = params.get("hostfile") or t.hostfile
    cfg_file = run_dir.parent / f"{version}.train_config.json"
    cmd = launch_command(stage, cfg_file, nproc=nproc,
                         hostfile=settings.resolve_path(hostfile) if hostfile else None,
                         master_addr=t.master_addr, master_port=t.master_port, launcher=t.launcher,
                         node_rank=t.node_rank)
    if cmd is not None:
        cfg_file.parent.mkdir(parents=True, exist_ok=True)
        cfg_file.write_text(cfg.model_dump_json(indent=2))
        launch(cmd, settings, cfg_file.parent, f"{version}.{os.getpid()}",
               remote_ranks=bool(hostfile) and t.node_rank is None)
        summary = json.loads((run_dir / "summary.json").read_text())
    elif stage == "rl":
        from sciforge.model.rl.trainer import train_rl

        summary = train_rl(cfg)
    else:
        from sciforge.model.train import train

        summary = train(cfg)
    export = str(run_dir / "export")
    log.info("train_%s for %s: %s", stage, corpus_ref, {k: summary.get(k) for k in ("steps", "tokens")})
    return {"stage": stage, "corpus": corpus_ref, "run_dir": str(run_dir), "export": export,
            "summary": {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}}
