"""One typed configuration for every stage.

Resolution order (later wins): field defaults < ``infra/config/<profile>.yaml`` <
environment (``SCIFORGE_<SECTION>__<KEY>``, plus the shortcut ``SCIFORGE_DATA_ROOT``) <
keyword arguments. The profile comes from ``SCIFORGE_PROFILE`` (``local`` by default).
"""

from __future__ import annotations

import hashlib
import json
import os
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

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILE_DIR = REPO_ROOT / "infra" / "config"
PROFILES = ("local", "cluster")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    # `storage`: datasets go through pipelines.storage (works on any cluster, no S3A jars);
    # `s3a`: use Spark's own Hadoop S3A connector (clusters that ship hadoop-aws).
    io_mode: Literal["storage", "s3a"] = "storage"
    extra_conf: dict[str, str] = Field(default_factory=dict)
    # Run each job as its own Spark application through `spark-submit --master <master> jobs/<job>.py`
    # (the `cluster` profile) instead of a driver inside the Airflow task process. Off by default: the
    # embedded profile runs Spark inside the task (STACK.md, "Spark runs fine inside a task").
    submit: bool = False
    submit_args: list[str] = Field(default_factory=list,
                                   description="extra spark-submit arguments, e.g. ['--py-files', 'deps.zip']")


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
        env_prefix="SCIFORGE_", env_nested_delimiter="__", extra="ignore"
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
        return (init_settings, _ShortcutEnv(settings_cls), env_settings, _ProfileYaml(settings_cls))

    # -- helpers -------------------------------------------------------------------------
    def resolve_path(self, p: str) -> str:
        """Relative local paths are taken from the repository root (not the CWD)."""
        if "://" in p or os.path.isabs(p):
            return p
        return str((REPO_ROOT / p).resolve())

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


_SECRET_WORDS = ("secret", "password", "token", "access_key")


def _mask(obj: Any, key: str = "") -> Any:
    if isinstance(obj, dict):
        return {k: _mask(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_mask(v, key) for v in obj]
    if obj and any(w in key.lower() for w in _SECRET_WORDS):
        return "****"
    if isinstance(obj, str) and "://" in obj and "@" in obj:  # credentials inside a URL
        scheme, rest = obj.split("://", 1)
        userinfo, host = rest.rsplit("@", 1)
        if ":" in userinfo:
            return f"{scheme}://{userinfo.split(':', 1)[0]}:****@{host}"
    return obj


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
        return data


class _ShortcutEnv(PydanticBaseSettingsSource):
    """SCIFORGE_DATA_ROOT is the documented shortcut for storage.data_root."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        root = os.environ.get("SCIFORGE_DATA_ROOT")
        return {"storage": {"data_root": root}} if root else {}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are nested dicts (``storage={"data_root": ...}``)."""
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def config_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys, no whitespace)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()
