"""Scale-out: the Kubernetes manifests, the image, the `cluster` profile agree with each other; the
spark-submit and multi-node DeepSpeed launch commands the DAG tasks build; and a real spark-submit of a
DAG task to a local Spark standalone cluster gives the same dataset as the in-process run."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from dags._train_tasks import launch_command, read_hostfile
from pipelines.config import REPO_ROOT, load_settings

K8S = REPO_ROOT / "infra" / "k8s"
DOCKERFILE = REPO_ROOT / "infra" / "docker" / "Dockerfile"
CLUSTER_SCOPED = {"Namespace"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def _docs(name: str | None = None) -> list[dict]:
    files = [K8S / name] if name else sorted(f for f in K8S.glob("*.yaml") if f.name != "kustomization.yaml")
    return [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]


def _by(kind: str, docs: list[dict] | None = None) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in (docs or _docs()) if d.get("kind") == kind}


def _pod(workload: dict) -> dict:
    return workload["spec"]["template"]


def _embedded_pod_templates() -> list[dict]:
    cm = _by("ConfigMap")["airflow-pod-template"]
    return [yaml.safe_load(cm["data"]["pod_template.yaml"])]


def _all_pods() -> list[tuple[str, dict]]:
    pods = [(n, _pod(w)) for kind in WORKLOADS for n, w in _by(kind).items()]
    return pods + [("pod-template", p) for p in _embedded_pod_templates()]


def test_manifests_are_well_formed():
    docs = _docs()
    assert docs
    for d in docs:
        assert {"apiVersion", "kind", "metadata"} <= d.keys(), d
        if d["kind"] not in CLUSTER_SCOPED:
            assert d["metadata"].get("namespace") == "sciforge", d["metadata"]
    for kind in WORKLOADS:
        for name, w in _by(kind).items():
            labels = _pod(w)["metadata"]["labels"]
            if kind != "Job":
                assert w["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
            for c in _pod(w)["spec"]["containers"]:
                assert c["name"] and c["image"] and c["resources"]["requests"], (name, c["name"])
                image = c["image"]
                # Our image is retagged by kustomize; third-party images are pinned.
                assert image == "sciforge:latest" or (":" in image and not image.endswith(":latest")), image
    # kustomize deploys every manifest except the per-run training Job and the example Secret.
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    expected = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secrets.example.yaml",
                                                       "training-job.yaml"}
    assert set(kust["resources"]) == expected
    assert [i["name"] for i in kust["images"]] == ["sciforge"]


def test_every_reference_resolves():
    docs = _docs()
    services, config_maps = _by("Service", docs), _by("ConfigMap", docs)
    secret = _by("Secret", docs)["sciforge-secrets"]  # secrets.example.yaml: the keys pods may use
    pvcs = _by("PersistentVolumeClaim", docs)
    accounts = _by("ServiceAccount", docs)
    pods = _all_pods()
    for name, pod in pods:
        spec = pod["spec"]
        claims = {t["metadata"]["name"] for w in _by("StatefulSet", docs).values()
                  for t in w["spec"].get("volumeClaimTemplates", [])}
        for v in spec.get("volumes", []):
            if "configMap" in v:
                assert v["configMap"]["name"] in config_maps, (name, v)
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in pvcs, (name, v)
        if "serviceAccountName" in spec:
            assert spec["serviceAccountName"] in accounts, name
        for c in spec["containers"]:
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in spec.get("volumes", [])} | claims, (name, mounts)
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in config_maps
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] == "sciforge-secrets"
            defined: list[str] = []
            for e in c.get("env", []):
                src = e.get("valueFrom", {})
                if "secretKeyRef" in src:
                    assert src["secretKeyRef"]["key"] in secret["stringData"], (name, e)
                # $(VAR) references must name a variable defined earlier in the same list.
                for var in re.findall(r"\$\((\w+)\)", str(e.get("value", ""))):
                    assert var in defined, (name, e)
                defined.append(e["name"])
            for var in re.findall(r"\$\((\w+)\)", " ".join(c.get("command", []))):
                assert var in defined, (name, var)
    # Every Service selects some pod, on a port that pod's container exposes.
    for sname, svc in services.items():
        sel = svc["spec"]["selector"].items()
        matching = [p for _, p in pods if sel <= p["metadata"]["labels"].items()]
        assert matching, f"service {sname} selects no pod"
        exposed = {cp["containerPort"] for p in matching for c in p["spec"]["containers"] for cp in c.get("ports", [])}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= exposed, sname
    for name, sts in _by("StatefulSet", docs).items():
        assert sts["spec"]["serviceName"] in services, name


def _service_port(host_port: str) -> None:
    host, port = host_port.rsplit(":", 1)
    svc = _by("Service")[host]
    assert int(port) in {p["port"] for p in svc["spec"]["ports"]}, host_port


def test_cluster_profile_points_at_the_deployed_services(monkeypatch):
    monkeypatch.setenv("SCIFORGE_PROFILE", "cluster")
    s = load_settings()
    assert s.spark.submit is True and s.airflow.executor == "CeleryExecutor"
    assert s.airflow.sql_alchemy_conn.startswith("postgresql+psycopg2://")
    _service_port(urlsplit(s.spark.master).netloc)
    _service_port(urlsplit(s.storage.s3_endpoint_url).netloc)
    _service_port(urlsplit(s.airflow.sql_alchemy_conn).netloc.rsplit("@", 1)[1])
    cfg = _by("ConfigMap")["sciforge-config"]["data"]
    assert cfg["SCIFORGE_PROFILE"] == "cluster" and cfg["AIRFLOW__CORE__EXECUTOR"] == s.airflow.executor
    assert cfg["AIRFLOW_HOME"] == s.airflow.home
    assert cfg["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/sciforge/dags"
    secret = _by("Secret")["sciforge-secrets"]["stringData"]
    _service_port(urlsplit(secret["AIRFLOW__CELERY__BROKER_URL"]).netloc.rsplit("@", 1)[1])
    db = urlsplit(secret["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).netloc.rsplit("@", 1)[1]
    assert db == urlsplit(s.airflow.sql_alchemy_conn).netloc.rsplit("@", 1)[1]
    # The checkpoint root is on the shared volume in the workers and in the training pods.
    train_job = _by("Job", _docs("training-job.yaml"))["sciforge-train"]
    for pod in (_pod(_by("StatefulSet")["airflow-worker"]), _pod(train_job), _embedded_pod_templates()[0]):
        assert s.train.checkpoint_root in {m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
    # Spark workers offer what one executor asks for.
    worker = _pod(_by("Deployment")["spark-worker"])["spec"]["containers"][0]["command"]
    cores = int(worker[worker.index("--cores") + 1])
    assert cores >= s.spark.executor_cores
    mem = worker[worker.index("--memory") + 1]
    assert int(mem.rstrip("g")) >= int(s.spark.executor_memory.rstrip("g"))


def test_training_job_matches_its_hostfile_and_the_launch_command(tmp_path):
    docs = _docs("training-job.yaml")
    job, svc = _by("Job", docs)["sciforge-train"], _by("Service", docs)["sciforge-train"]
    hostfile = tmp_path / "hostfile"
    hostfile.write_text(_by("ConfigMap", docs)["sciforge-train-hostfile"]["data"]["hostfile"])
    hosts = read_hostfile(hostfile)
    spec, pod = job["spec"], _pod(job)["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == len(hosts)
    assert svc["spec"]["clusterIP"] == "None" and pod["subdomain"] == svc["metadata"]["name"]
    assert list(hosts) == [f"{job['metadata']['name']}-{i}.{pod['subdomain']}" for i in range(len(hosts))]
    gpus = int(pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
    assert set(hosts.values()) == {gpus}
    script = pod["containers"][0]["command"][-1].replace("\\\n", " ")
    cmd = launch_command("STAGE", "CONFIG", hostfile=hostfile, node_rank=0, python="python")
    assert cmd is not None
    mount = next(m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] == "hostfile")
    cmd = [f"{mount}/hostfile" if a == str(hostfile) else a for a in cmd]
    flags = " ".join(cmd[1:cmd.index("--node_rank")])  # -m deepspeed.launcher.runner ... --no_ssh
    assert re.sub(r"\s+", " ", script).find(flags) > 0, (flags, script)
    assert '--node_rank "$JOB_COMPLETION_INDEX"' in script and "--module model.train.cli" in script
    assert svc["spec"]["ports"][0]["port"] == int(cmd[cmd.index("--master_port") + 1])


def test_dockerfile_installs_what_the_profile_needs():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    torch_pin = next(line.split("==")[1] for line in (REPO_ROOT / "constraints.txt").read_text().splitlines()
                     if line.startswith("torch=="))
    assert f"ARG TORCH_VERSION={torch_pin}" in text
    assert "-c constraints.txt" in text and "pip check" in text
    extras = re.search(r'ARG CLUSTER_EXTRAS="([^"]+)"', text)
    assert extras and all("==" in p for p in extras.group(1).split())
    assert {"apache-airflow-providers-celery", "apache-airflow-providers-cncf-kubernetes"} <= {
        p.split("==")[0] for p in extras.group(1).split()}
    for src in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for f in src.split():
            assert (REPO_ROOT / f).exists(), f
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in text
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignore)
    # Every command a manifest runs is on the image's PATH (the venv's bin) or a shell.
    venv_bin = {p.name for p in (REPO_ROOT / ".venv" / "bin").iterdir()} if (REPO_ROOT / ".venv").exists() else set()
    for name, pod in _all_pods():
        for c in pod["spec"]["containers"]:
            if c["image"] == "sciforge:latest" and c.get("command"):
                exe = c["command"][0]
                assert exe in {"sh", "python"} or not venv_bin or exe in venv_bin, (name, exe)


# ------------------------------------------------------------------------------ launch commands

def test_launch_commands_single_and_multi_node(tmp_path):
    assert launch_command("cpt", "c.json") is None  # in-process
    torchrun = launch_command("cpt", "c.json", nproc=4, python="py")
    assert torchrun == ["py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4", "-m",
                        "model.train.cli", "cpt", "--config", "c.json"]
    hf = tmp_path / "hostfile"
    hf.write_text("# two nodes\nnode-a slots=8\n\nnode-b slots=8  # second\n")
    assert read_hostfile(hf) == {"node-a": 8, "node-b": 8}
    ds = launch_command("sft", "c.json", hostfile=hf, python="py", launcher="openmpi", master_port=29600)
    assert ds == ["py", "-m", "deepspeed.launcher.runner", "--hostfile", str(hf), "--master_addr", "node-a",
                  "--master_port", "29600", "--launcher", "openmpi", "--module", "model.train.cli", "sft",
                  "--config", "c.json"]
    k8s = launch_command("sft", "c.json", hostfile=hf, python="py", master_addr="10.0.0.5", node_rank=1)
    assert k8s is not None and k8s[k8s.index("--master_addr") + 1] == "10.0.0.5"
    assert k8s[k8s.index("--no_ssh"):k8s.index("--module")] == ["--no_ssh", "--node_rank", "1"]
    assert "--launcher" not in k8s
    with pytest.raises(ValueError, match="node_rank 2"):
        launch_command("sft", "c.json", hostfile=hf, node_rank=2)


@pytest.mark.parametrize("text, match", [("", "lists no hosts"), ("node-a\n", "expected '<host> slots=<n>'"),
                                         ("a slots=2\na slots=4\n", "listed twice"),
                                         ("a slots=0\n", "expected")])
def test_bad_hostfiles_are_refused_before_launch(tmp_path, text, match):
    hf = tmp_path / "hostfile"
    hf.write_text(text)
    with pytest.raises(ValueError, match=match):
        launch_command("cpt", "c.json", hostfile=hf)
    with pytest.raises(FileNotFoundError):
        launch_command("cpt", "c.json", hostfile=tmp_path / "missing")


def test_spark_submit_command_from_the_cluster_settings():
    from dags._tasks import _REF, spark_submit_command, submit_env

    s = load_settings(spark={"master": "spark://spark-master:7077", "submit": True, "executor_memory": "16g",
                             "submit_args": ["--py-files", "deps.zip"]},
                      storage={"data_root": "s3://sciforge/data", "s3_endpoint_url": "http://s3:8333",
                               "s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "s3cr3t-value"})
    cmd = spark_submit_command(s, "dedup", ["--input", "clean/web_pages/v", "--date", "2026-01-01"])
    assert Path(cmd[0]).name == "spark-submit" and Path(cmd[0]).exists()
    assert cmd[1:3] == ["--master", "spark://spark-master:7077"]
    confs = {cmd[i + 1].split("=", 1)[0]: cmd[i + 1].split("=", 1)[1] for i, a in enumerate(cmd) if a == "--conf"}
    assert confs["spark.executor.memory"] == "16g" and confs["spark.pyspark.python"] == sys.executable
    assert "spark.driver.host" not in confs  # cluster: the driver advertises its own address
    job = cmd.index(str(REPO_ROOT / "jobs" / "dedup.py"))
    assert cmd[job - 2:job] == ["--py-files", "deps.zip"] and Path(cmd[job]).is_file()
    assert cmd[job + 1:] == ["--input", "clean/web_pages/v", "--date", "2026-01-01"]
    assert not any("s3cr3t" in a or "AKIAEXAMPLE" in a for a in cmd)  # secrets stay off the command line
    env = submit_env(s)
    assert env["SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY"] == "s3cr3t-value"
    assert env["SCIFORGE_SPARK__MASTER"] == "spark://spark-master:7077" and env["PYSPARK_PYTHON"] == sys.executable
    line = "raw/web/2026-01-01_0123456789ab: 79 rows; quarantined 1 (quarantine/web/2026-01-01_0123456789ab)"
    assert [m.group(0) for m in _REF.finditer(line)][0] == "raw/web/2026-01-01_0123456789ab"


# --------------------------------------------------------------- spark-submit on a real cluster

@pytest.mark.slow  # a standalone master + worker and one spark-submit: ~1-2 min on 2 busy cores
@pytest.mark.services
@pytest.mark.spark
def test_dag_task_through_spark_submit_equals_in_process(settings, demo_corpus, tmp_path):
    from infra.services.seaweed import pick_base
    from infra.services.standalone import StandaloneCluster
    from jobs.ingest import run_ingest
    from pipelines.datasets import read_manifest
    from pipelines.storage import open_storage

    day = "2026-01-01"
    landing = tmp_path / "landing"
    (landing / f"dt={day}" / "warc").mkdir(parents=True)
    for f in sorted((demo_corpus / "warc").iterdir()):
        (landing / f"dt={day}" / "warc" / f.name).write_bytes(f.read_bytes())
    base = pick_base(30000, 40000)
    cluster = StandaloneCluster(tmp_path / "spark", port=base, ui_port=base + 1, workers=1, worker_cores=2,
                                worker_memory="1g")
    cluster.start()
    try:
        code = textwrap.dedent("""
            import datetime as dt, json, logging
            from dags._tasks import ingest_interval
            logging.basicConfig(level=logging.INFO)
            out = ingest_interval("warc", {"logical_date": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                                           "params": {"engine": "spark"}})
            print("SUMMARY", json.dumps(out))
        """)
        env = {**os.environ, "SCIFORGE_SPARK__SUBMIT": "true", "SCIFORGE_SPARK__MASTER": cluster.master_url,
               "SCIFORGE_SPARK__EXECUTOR_MEMORY": "768m", "SCIFORGE_SPARK__DRIVER_MEMORY": "1g",
               "SCIFORGE_DATA_ROOT": str(tmp_path / "submitted"), "SCIFORGE_INGEST__LANDING_ROOT": str(landing),
               "SPARK_LOCAL_IP": "127.0.0.1"}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env,
                             cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
        master_log = (tmp_path / "spark" / "master.log").read_text()
        # the job ran as an application on the cluster (not in a local[*] driver)
        assert "Registering app" in master_log or "Registered app" in master_log
    finally:
        cluster.stop()
    summary = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("SUMMARY")).split(" ", 1)[1])
    assert "spark-submit" in out.stderr  # the task logged the command it ran
    ref, m_local, _ = run_ingest(settings, str(landing / f"dt={day}" / "warc"), "warc", day, engine="local")
    assert summary["ref"] == ref.key and summary["counters"] == m_local["counters"]
    m_sub = read_manifest(open_storage(str(tmp_path / "submitted")), ref)
    assert [f["sha256"] for f in m_sub["files"]] == [f["sha256"] for f in m_local["files"]]
    assert dt.date.fromisoformat(ref.version[:10]) == dt.date(2026, 1, 1)


@pytest.mark.slow  # imports DeepSpeed in 3 processes: ~20-40 s
def test_deepspeed_runner_accepts_the_multi_node_command(tmp_path):
    """DeepSpeed's own runner, given the command launch_command builds for node 0 of a one-node
    hostfile with 2 slots (the Kubernetes form: --no_ssh --node_rank), starts 2 ranks that see the
    world size, their ranks, the master address and the stage arguments."""
    (tmp_path / "rank_probe.py").write_text(textwrap.dedent("""
        import json, os, sys
        keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
        print("PROBE", json.dumps({"env": {k: os.environ.get(k) for k in keys}, "argv": sys.argv[1:]}), flush=True)
    """))
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    from infra.services.seaweed import pick_base

    port = pick_base(29600, 29900)
    cmd = launch_command("cpt", "run.json", hostfile=hostfile, master_addr="127.0.0.1", master_port=port,
                         node_rank=0, module="rank_probe")
    assert cmd is not None
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    probes = [json.loads(x.split(" ", 1)[1]) for x in out.stdout.splitlines() if x.startswith("PROBE")]
    assert sorted(p["env"]["RANK"] for p in probes) == ["0", "1"]
    assert {p["env"]["WORLD_SIZE"] for p in probes} == {"2"}
    assert {(p["env"]["MASTER_ADDR"], p["env"]["MASTER_PORT"]) for p in probes} == {("127.0.0.1", str(port))}
    # the stage arguments reach the module (after DeepSpeed's --local_rank, which model.train.cli drops)
    assert all(p["argv"][-3:] == ["cpt", "--config", "run.json"] for p in probes)
