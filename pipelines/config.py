"""One typed configuration for every stage.

Resolution order (later wins): field defaults < ``infra/config/<profile>.yaml`` <
environment (``SCIFORGE_<SECTION>__<KEY>``, plus the shortcut ``SCIFORGE_DATA_ROOT``) <
keyword arguments. The profile comes from ``SCIFORGE_PROFILE`` (``local`` by default).

Strict: an unknown key at any level (a YAML section or key, a ``SCIFORGE_*`` variable, a keyword
argument, a ``stages.<stage>`` option, checked against the stage's own typed config) is a
``ConfigError`` naming the closest valid key. Secrets are masked by key pattern (``is_secret_key``)
and inside URLs in ``Settings.masked()``, in reprs and in log records (``SecretsFilter``).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# The folder holding the layer folders (infra/, jobs/, dags/, ...): the repository root in a source checkout,
# the installed `sciforge` package otherwise (the wheel ships infra/config, the DAGs and jobs/<job>.py in it).
REPO_ROOT = Path(__file__).resolve().parent.parent
# A source checkout (REPO_ROOT is the repository) or an installed wheel (REPO_ROOT is site-packages/sciforge).
SOURCE_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file()
# The folder holding the `sciforge` package: what a fresh Python process (a Spark executor, the Airflow
# components) needs on its PYTHONPATH to import this code. Never REPO_ROOT itself in a wheel, where that
# would make the layers importable under their bare folder names.
IMPORT_ROOT = REPO_ROOT if SOURCE_CHECKOUT else REPO_ROOT.parent
PROFILE_DIR = REPO_ROOT / "infra" / "config"
PROFILES = ("local", "cluster")
ENV_PREFIX = "SCIFORGE_"


def work_root() -> Path:
    """Where relative local paths (``./var/data``, the local services' state) live: the repository root in a
    source checkout, the current directory when sciforge runs from an installed wheel."""
    return REPO_ROOT if SOURCE_CHECKOUT else Path.cwd()


class ConfigError(ValueError):
    """An unknown (misspelt) configuration key; the message names the closest valid key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def __repr_args__(self) -> Any:  # repr() and str() never show a secret
        return list(_mask(json.loads(self.model_dump_json())).items())


class StorageSettings(Section):
    data_root: str = Field("./var/data", description="local folder or s3://bucket/prefix")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (None = AWS)")
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    # Local S3 servers (SeaweedFS, MinIO) need path-style addressing.
    s3_path_style: bool = True
    airflow_conn_id: str | None = Field(None, description="Airflow connection holding S3 credentials")


class SparkSettings(Section):
    master: str = "local[*]"
    app_name: str = "sciforge"
    driver_memory: str = "3g"
    executor_memory: str = "2g"
    executor_cores: int = 1
    shuffle_partitions: int = 4
    arrow_batch_size: int = 2000
    # Compiled whole-stage-codegen classes Spark keeps per JVM (`spark.sql.codegen.cache.maxEntries`,
    # Spark's default 100). One dedup run plans ~35 queries of several codegen stages each, so
    # the default cache evicted a run's classes before the next query (or the next run) reused
    # them: every reuse recompiled (Janino) and the JIT compiled the new classes again. Measured
    # (bench/dedup_throughput.py, 100k pages, local[1], quiet machine): JIT threads 23 CPU-s ->
    # 8-14 CPU-s per warm run, the whole run 79 -> 54-60 CPU-s. A class is a few KB of metaspace.
    codegen_cache_entries: int = Field(2000, ge=100)
    # JIT of the driver JVM when the executors are separate JVMs (any master but local[*]):
    # "c1" stops tiered compilation at C1 (`-XX:TieredStopAtLevel=1`). A driver here only plans
    # queries and schedules tasks (no job collects data to it), Catalyst code that C2 compiles at
    # a high CPU cost and that never runs long enough to repay it: the driver's compiler threads
    # then compete with its planning thread. Measured (bench/dedup_throughput.py --standalone,
    # 100k pages, driver under a 0.66-CPU quota): the driver-only time of a dedup run 25-28 -> 14-17 s
    # in a fresh JVM and 8-11 -> 5-10.5 s warm (5.1-6.5 in 3 of 4 runs); the driver's quota
    # throttled it 195 -> 39 s over the bench. Never applied to local[*], whose driver JVM also runs
    # the tasks (C1 only there: a warm 100k run's CPU 60 -> 81 CPU-s). "tiered": the JVM's default.
    driver_jit: Literal["c1", "tiered"] = "c1"
    # Executors of an application on a cluster master (any master but local[*]): "dynamic" asks for
    # executors as the job's tasks queue up (Spark's dynamic allocation with shuffle tracking, which
    # needs no external shuffle service: `spark.dynamicAllocation.*`), starting with
    # `initial_executors`, up to what the cluster gives; "static": every core the cluster offers at
    # once. A submitted job pays each executor's start (a JVM, its JIT, the Python worker: ~4
    # CPU-seconds each) whether its tasks use it or not: on a 2-worker cluster a bare application of
    # one task costs 16.3 CPU-seconds and 11.2 s with "static", 12.2 and 9.4 s with "dynamic"
    # (`python bench/submit_overhead.py --rounds 3 --variants cds,cds+dynamic`, medians, 2-core machine
    # at load 2-3). A job of many tasks gets more executors after
    # `spark.dynamicAllocation.schedulerBacklogTimeout` (1 s), doubling each second while tasks wait.
    executor_allocation: Literal["dynamic", "static"] = "dynamic"
    initial_executors: int = Field(1, ge=0, description="executors an application starts with ('dynamic')")
    # A folder with JDK class-data-sharing archives of the classes a driver and an executor load
    # (driver.jsa, executor.jsa; made for this machine's JDK and Spark jars by
    # infra/services/class_archives.py, which `python -m sciforge.infra.services up` runs). Drivers and
    # executors then map Spark's classes instead of loading them from its jars at every start; a
    # missing archive, or one made for another JDK or classpath, is ignored by the JVM. Not used by
    # local[*] masters (their JVM is started by the caller). None: off.
    class_archive_dir: str | None = Field(None, description="folder of driver.jsa / executor.jsa CDS archives")
    # `storage`: datasets go through sciforge.pipelines.storage (works on any cluster, no S3A jars);
    # `s3a`: use Spark's own Hadoop S3A connector (clusters that ship hadoop-aws).
    io_mode: Literal["storage", "s3a"] = "storage"
    extra_conf: dict[str, str] = Field(default_factory=dict)
    # Run each job as its own Spark application through `spark-submit --master <master> jobs/<job>.py`
    # (the `cluster` profile) instead of a driver inside the Airflow task process. Off by default: the
    # embedded profile runs Spark inside the task (STACK.md, "Spark runs fine inside a task").
    submit: bool = False
    submit_args: list[str] = Field(default_factory=list,
                                   description="extra spark-submit arguments, e.g. ['--py-files', 'deps.zip']")
    # Where a driver listens (RPC, block manager and UI). Executors connect back to it, so on a cluster
    # this is the driver pod's address (infra/k8s: the pod IP, SCIFORGE_SPARK__DRIVER_HOST); on one
    # machine, loopback. The driver then binds that address only, never every interface.
    driver_host: str = Field("127.0.0.1", description="address a Spark driver binds and advertises")
    ui_enabled: bool = Field(False, description="serve the driver's web UI (on driver_host:4040)")
    # spark.authenticate: a file holding the cluster's shared secret (the standalone master, workers and
    # every application must hold the same one). The driver reads it when it builds its session (a
    # job under spark-submit too), so it never appears on a command line or in `config show`. None:
    # authentication off (local masters, whose executors live in the driver's JVM).
    auth_secret_file: str | None = Field(None, description="file holding spark.authenticate's secret")
    # Input of one map task (web scoring, text pages, tokenizing), in Parquet bytes: a larger part is
    # split into row ranges (sciforge.pipelines.datasets.plan_part_slices), so parallelism follows the data's
    # size, not its file count. 32 MiB of zstd Parquet is ~100 MB of text, ~10k web pages: minutes of
    # work per task at the measured ~40 pages/s per core (bench/web_throughput.py), long enough to
    # amortize a task's start, short enough to spread over a cluster and retry cheaply. Both engines
    # cut the same way, so local and cluster runs write the same parts.
    task_input_bytes: int = Field(32 << 20, ge=1 << 10)


class AirflowSettings(Section):
    home: str = "./var/airflow"
    executor: str = "LocalExecutor"
    sql_alchemy_conn: str = ""
    parallelism: int = 4


class IngestSettings(Section):
    landing_root: str = "./var/landing"
    # Rows per Parquet part of a raw dataset: bounds the memory of one writer
    # (raw HTML averages ~50 KB per Common Crawl record, so 2000 rows ~ 100 MB).
    records_per_part: int = 2000
    # A WARC response body above this is quarantined as `record_too_large` instead of
    # being held in memory (Common Crawl truncates payloads at 1 MiB; 16 MiB is generous).
    max_record_bytes: int = 16 * 1024 * 1024
    # PDFs above this are registered but quarantined as `pdf_too_large` (parsing cost).
    max_pdf_bytes: int = 256 * 1024 * 1024


class TrainSettings(Section):
    """Where the training DAGs find their stage configs and put checkpoints."""

    checkpoint_root: str = "./var/checkpoints"  # checkpoints/<stage>/<run>/ (ARCHITECTURE.md)
    cpt_config: str = "model/train/configs/cpt_tiny.yaml"
    mmpt_config: str = "model/train/configs/mmpt_tiny.yaml"
    sft_config: str = "model/train/configs/sft_tiny.yaml"
    rl_config: str = "model/train/configs/rl_tiny.yaml"
    sft_data: str | None = Field(None, description="JSONL of chat records for SFT (none: the stage is skipped)")
    max_steps: int | None = Field(None, description="cap every stage's steps (smoke runs)")
    # Multi-node training: a DeepSpeed hostfile ("<host> slots=<n>" per line, DeepSpeed's own format).
    # When set, every stage is launched by DeepSpeed's runner across those hosts instead of torchrun
    # on the Airflow worker; the hosts need the same image/venv, code and a shared checkpoint_root.
    hostfile: str | None = Field(None, description="DeepSpeed hostfile for multi-node launches")
    launcher: Literal["pdsh", "openmpi", "mpich", "impi", "slurm", "mvapich"] = "pdsh"  # DeepSpeed's default
    master_addr: str | None = Field(None, description="rank 0's address (default: first host in the hostfile)")
    master_port: int = 29500  # torch.distributed's default port (TORCH_DISTRIBUTED_DEFAULT_PORT)
    node_rank: int | None = Field(None, description="launch only this node's ranks, without ssh (each node "
                                  "runs the stage with its own rank, e.g. a Kubernetes indexed Job)")


class Settings(BaseSettings):
    """The effective configuration of sciforge."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    profile: Literal["local", "cluster"] = "local"
    seed: int = 20250815  # Intern-S1 technical report date; any fixed seed works
    storage: StorageSettings = StorageSettings()
    spark: SparkSettings = SparkSettings()
    airflow: AirflowSettings = AirflowSettings()
    ingest: IngestSettings = IngestSettings()
    train: TrainSettings = TrainSettings()
    stages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-stage options (web, pdf, dedup, tokenizer, ...)"
    )

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        if v not in PROFILES:
            raise ValueError(f"unknown profile {v!r}; choose one of {PROFILES}")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # dotenv: the file named by SCIFORGE_ENV_FILE (load_settings), below the real environment.
        return (init_settings, _ShortcutEnv(settings_cls), _StrictEnv(settings_cls), env_settings,
                dotenv_settings, _ProfileYaml(settings_cls))

    def __repr_args__(self) -> Any:  # repr() and str() never show a secret
        return list(self.masked().items())

    # -- helpers -------------------------------------------------------------------------
    def resolve_path(self, p: str) -> str:
        """Relative local paths are taken from the repository root in a source checkout (not the CWD), from
        the current directory in an installed package (`work_root`)."""
        if "://" in p or os.path.isabs(p):
            return p
        return str((work_root() / p).resolve())

    @property
    def data_root(self) -> str:
        return self.resolve_path(self.storage.data_root)

    def stage(self, name: str) -> dict[str, Any]:
        return dict(self.stages.get(name, {}))

    def masked(self) -> dict[str, Any]:
        """The configuration as plain data, secrets replaced by '****'."""
        return _mask(json.loads(self.model_dump_json()))

    def storage_options(self) -> dict[str, Any]:
        """Picklable storage options (secrets revealed) for Spark executors and tasks."""
        s = self.storage
        return {
            "endpoint_url": s.s3_endpoint_url,
            "region": s.s3_region,
            "access_key": s.s3_access_key_id.get_secret_value() if s.s3_access_key_id else None,
            "secret_key": s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None,
            "path_style": s.s3_path_style,
            "airflow_conn_id": s.airflow_conn_id,
        }


MASK = "****"
# A key names a secret when one of its words (split at any separator and at camelCase humps) contains
# one of these, or ends with "key" / "token" (accessKey, api_key, AWS_SECRET_ACCESS_KEY,
# spark.hadoop.fs.s3a.access.key, auth-token), or is "pwd". "tokenizer" or "max_tokens" are not secrets.
_SECRET_PARTS = ("secret", "password", "passwd", "passphrase", "credential")
_SECRET_ENDINGS = ("key", "token")
_LOCATION_WORDS = ("file", "path", "dir")  # the key names where a secret is stored, shown as it is
_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+|(?<=[a-z0-9])(?=[A-Z])")
# user:password@ inside a URL, and secret-named query parameters (?password=..., &token=...)
_URL_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):(?P<pw>[^@\s/]+)@")
_QUERY_SECRET = re.compile(r"(?P<head>[?&;](?P<name>[^=&;\s]+)=)(?P<value>[^&;\s]+)")


def is_secret_key(key: str) -> bool:
    """Does ``key`` name a secret, in any separator style? (Not a key naming where a secret is kept:
    ``auth_secret_file``, ``key_path``.)"""
    words = [w.lower() for w in _WORD_SPLIT.split(str(key)) if w]
    if words and words[-1] in _LOCATION_WORDS:
        return False
    return any(p in w for w in words for p in _SECRET_PARTS) or any(
        w.endswith(_SECRET_ENDINGS) or w == "pwd" for w in words)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, secret query parameters and the given secret values masked."""
    out = _URL_USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    out = _QUERY_SECRET.sub(lambda m: m["head"] + (MASK if is_secret_key(m["name"]) else m["value"]), out)
    for s in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}, key=len, reverse=True):
        out = out.replace(s, MASK)
    return out


