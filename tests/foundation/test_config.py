import json

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from sciforge.pipelines.config import ConfigError, install_log_masking, is_secret_key, load_settings


def test_defaults_are_the_local_profile():
    s = load_settings()
    assert s.profile == "local"
    assert s.spark.master == "local[*]"
    assert s.data_root.endswith("var/data")


def test_env_overrides_yaml(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIFORGE_SPARK__MASTER", "local[1]")
    monkeypatch.setenv("SCIFORGE_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("SCIFORGE_STAGES__WEB__QUALITY__MIN_WORDS", "42")
    s = load_settings()
    assert s.spark.master == "local[1]"
    assert s.data_root == str(tmp_path)
    assert s.stage("web") == {"quality": {"min_words": 42}}


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


@pytest.mark.parametrize("text,unknown,suggested", [
    ("spark:\n  mastr: local[2]\n", "spark.mastr", "spark.master"),
    ("sparkk:\n  master: local[2]\n", "sparkk", "spark"),  # a top-level typo
    ("profil: local\n", "profil", "profile"),
    ("stages:\n  web:\n    quality:\n      min_word: 5\n", "stages.web.quality.min_word",
     "stages.web.quality.min_words"),  # inside a stage's own typed config
    ("stages:\n  dedupe:\n    threshold: 0.8\n", "stages.dedupe", "stages.dedup"),  # an unknown stage
    ("stages:\n  tokenizer:\n    train:\n      vocab_siz: 10\n", "stages.tokenizer.train.vocab_siz",
     "stages.tokenizer.train.vocab_size"),
    ("seed:\n  value: 3\n", "seed.value", None),  # keys under a plain value
])
def test_unknown_yaml_key_at_any_level_names_the_closest(monkeypatch, tmp_path, text, unknown, suggested):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    monkeypatch.setenv("SCIFORGE_CONFIG_FILE", str(bad))
    with pytest.raises(ConfigError) as e:
        load_settings()
    msg = str(e.value)
    assert f"unknown configuration key `{unknown}` in {bad}" in msg, msg
    if suggested:
        assert f"did you mean `{suggested}`?" in msg, msg
    else:
        assert "did you mean" not in msg and "takes a value, not keys" in msg, msg


@pytest.mark.parametrize("var,suggested", [
    ("SCIFORGE_SPARKK__MASTER", "SCIFORGE_SPARK__MASTER"),
    ("SCIFORGE_SPARK_MASTER", "SCIFORGE_SPARK__MASTER"),  # one underscore: not a section separator
    ("SCIFORGE_SPARK__MASTR", "SCIFORGE_SPARK__MASTER"),
    ("SCIFORGE_STORAGE__S3_SECRET_KEY", "SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY"),
    ("SCIFORGE_STAGES__DEDUP__TRESHOLD", "SCIFORGE_STAGES__DEDUP__THRESHOLD"),
    ("SCIFORGE_DATAROOT", "SCIFORGE_DATA_ROOT"),
])
def test_unknown_env_variable_names_the_closest(monkeypatch, var, suggested):
    monkeypatch.setenv(var, "1")
    with pytest.raises(ConfigError, match=f"environment variable {var} sets the unknown configuration key .*"
                       f"did you mean {suggested}\\?"):
        load_settings()


def test_known_env_variables_and_free_form_maps_are_accepted(monkeypatch):
    monkeypatch.setenv("SCIFORGE_CACHE", "/tmp/x")  # not a configuration key, read by the tokenizer
    monkeypatch.setenv("SCIFORGE_STAGES__DEDUP__THRESHOLD", "0.7")
    s = load_settings(spark={"extra_conf": {"spark.sql.anything.goes": "1"}})  # Spark's keys, not ours
    assert float(s.stage("dedup")["threshold"]) == 0.7
    assert s.spark.extra_conf == {"spark.sql.anything.goes": "1"}


def test_unknown_keyword_argument_names_the_closest():
    with pytest.raises(ConfigError, match=r"`stages\.dedup\.threshhold` in load_settings\(\) arguments; "
                       r"did you mean `stages\.dedup\.threshold`"):
        load_settings(stages={"dedup": {"threshhold": 0.5}})
    with pytest.raises(ConfigError, match="did you mean `spark`"):
        load_settings(sparkk={"master": "local[1]"})


@pytest.mark.parametrize("key,secret", [
    ("spark.hadoop.fs.s3a.access.key", True), ("spark.hadoop.fs.s3a.secret.key", True),
    ("AWS_SECRET_ACCESS_KEY", True), ("s3_access_key_id", True), ("accessKey", True), ("api-key", True),
    ("auth_token", True), ("githubToken", True), ("db.password", True), ("PGPASSWD", True),
    ("aws.credentials.provider", True), ("client_secret", True),
    ("tokenizer", False), ("max_tokens", False), ("auth_secret_file", False), ("ssl_key_path", False), ("master", False), ("data_root", False), ("seq_len", False),
])
def test_secret_keys_by_pattern(key, secret):
    assert is_secret_key(key) is secret


def test_config_show_masks_secrets(monkeypatch):
    from sciforge.cli import app

    monkeypatch.setenv("SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY", "hunter2-very-secret")
    monkeypatch.setenv("SCIFORGE_STORAGE__S3_ACCESS_KEY_ID", "AKIA-access-id-77")
    monkeypatch.setenv("SCIFORGE_AIRFLOW__SQL_ALCHEMY_CONN", "postgresql://airflow:pw123@db:5432/airflow")
    monkeypatch.setenv("SCIFORGE_SPARK__EXTRA_CONF", json.dumps({
        "spark.hadoop.fs.s3a.access.key": "s3a-access-55", "spark.hadoop.fs.s3a.secret.key": "s3a-secret-66",
        "spark.executorEnv.AWS_SECRET_ACCESS_KEY": "env-secret-88", "spark.sql.shuffle.partitions": "8",
        "spark.jdbc.url": "jdbc:postgresql://h/db?user=u&password=qpass99"}))
    from sciforge.pipelines.config import get_settings

    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["config", "show", "--json"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    for secret in SECRETS:
        assert secret not in res.output, secret
    data = json.loads(res.output)
    assert data["storage"]["s3_secret_access_key"] == "****"
    assert data["storage"]["s3_access_key_id"] == "****"
    assert data["airflow"]["sql_alchemy_conn"] == "postgresql://airflow:****@db:5432/airflow"
    conf = data["spark"]["extra_conf"]
    assert conf["spark.hadoop.fs.s3a.access.key"] == conf["spark.hadoop.fs.s3a.secret.key"] == "****"
    assert conf["spark.executorEnv.AWS_SECRET_ACCESS_KEY"] == "****"
    assert conf["spark.sql.shuffle.partitions"] == "8"  # not a secret: shown
    assert conf["spark.jdbc.url"] == "jdbc:postgresql://h/db?user=u&password=****"


SECRETS = ("hunter2", "AKIA-access-id-77", "pw123", "s3a-access-55", "s3a-secret-66", "env-secret-88", "qpass99")


def _secret_settings():
    return load_settings(
        storage={"s3_secret_access_key": "hunter2-very-secret", "s3_access_key_id": "AKIA-access-id-77"},
        airflow={"sql_alchemy_conn": "postgresql://airflow:pw123@db:5432/airflow"},
        spark={"extra_conf": {"spark.hadoop.fs.s3a.access.key": "s3a-access-55",
                              "spark.hadoop.fs.s3a.secret.key": "s3a-secret-66",
                              "spark.executorEnv.AWS_SECRET_ACCESS_KEY": "env-secret-88"}})


def test_reprs_never_show_a_secret():
    from sciforge.pipelines.storage import S3Storage, open_storage

    s = _secret_settings()
    shown = [repr(s), str(s), repr(s.storage), str(s.spark), repr(s.airflow), f"{s.storage!r}"]
    st = open_storage("s3://bucket/prefix", s.storage_options())
    assert isinstance(st, S3Storage) and st.secret_key == "hunter2-very-secret"  # the value itself is kept
    shown += [repr(st), str(st), f"{st}"]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
    assert "****" in repr(st) and "s3://bucket/prefix" in repr(st)


def test_log_records_never_show_a_secret(caplog):
    import logging

    s = _secret_settings()
    install_log_masking(s)
    log = logging.getLogger("sciforge.test_config")
    with caplog.at_level(logging.INFO):
        log.info("connecting with key %s and secret %s", "AKIA-access-id-77", "hunter2-very-secret")
        log.warning("metadata DB %s; conf %s", s.airflow.sql_alchemy_conn, s.spark.extra_conf)
        log.info("a URL never configured: https://user:p4ssw0rd@example.org/x?token=tok123&page=2")
        log.info("nothing secret: %s", "local[2]")
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (*SECRETS, "p4ssw0rd", "tok123"):
        assert secret not in text, (secret, text)
    assert "nothing secret: local[2]" in text and "page=2" in text and "https://user:****@example.org" in text


def test_driver_jit_c1_only_off_local_masters():
    from sciforge.jobs.spark import C1_ONLY, spark_conf

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


def test_dynamic_executors_off_local_masters():
    from sciforge.jobs.spark import spark_conf

    conf = spark_conf(load_settings(spark={"master": "spark://h:7077"}))
    assert conf["spark.dynamicAllocation.enabled"] == "true"
    assert conf["spark.dynamicAllocation.shuffleTracking.enabled"] == "true"
    assert conf["spark.dynamicAllocation.initialExecutors"] == "1"
    assert "spark.dynamicAllocation.enabled" not in spark_conf(load_settings(spark={"master": "local[2]"}))
    static = spark_conf(load_settings(spark={"master": "spark://h:7077", "executor_allocation": "static"}))
    assert not any(k.startswith("spark.dynamicAllocation") for k in static)
    theirs = spark_conf(load_settings(spark={"master": "spark://h:7077", "initial_executors": 3, "extra_conf": {
        "spark.dynamicAllocation.enabled": "false"}}))
    assert theirs["spark.dynamicAllocation.enabled"] == "false"  # the user's own conf wins
    assert theirs["spark.dynamicAllocation.initialExecutors"] == "3"
    with pytest.raises(ValidationError, match="executor_allocation"):
        load_settings(spark={"executor_allocation": "auto"})


def test_class_archives_for_drivers_and_executors_off_local_masters(tmp_path):
    from sciforge.jobs.spark import C1_ONLY, spark_conf

    conf = spark_conf(load_settings(spark={"master": "spark://h:7077", "class_archive_dir": str(tmp_path)}))
    assert conf["spark.driver.extraJavaOptions"] == f"{C1_ONLY} -XX:SharedArchiveFile={tmp_path}/driver.jsa"
    assert conf["spark.executor.extraJavaOptions"] == f"-XX:SharedArchiveFile={tmp_path}/executor.jsa"
    # local[*]: one JVM that the caller started, so no JVM options of ours
    local = spark_conf(load_settings(spark={"master": "local[2]", "class_archive_dir": str(tmp_path)}))
    assert not {"spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"} & set(local)
    # off by default, and the user's own sharing options win
    assert "spark.executor.extraJavaOptions" not in spark_conf(load_settings(spark={"master": "spark://h:7077"}))
    theirs = spark_conf(load_settings(spark={"master": "spark://h:7077", "class_archive_dir": str(tmp_path),
                                             "extra_conf": {"spark.executor.extraJavaOptions": "-Xshare:off"}}))
    assert theirs["spark.executor.extraJavaOptions"] == "-Xshare:off"


def test_config_show_refuses_a_typo_with_the_closest_key(monkeypatch):
    from sciforge.cli import app
    from sciforge.pipelines.config import get_settings

    monkeypatch.setenv("SCIFORGE_SPARK__MASTR", "local[1]")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["config", "show"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 2, res.output
    assert "SCIFORGE_SPARK__MASTR" in res.output and "did you mean SCIFORGE_SPARK__MASTER?" in res.output


def test_a_process_that_loads_its_settings_never_logs_their_secrets(tmp_path):
    """get_settings() installs the masking: a job that logs its storage options (secrets revealed, as the
    executors need them) or a connection URL still writes no secret to its log."""
    import os
    import subprocess
    import sys

    code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
            "from sciforge.pipelines.config import get_settings\n"
            "s = get_settings()\n"
            "log = logging.getLogger('jobs.example')\n"
            "log.info('storage options: %s', s.storage_options())\n"
            "log.info('metadata DB: %s', s.airflow.sql_alchemy_conn)\n"
            "print('done')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIFORGE_")}
    env.update({"SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY": "hunter2-very-secret",
                "SCIFORGE_STORAGE__S3_ACCESS_KEY_ID": "AKIA-access-id-77",
                "SCIFORGE_AIRFLOW__SQL_ALCHEMY_CONN": "postgresql://airflow:pw123@db:5432/airflow"})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0 and "done" in out.stdout, out.stderr[-3000:]
    assert "storage options:" in out.stderr and "postgresql://airflow:****@db" in out.stderr, out.stderr
    for secret in ("hunter2", "AKIA-access-id-77", "pw123"):
        assert secret not in out.stderr + out.stdout, secret
