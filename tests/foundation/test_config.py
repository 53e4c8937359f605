import json

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pipelines.config import load_settings


def test_defaults_are_the_local_profile():
    s = load_settings()
    assert s.profile == "local"
    assert s.spark.master == "local[*]"
    assert s.data_root.endswith("var/data")


def test_env_overrides_yaml(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIFORGE_SPARK__MASTER", "local[1]")
    monkeypatch.setenv("SCIFORGE_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("SCIFORGE_STAGES__WEB__MIN_WORDS", "42")
    s = load_settings()
    assert s.spark.master == "local[1]"
    assert s.data_root == str(tmp_path)
    assert s.stage("web") == {"min_words": "42"}


def test_cluster_profile_reads_its_yaml(monkeypatch):
    monkeypatch.setenv("SCIFORGE_PROFILE", "cluster")
    s = load_settings()
    assert s.profile == "cluster"
    assert s.spark.master.startswith("spark://")
    assert s.storage.data_root.startswith("s3://")


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SCIFORGE_PROFILE", "prod")
    with pytest.raises(ValueError, match="not a profile"):
        load_settings()


def test_wrong_key_is_rejected(monkeypatch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark:\n  mastr: local[2]\n")
    monkeypatch.setenv("SCIFORGE_CONFIG_FILE", str(bad))
    with pytest.raises(ValidationError, match="mastr"):
        load_settings()


def test_config_show_masks_secrets(monkeypatch):
    from pipelines.cli import app

    monkeypatch.setenv("SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY", "hunter2-very-secret")
    monkeypatch.setenv("SCIFORGE_AIRFLOW__SQL_ALCHEMY_CONN", "postgresql://airflow:pw123@db:5432/airflow")
    from pipelines.config import get_settings

    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["config", "show", "--json"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert "hunter2" not in res.output and "pw123" not in res.output
    data = json.loads(res.output)
    assert data["storage"]["s3_secret_access_key"] == "****"
    assert data["airflow"]["sql_alchemy_conn"] == "postgresql://airflow:****@db:5432/airflow"


def test_driver_jit_c1_only_off_local_masters():
    from jobs.spark import C1_ONLY, spark_conf

    cluster = spark_conf(load_settings(spark={"master": "spark://h:7077"}))
    assert cluster["spark.driver.extraJavaOptions"] == C1_ONLY
    # local[*]: the driver JVM runs the tasks too, so it keeps the JVM's default (tiered) JIT
    assert "spark.driver.extraJavaOptions" not in spark_conf(load_settings(spark={"master": "local[2]"}))
    assert "spark.driver.extraJavaOptions" not in spark_conf(
        load_settings(spark={"master": "spark://h:7077", "driver_jit": "tiered"}))
    # the user's own driver options are kept, and their own JIT choice wins
    mine = spark_conf(load_settings(spark={"master": "spark://h:7077",
                                           "extra_conf": {"spark.driver.extraJavaOptions": "-Xss4m"}}))
    assert mine["spark.driver.extraJavaOptions"] == f"{C1_ONLY} -Xss4m"
    theirs = spark_conf(load_settings(spark={"master": "spark://h:7077", "extra_conf": {
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=4"}}))
    assert theirs["spark.driver.extraJavaOptions"] == "-XX:TieredStopAtLevel=4"
    with pytest.raises(ValidationError, match="driver_jit"):
        load_settings(spark={"driver_jit": "c2"})
