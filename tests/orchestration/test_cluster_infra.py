"""Scale-out: the Kubernetes manifests (rendered the way `kubectl apply -k` renders them and validated
against the Kubernetes API schemas), the image, the `cluster` profile and the code agree with each other:
names, ports, credentials, providers, sizes, network policies; the spark-submit and multi-node DeepSpeed
launch commands the DAG tasks build (settings and credentials reach remote ranks by file, never on a
command line); and a real spark-submit of a DAG task to a local Spark standalone cluster gives the same
dataset as the in-process run."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sciforge.launch.train import launch, launch_command, read_hostfile, remote_rank_env
from sciforge.pipelines.config import REPO_ROOT, check_env, load_settings

K8S = REPO_ROOT / "infra" / "k8s"
TRAINING = K8S / "training"
DOCKER = REPO_ROOT / "infra" / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
CLUSTER_SCOPED = {"Namespace"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
# The oldest Kubernetes release the manifests must validate against (Indexed Jobs, NetworkPolicy
# port ranges and every field used here are GA there).
K8S_VERSION = "1.30"


# ------------------------------------------------------------------ rendering (kustomize's subset)

_KUSTOMIZE_FIELDS = {"apiVersion", "kind", "namespace", "resources", "components", "images"}


def _kustomization(folder: Path) -> dict[str, Any]:
    k = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(k) - _KUSTOMIZE_FIELDS
    assert not unknown, f"{folder}: the test renderer implements {sorted(_KUSTOMIZE_FIELDS)}, not {unknown}"
    return k


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if doc["kind"] in WORKLOADS else spec if doc["kind"] == "Pod" else {}
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _rewrite_image(image: str, rules: list[dict[str, str]]) -> str:
    """kustomize's `images:` transformer: match on the name (no tag/digest), replace name, tag, digest."""
    name, digest = image.split("@", 1) if "@" in image else (image, None)
    tag = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    for rule in rules:
        if rule["name"] == name:
            name = rule.get("newName", name)
            if "digest" in rule:
                return f"{name}@{rule['digest']}"
            tag = rule.get("newTag", tag)
            return f"{name}:{tag}" if tag else f"{name}@{digest}" if digest else name
    return image


def render(folder: Path) -> list[dict[str, Any]]:
    """`kustomize build folder` for the fields the kustomizations here use: resources (files inside the
    folder, as kustomize's load restrictor demands, or other kustomization folders), components,
    namespace and images. kustomize is not on PyPI or in Debian's current release with components."""
    k = _kustomization(folder)
    docs: list[dict[str, Any]] = []
    images: list[dict[str, str]] = list(k.get("images", []))
    for res in k.get("resources", []):
        path = (folder / res).resolve()
        if path.is_dir():
            docs += render(path)
            continue
        assert path.is_relative_to(folder.resolve()), f"{res}: kustomize refuses files outside {folder}"
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for comp in k.get("components", []):
        ck = _kustomization((folder / comp).resolve())
        assert ck["kind"] == "Component", comp
        images += ck.get("images", [])
        docs += [d for r in ck.get("resources", []) for d in yaml.safe_load_all(((folder / comp) / r).read_text()) if d]
    docs = copy.deepcopy(docs)
    for d in docs:
        if k.get("namespace") and d["kind"] not in CLUSTER_SCOPED:
            d["metadata"]["namespace"] = k["namespace"]
        for c in _containers(d):
            c["image"] = _rewrite_image(c["image"], images)
    return docs


def _image() -> str:
    rule = yaml.safe_load((K8S / "image" / "kustomization.yaml").read_text())["images"][0]
    return f"{rule['newName']}:{rule['newTag']}"


DEPLOYED = render(K8S)
TRAINING_DOCS = render(TRAINING)
SECRET_EXAMPLE = yaml.safe_load((K8S / "secrets.example.yaml").read_text())


def _by(kind: str, docs: list[dict] | None = None) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in (DEPLOYED if docs is None else docs) if d.get("kind") == kind}


def _pod(workload: dict) -> dict:
    return workload["spec"]["template"]


def _embedded_pod_templates() -> list[dict]:
    cm = _by("ConfigMap")["airflow-pod-template"]
    return [yaml.safe_load(cm["data"]["pod_template.yaml"])]


def _all_pods() -> list[tuple[str, dict]]:
    docs = DEPLOYED + TRAINING_DOCS
    pods = [(n, _pod(w)) for kind in WORKLOADS for n, w in _by(kind, docs).items()]
    return pods + [("pod-template", p) for p in _embedded_pod_templates()]


def _ours(container: dict) -> bool:
    return container["image"] in {_image(), "sciforge:latest"}


def _script(container: dict) -> str:
    return " ".join(container.get("command", []) + container.get("args", [])).replace("\\\n", " ")


# ------------------------------------------------------------------------------ the manifests

def test_kustomizations_render_every_manifest_with_the_image():
    deployed, training = {(d["kind"], d["metadata"]["name"]) for d in DEPLOYED}, TRAINING_DOCS
    assert len(deployed) == len(DEPLOYED)  # no resource twice
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secrets.example.yaml"}
    assert set(_kustomization(K8S)["resources"]) == files  # every manifest is deployed ...
    assert [p.name for p in TRAINING.glob("*.yaml") if p.name != "kustomization.yaml"] == ["training-job.yaml"]
    assert _by("Job", training)["sciforge-train"]  # ... and the per-run training Job has its own
    assert _image() != "sciforge:latest" or _kustomization(K8S / "image")["images"][0]["name"] == "sciforge"
    for d in DEPLOYED + TRAINING_DOCS:
        assert {"apiVersion", "kind", "metadata"} <= d.keys(), d
        if d["kind"] not in CLUSTER_SCOPED:
            assert d["metadata"].get("namespace") == "sciforge", d["metadata"]
        for c in _containers(d):
            assert c["name"] and c["image"] and c["resources"]["requests"], (d["metadata"]["name"], c["name"])
            # Ours carries the image of image/kustomization.yaml in BOTH renders; third-party images pinned.
            assert c["image"] == _image() or (":" in c["image"] and not c["image"].endswith(":latest")
                                              and not c["image"].startswith("sciforge")), c["image"]
    assert any(c["image"] == _image() for c in _containers(_by("Job", training)["sciforge-train"]))
    for kind in WORKLOADS:
        for name, w in _by(kind).items():
            if kind != "Job":
                assert w["spec"]["selector"]["matchLabels"].items() <= _pod(w)["metadata"]["labels"].items(), name