# Values shorter than this are not searched for in log text (a 1-3 character "secret" would mask
# unrelated words); real keys and passwords are longer.
_MIN_SECRET_CHARS = 4


def _mask(obj: Any, key: str = "") -> Any:
    if isinstance(obj, dict):
        return {k: _mask(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_mask(v, key) for v in obj]
    if obj and key and is_secret_key(key):
        return MASK
    if isinstance(obj, str):  # credentials inside a URL
        return mask_text(obj)
    return obj


def secret_values(obj: Any, key: str = "") -> set[str]:
    """Every non-empty string stored under a secret-named key, and every URL password, in ``obj``."""
    out: set[str] = set()
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="python")
    if isinstance(obj, SecretStr):
        obj = obj.get_secret_value()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out |= secret_values(v, str(k))
    elif isinstance(obj, list | tuple):
        for v in obj:
            out |= secret_values(v, key)
    elif isinstance(obj, str) and obj:
        if key and is_secret_key(key):
            out.add(obj)
        out |= {m["pw"] for m in _URL_USERINFO.finditer(obj)}
    return out


class SecretsFilter(logging.Filter):
    """Masks secret values (and URL passwords) in the records it filters (never drops one)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("sciforge.secrets")
        self.secrets = set(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is left as it is
            return True
        masked = mask_text(msg, self.secrets)
        if masked != msg:
            record.msg, record.args = masked, ()
        return True


_LOG_MASK = SecretsFilter()
_factory_installed = False


def install_log_masking(settings: Settings) -> SecretsFilter:
    """Mask ``settings``' secrets (and any URL password) in every log record this process creates.

    Installed through the log-record factory, so it holds for every logger and handler (sciforge's,
    py4j's, boto's, Airflow's stdlib loggers), whenever they were configured. ``get_settings()`` calls
    it; idempotent, the secrets of later settings are added."""
    global _factory_installed
    _LOG_MASK.secrets |= secret_values(settings)
    if not _factory_installed:
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            _LOG_MASK.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True
    return _LOG_MASK


# ---------------------------------------------------------------------------------------------
# strict keys

# SCIFORGE_* variables that are not configuration keys (read by other parts of the code).
OTHER_ENV = frozenset({
    "SCIFORGE_CONFIG_FILE",  # a profile YAML outside infra/config/
    "SCIFORGE_DATA_ROOT",  # shortcut for storage.data_root
    "SCIFORGE_CACHE",  # tokenizer / reader cache folder
    "SCIFORGE_FP8_BACKEND", "SCIFORGE_FP8_CUDA_EXT",  # kernels/
    "SCIFORGE_PG_BINDIR",  # infra/services/postgres.py
    "SCIFORGE_LOCAL_S3_ACCESS_KEY", "SCIFORGE_LOCAL_S3_SECRET_KEY",  # infra/services (local SeaweedFS)
    "SCIFORGE_GIT_COMMIT",  # the commit an image was built from (sciforge.pipelines.datasets.code_version)
    "SCIFORGE_ENV_FILE",  # a dotenv file of settings (ENV_FILE_VAR, load_settings)
})
# The typed config of each stage under `stages.<stage>` ("module:Class"; the tokenizer has two sections).
# Only the key names are checked at load time; each stage validates the values when it runs.
STAGE_CONFIGS: dict[str, str | dict[str, str]] = {
    "web": "sciforge.pipelines.web.config:WebConfig",
    "pdf": "sciforge.pipelines.pdf.config:PdfConfig",
    "dedup": "sciforge.pipelines.dedup.config:DedupConfig",
    "corpus": "sciforge.pipelines.corpus.config:CorpusConfig",
    "tokenizer": {"train": "sciforge.pipelines.tokenizer.config:TrainConfig",
                  "detector": "sciforge.pipelines.tokenizer.config:DetectorConfig"},
}
_CLOSE_CUTOFF = 0.6  # difflib's default similarity for "did you mean"


_FREE = "free-form"  # a mapping field whose keys are the user's (spark.extra_conf): not checked


def _model_in(annotation: Any) -> Any:
    """The BaseModel class of a field's annotation (``X``, ``X | None``); _FREE for a mapping or Any;
    None for a scalar."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if annotation is Any or typing.get_origin(annotation) in (dict, Mapping) or annotation is dict:
        return _FREE
    kinds = [_model_in(a) for a in typing.get_args(annotation)]
    return next((k for k in kinds if isinstance(k, type)), _FREE if _FREE in kinds else None)


def _schema_of(spec: str | dict[str, str]) -> Any:
    """A stage's schema: a BaseModel class, or {section: class} (resolved lazily)."""
    if isinstance(spec, dict):
        return {k: _schema_of(v) for k, v in spec.items()}
    module, cls = spec.split(":")
    return getattr(importlib.import_module(module), cls)


def _children(schema: Any) -> dict[str, Any] | None:
    """Valid keys under ``schema`` and the schema of each (None: a leaf or a free-form mapping)."""
    if schema is Settings:
        out: dict[str, Any] = {k: _model_in(f.annotation) for k, f in Settings.model_fields.items()}
        out["stages"] = {k: _schema_of(v) for k, v in STAGE_CONFIGS.items()}
        return out
    if isinstance(schema, dict):
        return schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return {k: _model_in(f.annotation) for k, f in schema.model_fields.items()}
    return None  # a scalar, or a free-form mapping


def unknown_key(data: Mapping[str, Any], schema: Any = None) -> tuple[list[str], str | None] | None:
    """The first unknown key in ``data`` (nested mappings) as (path, closest valid key), or None."""
    schema = Settings if schema is None else schema

    def walk(d: Mapping[str, Any], sch: Any, path: list[str]) -> tuple[list[str], str | None] | None:
        valid = _children(sch)
        if valid is None:
            return None
        for k in sorted(d, key=str):
            if k not in valid:
                close = difflib.get_close_matches(str(k), [str(v) for v in valid], n=1, cutoff=_CLOSE_CUTOFF)
                return [*path, str(k)], close[0] if close else None
            if isinstance(d[k], Mapping) and d[k] and valid[k] is None:  # keys under a plain value
                return [*path, str(k), str(sorted(d[k], key=str)[0])], None
            if isinstance(d[k], Mapping):
                found = walk(d[k], valid[k], [*path, str(k)])
                if found:
                    return found
        return None

    return walk(data, schema, [])


def check_keys(data: Mapping[str, Any], where: str, schema: Any = None) -> None:
    """Raise ConfigError for the first unknown key in ``data``, naming the closest valid one."""
    found = unknown_key(data, schema)
    if found is None:
        return
    path, close = found
    hint = f"; did you mean `{'.'.join([*path[:-1], close])}`?" if close else ""
    valid = sorted(str(k) for k in (_children(_schema_at(schema, path[:-1])) or {}))
    where_valid = f"valid here: {', '.join(valid)}" if valid else f"`{'.'.join(path[:-1])}` takes a value, not keys"
    raise ConfigError(f"unknown configuration key `{'.'.join(path)}` in {where}{hint} ({where_valid})")


def _schema_at(schema: Any, path: list[str]) -> Any:
    sch = Settings if schema is None else schema
    for k in path:
        sch = (_children(sch) or {}).get(k)
    return sch


def _env_names(schema: Any = None, path: tuple[str, ...] = ()) -> list[str]:
    """Every SCIFORGE_* variable name a key can be set by (sections and leaves)."""
    out = []
    for k, sub in (_children(Settings if schema is None else schema) or {}).items():
        name = ENV_PREFIX + "__".join((*path, k)).upper()
        out.append(name)
        out += _env_names(sub, (*path, k)) if sub not in (None, _FREE) else []
    return out


def check_env(environ: Mapping[str, str]) -> None:
    """Every SCIFORGE_* variable must be a configuration key (or one of OTHER_ENV)."""
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in OTHER_ENV:
            continue
        parts = upper[len(ENV_PREFIX):].lower().split("__")
        nested: dict[str, Any] = {}
        cur = nested
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = environ[name]
        found = unknown_key(nested)
        if found is None:
            continue
        close = difflib.get_close_matches(upper, [*_env_names(), *OTHER_ENV], n=1, cutoff=_CLOSE_CUTOFF)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(f"environment variable {name} sets the unknown configuration key "
                          f"`{'.'.join(found[0])}`{hint}")


class _ProfileYaml(PydanticBaseSettingsSource):
    """Loads infra/config/<profile>.yaml (profile from init kwargs or SCIFORGE_PROFILE)."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        profile = os.environ.get("SCIFORGE_PROFILE", "local")
        self.path = Path(os.environ.get("SCIFORGE_CONFIG_FILE", PROFILE_DIR / f"{profile}.yaml"))
        if profile not in PROFILES and "SCIFORGE_CONFIG_FILE" not in os.environ:
            raise ValueError(f"SCIFORGE_PROFILE={profile!r} is not a profile; choose one of {PROFILES}")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.exists():
            raise FileNotFoundError(f"configuration file {self.path} does not exist")
        data = yaml.safe_load(self.path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: expected a mapping at the top level")
        check_keys(data, str(self.path))
        return data


class _StrictEnv(PydanticBaseSettingsSource):
    """Contributes nothing; refuses SCIFORGE_* variables that name no configuration key (pydantic-settings
    would ignore them silently)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        check_env(os.environ)
        return {}


class _ShortcutEnv(PydanticBaseSettingsSource):
    """SCIFORGE_DATA_ROOT is the documented shortcut for storage.data_root."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        root = os.environ.get("SCIFORGE_DATA_ROOT")
        return {"storage": {"data_root": root}} if root else {}


# A dotenv file of SCIFORGE_* settings read below the environment: how the ranks that DeepSpeed's runner
# starts on other hosts get the launching task's settings and credentials without a command line
# carrying them (launch/train.py writes it, mode 0600).
ENV_FILE_VAR = "SCIFORGE_ENV_FILE"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are nested dicts (``storage={"data_root": ...}``)."""
    check_keys(overrides, "load_settings() arguments")
    env_file = os.environ.get(ENV_FILE_VAR)
    if env_file:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached); from here on its log records never show their secrets."""
    s = load_settings()
    install_log_masking(s)
    return s


def config_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys, no whitespace)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()