def test_renderer_rewrites_images_like_kustomize():
    rules = [{"name": "sciforge", "newName": "reg.example.com/sciforge", "newTag": "0.1"}]
    assert _rewrite_image("sciforge:latest", rules) == "reg.example.com/sciforge:0.1"
    assert _rewrite_image("sciforge", rules) == "reg.example.com/sciforge:0.1"
    assert _rewrite_image("redis:7.4-bookworm", rules) == "redis:7.4-bookworm"
    assert _rewrite_image("sciforge-other:1", rules) == "sciforge-other:1"
    assert _rewrite_image("sciforge:latest", [{"name": "sciforge", "digest": "sha256:" + "a" * 64}]) == \
        "sciforge@sha256:" + "a" * 64


def test_rendered_manifests_validate_against_the_kubernetes_schemas():
    import kubernetes_validate

    docs = DEPLOYED + TRAINING_DOCS + [SECRET_EXAMPLE] + _embedded_pod_templates()
    for d in docs:
        # strict: an unknown or misspelt field is an error too (the API server would drop it silently)
        kubernetes_validate.validate(d, K8S_VERSION, strict=True)
    assert len(docs) >= 30
    broken = copy.deepcopy(_by("StatefulSet")["seaweedfs"])
    broken["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []  # a typo the API would ignore
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_every_reference_resolves():
    docs = DEPLOYED + TRAINING_DOCS
    services, config_maps = _by("Service", docs), _by("ConfigMap", docs)
    secret = SECRET_EXAMPLE["stringData"]
    pvcs = _by("PersistentVolumeClaim", docs)
    accounts = _by("ServiceAccount", docs)
    pods = _all_pods()
    claims = {t["metadata"]["name"] for w in _by("StatefulSet", docs).values()
              for t in w["spec"].get("volumeClaimTemplates", [])}
    for name, pod in pods:
        spec = pod["spec"]
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
                    assert ref["secretRef"]["name"] == SECRET_EXAMPLE["metadata"]["name"]
            defined: list[str] = []
            for e in c.get("env", []):
                src = e.get("valueFrom", {})
                if "secretKeyRef" in src:
                    assert src["secretKeyRef"]["key"] in secret, (name, e)
                # $(VAR) references must name a variable defined earlier in the same list.
                for var in re.findall(r"\$\((\w+)\)", str(e.get("value", ""))):
                    assert var in defined, (name, e)
                defined.append(e["name"])
            for var in re.findall(r"\$\((\w+)\)", " ".join(c.get("command", []) + c.get("args", []))):
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
    secret = SECRET_EXAMPLE["stringData"]
    _service_port(urlsplit(secret["AIRFLOW__CELERY__BROKER_URL"]).netloc.rsplit("@", 1)[1])
    db = urlsplit(secret["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).netloc.rsplit("@", 1)[1]
    assert db == urlsplit(s.airflow.sql_alchemy_conn).netloc.rsplit("@", 1)[1]
    # The checkpoint root is on the shared volume in the workers and in the training pods.
    train_job = _by("Job", TRAINING_DOCS)["sciforge-train"]
    for pod in (_pod(_by("StatefulSet")["airflow-worker"]), _pod(train_job), _embedded_pod_templates()[0]):
        assert s.train.checkpoint_root in {m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
    # Spark workers offer what one executor asks for.
    worker = _script(_pod(_by("Deployment")["spark-worker"])["spec"]["containers"][0]).split()
    cores = int(worker[worker.index("--cores") + 1])
    assert cores >= s.spark.executor_cores
    mem = worker[worker.index("--memory") + 1]
    assert int(mem.rstrip("g")) >= int(s.spark.executor_memory.rstrip("g"))


# ------------------------------------------------------------------- credentials: Secret -> code

def _pod_env(container: dict, secret: dict[str, str]) -> dict[str, str]:
    """The environment Kubernetes gives ``container`` (envFrom, then env), with the example Secret."""
    config_maps = _by("ConfigMap")
    env: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        if "configMapRef" in ref:
            env.update(config_maps[ref["configMapRef"]["name"]]["data"])
        if "secretRef" in ref:
            env.update(secret)
    for e in container.get("env", []):
        src = e.get("valueFrom", {})
        if "secretKeyRef" in src:
            env[e["name"]] = secret[src["secretKeyRef"]["key"]]
        elif "value" in e:  # $(VAR): an earlier variable of the same container, as Kubernetes expands it
            env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), str(e["value"]))
        else:
            env[e["name"]] = "10.0.0.7"  # fieldRef: status.podIP
    return env


def test_every_sciforge_pod_gets_settings_and_credentials_under_the_names_the_code_reads(monkeypatch):
    secret = SECRET_EXAMPLE["stringData"]
    # Every SCIFORGE_* name the Secret, the ConfigMap and the image define is one the Settings accept
    # (check_env raises on any other: pydantic-settings would ignore it silently).
    image_env = dict(re.findall(r"^(?:ENV)?\s+(SCIFORGE_\w+)=(\S+?)\s*\\?$", DOCKERFILE.read_text(), re.M))
    assert {"SCIFORGE_PROFILE", "SCIFORGE_GIT_COMMIT"} <= image_env.keys()
    check_env({**secret, **_by("ConfigMap")["sciforge-config"]["data"], **image_env})
    assert not [k for k in secret if re.fullmatch(r"S3_\w+|\w*ACCESS_KEY\w*", k) and not k.startswith("SCIFORGE_")]
    consumers: set[str] = set()
    readers = 0
    for name, pod in _all_pods():
        for c in pod["spec"]["containers"]:
            env = _pod_env(c, secret)
            consumers |= {e["valueFrom"]["secretKeyRef"]["key"] for e in c.get("env", [])
                          if "secretKeyRef" in e.get("valueFrom", {})}
            consumers |= {i["key"] for v in pod["spec"].get("volumes", []) if "secret" in v
                          for i in v["secret"].get("items", [])}
            # The pods that read S3 themselves take the whole Secret; the Spark workers do not: their
            # executors get the storage options with each task from the driver (jobs/).
            if not _ours(c) or not any("secretRef" in ref for ref in c.get("envFrom", [])):
                continue
            readers += 1
            # What sciforge.pipelines.config resolves inside this pod: the profile and the S3 pair of the Secret.
            for k in [k for k in os.environ if k.startswith(("SCIFORGE_", "AWS_"))]:
                monkeypatch.delenv(k)
            for k, v in env.items():
                monkeypatch.setenv(k, v)
            s = load_settings()
            assert s.profile == "cluster", name
            assert s.storage.s3_access_key_id is not None and s.storage.s3_secret_access_key is not None, name
            assert s.storage.s3_access_key_id.get_secret_value() == secret["SCIFORGE_STORAGE__S3_ACCESS_KEY_ID"]
            assert s.storage.s3_secret_access_key.get_secret_value() == \
                secret["SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY"]
            monkeypatch.undo()
    assert readers >= 7  # the Airflow components and workers, the task pod template, the training pods
    # SeaweedFS checks requests against the same pair, and Airflow's log connection uses it too.
    assert {"SCIFORGE_STORAGE__S3_ACCESS_KEY_ID", "SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY"} <= consumers
    conn = json.loads(secret["AIRFLOW_CONN_SCIFORGE_S3"])
    assert (conn["login"], conn["password"]) == (secret["SCIFORGE_STORAGE__S3_ACCESS_KEY_ID"],
                                                 secret["SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY"])
    # Every other key has a reader: Airflow's configuration and connections, or a secretKeyRef.
    for key in secret:
        assert key.startswith(("SCIFORGE_", "AIRFLOW__", "AIRFLOW_CONN_")) or key in consumers, key


# -------------------------------------------------------------------- the image and its providers

def _requirement_names(reqs: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~;\s]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def _image_installs() -> set[str]:
    """Distributions the Dockerfile installs: `pip install ... -e '.[extra,...]'` -> the project's
    dependencies plus those extras (pyproject.toml), and any package named on a pip install line."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names: set[str] = set()
    for line in re.findall(r"pip install ([^&\n]+)", text):
        for word in line.split():
            word = word.strip("'\"")
            m = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", word)
            if m:
                names |= _requirement_names(project["dependencies"])
                for extra in (m.group(1) or "").split(","):
                    if extra:
                        names |= _requirement_names(project["optional-dependencies"][extra])
            elif re.fullmatch(r"[A-Za-z][\w.-]*==[\w.+${}]+", word):
                names |= _requirement_names([word])
    return names


def _providers_needed() -> dict[str, str]:
    """Distribution -> the setting of the deployment that needs it."""
    cfg = _by("ConfigMap")["sciforge-config"]["data"]
    secret = SECRET_EXAMPLE["stringData"]
    need: dict[str, str] = {}
    executors = {"CeleryExecutor": "apache-airflow-providers-celery",
                 "KubernetesExecutor": "apache-airflow-providers-cncf-kubernetes"}
    need[executors[cfg["AIRFLOW__CORE__EXECUTOR"]]] = "AIRFLOW__CORE__EXECUTOR"
    need[executors["KubernetesExecutor"]] = "pod-template.yaml (the documented executor switch)"
    if cfg.get("AIRFLOW__LOGGING__REMOTE_LOGGING", "False").lower() == "true":
        scheme = urlsplit(cfg["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"]).scheme
        need[{"s3": "apache-airflow-providers-amazon", "gs": "apache-airflow-providers-google"}[scheme]] = \
            "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"
    conn_types = {"aws": "apache-airflow-providers-amazon", "postgres": "apache-airflow-providers-postgres"}
    for key, value in secret.items():
        if key.startswith("AIRFLOW_CONN_"):
            need[conn_types[json.loads(value)["conn_type"]]] = key
    brokers = {"redis": "redis", "amqp": "amqp"}
    need[brokers[urlsplit(secret["AIRFLOW__CELERY__BROKER_URL"]).scheme]] = "AIRFLOW__CELERY__BROKER_URL"
    # SQLAlchemy URLs: dialect[+driver] (Celery's result backend prefixes "db+"); postgresql's default
    # driver is psycopg2.
    drivers = {"psycopg2": "psycopg2-binary", "asyncpg": "asyncpg"}
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        dialect, _, driver = urlsplit(secret[key]).scheme.removeprefix("db+").partition("+")
        need[drivers[driver or {"postgresql": "psycopg2"}[dialect]]] = key
    return need


def test_the_image_installs_every_provider_the_deployment_enables():
    installed = _image_installs()
    need = _providers_needed()
    assert {"apache-airflow-providers-amazon", "apache-airflow-providers-celery", "redis"} <= need.keys()
    missing = {dist: why for dist, why in need.items() if dist not in installed}
    assert not missing, f"the image does not install {missing}"
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert all("==" in r for r in extras["cluster"])  # pinned: resolved together once, reproducibly


def test_dockerfile_pins_the_base_records_the_commit_and_serves_every_arch():
    text = DOCKERFILE.read_text()
    # The base image by digest: FROM <image>@${PYTHON_DIGEST}, the ARG declared before FROM without a
    # default (every build passes the digest), or a literal sha256 digest.
    frm = re.search(r"^FROM (\S+)", text, re.M)
    assert frm and re.fullmatch(r"\S+@(\$\{?PYTHON_DIGEST\}?|sha256:[0-9a-f]{64})", frm.group(1)), frm
    if "PYTHON_DIGEST" in frm.group(1):
        assert re.search(r"^ARG PYTHON_DIGEST$", text[:frm.start()], re.M)
        assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11[\w.-]*$", text[:frm.start()], re.M)
    torch_pin = next(line.split("==")[1] for line in (REPO_ROOT / "constraints.txt").read_text().splitlines()
                     if line.startswith("torch=="))
    assert f"ARG TORCH_VERSION={torch_pin}" in text
    assert "-c constraints.txt" in text and "pip check" in text
    # JAVA_HOME is a link made at build time, the same path on amd64 and arm64.
    java_home = re.search(r"JAVA_HOME=(\S+)", text)
    assert java_home and not re.search(r"amd64|arm64|aarch64|x86_64", java_home.group(1))
    assert re.search(r'ln -s .*readlink -f .*java.*"\$JAVA_HOME"', text.replace("\\\n", " "))
    # The commit: a build argument that becomes the environment code_version() reads.
    assert re.search(r"^ARG SCIFORGE_GIT_COMMIT", text, re.M)
    assert re.search(r"^ENV SCIFORGE_GIT_COMMIT=\$\{?SCIFORGE_GIT_COMMIT\}?", text, re.M)
    for src in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for f in src.split():
            assert (REPO_ROOT / f).exists(), f
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in text
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignore)
    # Every container of ours keeps tini as PID 1 (args:, never command:, which would replace it), and
    # what it runs is on the image's PATH (the venv's bin) or a shell.
    venv_bin = {p.name for p in (REPO_ROOT / ".venv" / "bin").iterdir()} if (REPO_ROOT / ".venv").exists() else set()
    for name, pod in _all_pods():
        for c in pod["spec"]["containers"]:
            if _ours(c):
                assert "command" not in c, (name, c["name"])
                if name == "pod-template":  # the KubernetesExecutor sets the task's args
                    continue
                exe = c["args"][0]
                assert exe in {"sh", "python"} or not venv_bin or exe in venv_bin, (name, exe)


def test_code_version_records_the_image_commit(monkeypatch):
    from sciforge.pipelines import __version__
    from sciforge.pipelines.datasets import code_version

    sha = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("SCIFORGE_GIT_COMMIT", sha)
    code_version.cache_clear()
    try:
        assert code_version() == f"{__version__}+{sha[:12]}"
        monkeypatch.delenv("SCIFORGE_GIT_COMMIT")
        code_version.cache_clear()
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True).stdout.strip()
        assert code_version() == (f"{__version__}+{head}" if head else __version__)  # a checkout: git
    finally:
        code_version.cache_clear()


def test_spark_daemons_and_drivers_authenticate_with_the_mounted_secret(tmp_path):
    """The master's and workers' start scripts, run as the pods run them (a stand-in `spark-class` on
    PATH records what it is given): spark.authenticate with the Secret's value from a 0600 properties
    file, the REST server off on the master, the secret on no command line; the drivers' pods point
    spark.auth_secret_file at the same mounted key."""
    secret_value = "00ff" * 8
    secret_file = tmp_path / "spark-auth" / "secret"
    secret_file.parent.mkdir()
    secret_file.write_text(secret_value)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "spark-class").write_text(textwrap.dedent("""\
        #!/bin/sh
        props=""; prev=""
        for a in "$@"; do [ "$prev" = "--properties-file" ] && props="$a"; prev="$a"; done
        printf 'ARGV %s\\n' "$*"
        printf 'MODE %s\\n' "$(stat -c %a "$props")"
        sed 's/^/PROP /' "$props"
    """))
    (bin_dir / "spark-class").chmod(0o755)
    secret = SECRET_EXAMPLE["stringData"]
    pods = dict(_all_pods())
    for name, want_rest_off in (("spark-master", True), ("spark-worker", False)):
        c = pods[name]["spec"]["containers"][0]
        env = _pod_env(c, secret)
        mount = next(m for m in c["volumeMounts"] if m["name"] == "spark-auth")
        volume = next(v for v in pods[name]["spec"]["volumes"] if v["name"] == "spark-auth")
        assert volume["secret"]["items"] == [{"key": "SPARK_AUTHENTICATE_SECRET", "path": "secret"}]
        assert env["SCIFORGE_SPARK__AUTH_SECRET_FILE"] == f"{mount['mountPath']}/secret"
        script = c["args"][2].replace("/tmp/", f"{tmp_path}/{name}-")
        env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", POD_IP="127.0.0.1",
                   SCIFORGE_SPARK__AUTH_SECRET_FILE=str(secret_file))
        out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
        lines = out.splitlines()
        argv = next(x for x in lines if x.startswith("ARGV "))
        assert secret_value not in argv and "--properties-file" in argv, argv
        assert "MODE 600" in lines
        props = dict(x[5:].split(" ", 1) for x in lines if x.startswith("PROP "))
        assert props["spark.authenticate"] == "true" and props["spark.authenticate.secret"] == secret_value
        assert (props.get("spark.master.rest.enabled") == "false") == want_rest_off, props
    for name in ("airflow-worker", "pod-template"):  # the drivers
        c = pods[name]["spec"]["containers"][0]
        env = _pod_env(c, secret)
        mount = next(m for m in c["volumeMounts"] if m["name"] == "spark-auth")
        assert env["SCIFORGE_SPARK__AUTH_SECRET_FILE"] == f"{mount['mountPath']}/secret", name
        assert env["SCIFORGE_SPARK__DRIVER_HOST"] == env["SPARK_LOCAL_IP"] == "10.0.0.7", name  # the pod IP
        volume = next(v for v in pods[name]["spec"]["volumes"] if v["name"] == "spark-auth")
        assert volume["secret"]["items"][0]["key"] == "SPARK_AUTHENTICATE_SECRET"


# ----------------------------------------------------------------------------------- sizing

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def _bytes(q: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(q))
    assert m, q
    return float(m.group(1)) * _UNITS.get(m.group(2), 1)


# A Spark driver's footprint beyond its heap: Spark's own default overhead (spark.driver.memoryOverhead:
# 10% of the heap, at least 384 MiB) for the JVM's off-heap, plus the task's Python processes (the
# PySpark driver and the Airflow task runner), and the Celery worker process itself.
DRIVER_OVERHEAD_FACTOR, DRIVER_OVERHEAD_MIN = 0.10, 384 * 2**20
TASK_PYTHON = 1 * 2**30
CELERY_WORKER = 1 * 2**30


def test_driver_memory_times_task_slots_fits_the_containers(monkeypatch):
    monkeypatch.setenv("SCIFORGE_PROFILE", "cluster")
    heap = _bytes(load_settings().spark.driver_memory)
    per_slot = heap + max(heap * DRIVER_OVERHEAD_FACTOR, DRIVER_OVERHEAD_MIN) + TASK_PYTHON
    slots = int(_by("ConfigMap")["sciforge-config"]["data"]["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
    worker = _pod(_by("StatefulSet")["airflow-worker"])["spec"]["containers"][0]["resources"]
    assert slots * per_slot + CELERY_WORKER <= _bytes(worker["limits"]["memory"]), (slots, per_slot / 2**30)
    assert _bytes(worker["requests"]["memory"]) <= _bytes(worker["limits"]["memory"])
    task = _embedded_pod_templates()[0]["spec"]["containers"][0]["resources"]  # KubernetesExecutor: 1 task
    assert per_slot <= _bytes(task["limits"]["memory"])


def test_seaweedfs_uses_its_claim_and_only_s3_leaves_the_pod():
    sts = _by("StatefulSet")["seaweedfs"]
    script = _script(_pod(sts)["spec"]["containers"][0])
    flags = dict(re.findall(r"-([\w.]+)=(\S+)", script))
    claim = _bytes(next(t for t in sts["spec"]["volumeClaimTemplates"]
                        if t["metadata"]["name"] == "data")["spec"]["resources"]["requests"]["storage"])
    volume = int(flags["master.volumeSizeLimitMB"]) * 2**20
    usable = int(flags["volume.max"]) * volume
    # room for vacuum (copies one volume while compacting it) and the indexes: two volumes
    assert usable + 2 * volume <= claim and usable >= 0.9 * claim, (usable / 2**30, claim / 2**30)
    # master, volume server and filer (no credentials) on loopback; S3 alone on the pod address
    assert flags["ip"] == flags["ip.bind"] == "127.0.0.1" and flags["s3.ip.bind"] == "0.0.0.0"
    assert flags["s3.port.iceberg"] == flags["s3.port.lance"] == "0"
    assert "-filer " not in script + " " and "-webdav" not in script and "-s3.config=" in script


# -------------------------------------------------------------------------- network policies

def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        has, value = e["key"] in labels, labels.get(e["key"])
        ok = {"In": has and value in e.get("values", []), "NotIn": not has or value not in e.get("values", []),
              "Exists": has, "DoesNotExist": not has}[e["operator"]]
        if not ok:
            return False
    return True


def _admits(src: dict[str, str], dst: dict[str, str], port: int) -> bool:
    """Kubernetes' ingress semantics within one namespace: a pod no policy selects admits everything;
    otherwise some rule of a policy that selects it must match both the source pod and the port."""
    policies = [p["spec"] for p in _by("NetworkPolicy").values()
                if "Ingress" in p["spec"].get("policyTypes", ["Ingress"]) and _selects(p["spec"]["podSelector"], dst)]
    if not policies:
        return True
    for spec in policies:
        for rule in spec.get("ingress", []):
            peers = rule.get("from")
            if peers and not any("podSelector" in peer and _selects(peer["podSelector"], src) for peer in peers):
                continue
            ports = rule.get("ports")
            if not ports or any(p.get("port") == port or (p.get("endPort") and p["port"] <= port <= p["endPort"])
                                for p in ports):
                return True
    return False


def _labels() -> dict[str, dict[str, str]]:
    return {name: pod["metadata"]["labels"] for name, pod in _all_pods()}


# Ports `weed server` opens besides S3 (master, volume, filer and their gRPC ports, S3's gRPC, Iceberg,
# Lance): each reads or writes data without S3's credentials check.
SEAWEED_INTERNAL_PORTS = (9333, 19333, 8080, 18080, 8888, 18888, 18333, 8181, 9101)
EPHEMERAL = 40123  # a port Spark picks at start (driver, block manager, shuffle)


def test_network_policies_admit_what_runs_and_nothing_else():
    pods = _labels()
    assert set(pods) >= {"seaweedfs", "postgres", "redis", "spark-master", "spark-worker", "airflow-worker",
                         "airflow-api-server", "airflow-scheduler", "sciforge-train", "pod-template"}
    assert all(_selects(_by("NetworkPolicy")["default-deny-ingress"]["spec"]["podSelector"], lb)
               for lb in pods.values())
    needed = [("airflow-worker", "seaweedfs", 8333), ("pod-template", "seaweedfs", 8333),
              ("spark-worker", "seaweedfs", 8333), ("sciforge-train", "seaweedfs", 8333),
              ("airflow-scheduler", "postgres", 5432), ("airflow-db-migrate", "postgres", 5432),
              ("airflow-worker", "postgres", 5432), ("airflow-worker", "redis", 6379),
              ("airflow-scheduler", "redis", 6379), ("airflow-worker", "airflow-api-server", 8080),
              ("pod-template", "airflow-api-server", 8080), ("airflow-api-server", "airflow-worker", 8793),
              ("airflow-worker", "spark-master", 7077), ("pod-template", "spark-master", 7077),
              ("spark-worker", "spark-master", 7077), ("spark-master", "spark-worker", EPHEMERAL),
              ("spark-worker", "spark-worker", EPHEMERAL), ("airflow-worker", "spark-worker", EPHEMERAL),
              ("spark-worker", "airflow-worker", EPHEMERAL), ("spark-master", "airflow-worker", EPHEMERAL),
              ("spark-worker", "pod-template", EPHEMERAL), ("sciforge-train", "sciforge-train", 29500),
              ("sciforge-train", "sciforge-train", EPHEMERAL)]
    for src, dst, port in needed:
        assert _admits(pods[src], pods[dst], port), f"{src} -> {dst}:{port} is refused"
    # S3 is the only door to the data: no other pod reaches SeaweedFS's other ports.
    for src, labels in pods.items():
        for port in SEAWEED_INTERNAL_PORTS:
            assert not _admits(labels, pods["seaweedfs"], port), f"{src} -> seaweedfs:{port}"
    refused = [("spark-worker", "postgres", 5432), ("sciforge-train", "redis", 6379),
               ("sciforge-train", "spark-master", 7077), ("spark-worker", "airflow-api-server", 8080),
               ("airflow-worker", "spark-master", 8080), ("sciforge-train", "airflow-worker", EPHEMERAL),
               ("seaweedfs", "sciforge-train", 29500), ("airflow-scheduler", "airflow-worker", EPHEMERAL)]
    for src, dst, port in refused:
        assert not _admits(pods[src], pods[dst], port), f"{src} -> {dst}:{port} is admitted"


def test_training_job_matches_its_hostfile_and_the_launch_command(tmp_path):
    docs = TRAINING_DOCS
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
    script = pod["containers"][0]["args"][-1].replace("\\\n", " ")
    cmd = launch_command("STAGE", "CONFIG", hostfile=hostfile, node_rank=0, python="python")
    assert cmd is not None
    mount = next(m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] == "hostfile")
    cmd = [f"{mount}/hostfile" if a == str(hostfile) else a for a in cmd]
    flags = " ".join(cmd[1:cmd.index("--node_rank")])  # -m deepspeed.launcher.runner ... --no_ssh
    assert re.sub(r"\s+", " ", script).find(flags) > 0, (flags, script)
    assert '--node_rank "$JOB_COMPLETION_INDEX"' in script and "--module sciforge.model.train.cli" in script
    assert svc["spec"]["ports"][0]["port"] == int(cmd[cmd.index("--master_port") + 1])


# ------------------------------------------------------------------------------ launch commands

def test_launch_commands_single_and_multi_node(tmp_path):
    assert launch_command("cpt", "c.json") is None  # in-process
    torchrun = launch_command("cpt", "c.json", nproc=4, python="py")
    assert torchrun == ["py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4", "-m",
                        "sciforge.model.train.cli", "cpt", "--config", "c.json"]
    hf = tmp_path / "hostfile"
    hf.write_text("# two nodes\nnode-a slots=8\n\nnode-b slots=8  # second\n")
    assert read_hostfile(hf) == {"node-a": 8, "node-b": 8}
    ds = launch_command("sft", "c.json", hostfile=hf, python="py", launcher="openmpi", master_port=29600)
    assert ds == ["py", "-m", "deepspeed.launcher.runner", "--hostfile", str(hf), "--master_addr", "node-a",
                  "--master_port", "29600", "--launcher", "openmpi", "--module", "sciforge.model.train.cli", "sft",
                  "--config", "c.json"]
    k8s = launch_command("sft", "c.json", hostfile=hf, python="py", master_addr="10.0.0.5", node_rank=1)
    assert k8s is not None and k8s[k8s.index("--master_addr") + 1] == "10.0.0.5"
    assert k8s[k8s.index("--no_ssh"):k8s.index("--module")] == ["--no_ssh", "--node_rank", "1"]
    assert "--launcher" not in k8s
    with pytest.raises(ValueError, match="node_rank 2"):
        launch_command("sft", "c.json", hostfile=hf, node_rank=2)


def test_remote_ranks_get_the_settings_by_private_files_not_the_command_line(tmp_path, monkeypatch):
    s = load_settings(storage={"data_root": "s3://sciforge/data", "s3_endpoint_url": "http://s3:8333",
                               "s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "s3'cr\\et\"$x"},
                      spark={"submit_args": ["--py-files", "a b.zip"]}, train={"max_steps": 3})
    extra, files = remote_rank_env(s, tmp_path / "cpt", "2026-01-01_abc.42")
    settings_file, ds_file = files
    assert extra == {"DS_ENV_FILE": str(ds_file)}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    # What DeepSpeed's runner exports (and puts on the launcher's command line): no secret, values it
    # can pass unquoted, in its KEY=VALUE format (runner.py splits each line at the first '=').
    exported = dict(line.split("=", 1) for line in ds_file.read_text().splitlines())
    assert exported == {"SCIFORGE_PROFILE": "local", "SCIFORGE_ENV_FILE": str(settings_file), "OMP_NUM_THREADS": "1"}
    assert "AKIAEXAMPLE" not in ds_file.read_text() and "cr\\et" not in ds_file.read_text()
    # A rank whose environment holds only the exports resolves the same settings, secrets included.
    for k in [k for k in os.environ if k.startswith(("SCIFORGE_", "AWS_"))]:
        monkeypatch.delenv(k)
    for k, v in exported.items():
        monkeypatch.setenv(k, v)
    remote = load_settings()
    assert remote.model_dump() == s.model_dump()
    assert remote.storage.s3_secret_access_key is not None
    assert remote.storage.s3_secret_access_key.get_secret_value() == "s3'cr\\et\"$x"
    with pytest.raises(ValueError, match="cannot export"):
        remote_rank_env(s, tmp_path / "a folder with spaces", "v")


def test_launch_hands_the_files_to_the_runner_and_removes_them(tmp_path):
    """The task's launch step: the runner process sees DS_ENV_FILE naming the exports file, whose
    settings file resolves; both are gone after the launch, also when it fails."""
    s = load_settings(storage={"s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "s3cr3t-value"})
    probe = textwrap.dedent(f"""
        import os, pathlib, sys
        ds = pathlib.Path(os.environ["DS_ENV_FILE"])
        exports = dict(line.split("=", 1) for line in ds.read_text().splitlines())
        settings_file = pathlib.Path(exports["SCIFORGE_ENV_FILE"])
        assert "s3cr3t-value" in settings_file.read_text() and os.environ["OMP_NUM_THREADS"] == "1"
        pathlib.Path({str(tmp_path / "seen")!r}).write_text(str(ds) + "\\n" + str(settings_file))
        sys.exit(int(sys.argv[1]))
    """)
    launch([sys.executable, "-c", probe, "0"], s, tmp_path / "cpt", "run", remote_ranks=True)
    seen = [Path(p) for p in (tmp_path / "seen").read_text().splitlines()]
    assert len(seen) == 2 and not any(p.exists() for p in seen)
    with pytest.raises(subprocess.CalledProcessError):
        launch([sys.executable, "-c", probe, "3"], s, tmp_path / "cpt", "run", remote_ranks=True)
    assert not list((tmp_path / "cpt").iterdir())
    # ranks on this host only (torchrun, --no_ssh): nothing written, nothing exported
    launch([sys.executable, "-c", "import os, sys; sys.exit('DS_ENV_FILE' in os.environ)"], s, tmp_path / "x",
           "run", remote_ranks=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow  # DeepSpeed's runner + launcher + 2 ranks: ~30-60 s
def test_deepspeed_runner_over_pdsh_hands_remote_ranks_the_settings(tmp_path):
    """DeepSpeed's own runner on its multi-node path (pdsh), with a stand-in `pdsh` that runs the remote
    command the way pdsh + ssh would on each host: through a shell in an EMPTY environment (a fresh
    login on another machine). The ranks must resolve the launching task's settings and credentials,
    and neither the launcher's command line nor the runner's log may hold the secret."""
    secret = "s3cr3t-" + os.urandom(4).hex()
    s = load_settings(storage={"data_root": "s3://sciforge/data", "s3_endpoint_url": "http://s3:8333",
                               "s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": secret})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pdsh").write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, subprocess, sys
        args = sys.argv[1:]
        open({str(tmp_path / "pdsh.argv")!r}, "a").write(repr(args) + "\\n")
        hosts = args[args.index("-w") + 1].split(",")
        command = " ".join(args[args.index("-w") + 2:])
        codes = [subprocess.run(["/bin/sh", "-c", command.replace("%n", str(i))],
                                env={{"PATH": "/usr/bin:/bin", "HOME": {str(tmp_path)!r}}}).returncode
                 for i, _ in enumerate(hosts)]
        sys.exit(max(codes))
    """))
    (bin_dir / "pdsh").chmod(0o755)
    (tmp_path / "rank_probe.py").write_text(textwrap.dedent("""
        import hashlib, json, os
        from sciforge.pipelines.config import load_settings
        s = load_settings()
        st = s.storage
        print("PROBE", json.dumps({"rank": os.environ.get("RANK"), "profile": s.profile,
                                   "data_root": st.data_root, "endpoint": st.s3_endpoint_url,
                                   "key": st.s3_access_key_id.get_secret_value(),
                                   "secret": hashlib.sha256(st.s3_secret_access_key.get_secret_value()
                                                            .encode()).hexdigest()}), flush=True)
    """))
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    from sciforge.infra.services.seaweed import pick_base

    port = pick_base(29600, 29900)
    cmd = launch_command("cpt", "run.json", hostfile=hostfile, master_addr="127.0.0.1", master_port=port,
                         module="rank_probe")
    assert cmd is not None and cmd[cmd.index("--launcher") + 1] == "pdsh"
    # one host: force the multi-node path; the stand-in pdsh needs no ssh check
    cmd[cmd.index("--module"):cmd.index("--module")] = ["--force_multi", "--no_ssh_check"]
    extra, files = remote_rank_env(s, tmp_path / "shared", "run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIFORGE_", "AWS_"))}
    env.update(extra, PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PYTHONPATH=str(tmp_path))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # two ranks write to one pipe: a line may carry another process's unterminated output before it
    probes = [json.loads(m) for m in re.findall(r"PROBE (\{[^}]*\})", out.stdout)]
    assert sorted(p["rank"] for p in probes) == ["0", "1"], out.stdout[-3000:] + out.stderr[-3000:]
    for p in probes:
        assert (p["profile"], p["data_root"], p["endpoint"], p["key"], p["secret"]) == \
            ("local", "s3://sciforge/data", "http://s3:8333", "AKIAEXAMPLE", hashlib.sha256(secret.encode()).hexdigest())
    launched = (tmp_path / "pdsh.argv").read_text()
    assert "SCIFORGE_ENV_FILE" in launched  # the exports went through pdsh's command ...
    assert secret not in launched and secret not in out.stdout + out.stderr  # ... the secret did not


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
    from sciforge.launch.spark import spark_submit_command, submit_env

    s = load_settings(spark={"master": "spark://spark-master:7077", "submit": True, "executor_memory": "16g",
                             "submit_args": ["--py-files", "deps.zip"]},
                      storage={"data_root": "s3://sciforge/data", "s3_endpoint_url": "http://s3:8333",
                               "s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "s3cr3t-value"})
    cmd = spark_submit_command(s, "dedup", ["--input", "clean/web_pages/v", "--date", "2026-01-01"])
    assert Path(cmd[0]).name == "spark-submit" and Path(cmd[0]).exists()
    assert cmd[1:3] == ["--master", "spark://spark-master:7077"]
    confs = {cmd[i + 1].split("=", 1)[0]: cmd[i + 1].split("=", 1)[1] for i, a in enumerate(cmd) if a == "--conf"}
    assert confs["spark.executor.memory"] == "16g" and confs["spark.pyspark.python"] == sys.executable
    # the driver binds and advertises one configured address (on Kubernetes the pod IP, airflow.yaml)
    assert confs["spark.driver.host"] == confs["spark.driver.bindAddress"] == s.spark.driver_host
    job = cmd.index(str(REPO_ROOT / "jobs" / "dedup.py"))
    assert cmd[job - 2:job] == ["--py-files", "deps.zip"] and Path(cmd[job]).is_file()
    assert cmd[job + 1:] == ["--input", "clean/web_pages/v", "--date", "2026-01-01"]
    assert not any("s3cr3t" in a or "AKIAEXAMPLE" in a for a in cmd)  # secrets stay off the command line
    env = submit_env(s)
    assert env["SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY"] == "s3cr3t-value"
    assert env["SCIFORGE_SPARK__MASTER"] == "spark://spark-master:7077" and env["PYSPARK_PYTHON"] == sys.executable


# --------------------------------------------------------------- spark-submit on a real cluster

@pytest.mark.slow  # a standalone master + worker and one spark-submit: ~1-2 min on 2 busy cores
@pytest.mark.services
@pytest.mark.spark
def test_dag_task_through_spark_submit_equals_in_process(settings, demo_corpus, tmp_path):
    from sciforge.infra.services.seaweed import pick_base
    from sciforge.infra.services.standalone import StandaloneCluster
    from sciforge.jobs.ingest import run_ingest
    from sciforge.pipelines.datasets import read_manifest
    from sciforge.pipelines.storage import open_storage

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
            from sciforge.dags._tasks import ingest_interval
            logging.basicConfig(level=logging.INFO)
            out = ingest_interval("warc", {"logical_date": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                                           "params": {"engine": "spark"}})
            print("SUMMARY", json.dumps(out))
        """)
        env = {**os.environ, "SCIFORGE_SPARK__SUBMIT": "true", "SCIFORGE_SPARK__MASTER": cluster.master_url,
               "SCIFORGE_SPARK__EXECUTOR_MEMORY": "768m", "SCIFORGE_SPARK__DRIVER_MEMORY": "1g",
               "SCIFORGE_DATA_ROOT": str(tmp_path / "submitted"), "SCIFORGE_INGEST__LANDING_ROOT": str(landing),
               "SPARK_LOCAL_IP": "127.0.0.1",
               # the cluster runs authenticated applications only: the driver holds its secret
               "SCIFORGE_SPARK__AUTH_SECRET_FILE": str(cluster.secret_file)}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env,
                             cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
        master_log = (tmp_path / "spark" / "master.log").read_text()
        # the job ran as an application on the cluster (not in a local[*] driver)
        assert "Registering app" in master_log or "Registered app" in master_log
    finally:
        cluster.stop()
    summary = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("SUMMARY")).split(" ", 1)[1])
    assert "spark-submit" in out.stdout + out.stderr  # the task logged the command it ran
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
    from sciforge.infra.services.seaweed import pick_base

    port = pick_base(29600, 29900)
    cmd = launch_command("cpt", "run.json", hostfile=hostfile, master_addr="127.0.0.1", master_port=port,
                         node_rank=0, module="rank_probe")
    assert cmd is not None
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # two ranks write to one pipe: a line may carry another process's unterminated output before it
    probes = [json.loads(m) for m in re.findall(r"PROBE (\{[^}]*\})", out.stdout)]
    assert sorted(p["env"]["RANK"] for p in probes) == ["0", "1"]
    assert {p["env"]["WORLD_SIZE"] for p in probes} == {"2"}
    assert {(p["env"]["MASTER_ADDR"], p["env"]["MASTER_PORT"]) for p in probes} == {("127.0.0.1", str(port))}
    # the stage arguments reach the module (after DeepSpeed's --local_rank, which sciforge.model.train.cli drops)
    assert all(p["argv"][-3:] == ["cpt", "--config", "run.json"] for p in probes)
