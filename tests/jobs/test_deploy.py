"""Deployment files: no Docker engine here, so check what can be checked statically."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_dockerfile_multistage_non_root_with_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2 and "COPY --from=builder" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and all(u.split(":")[0] not in ("root", "0") for u in users)
    assert re.search(r"^HEALTHCHECK .*", text, re.M) and "/health/live" in text


def test_compose_services_and_wiring() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"api-1", "api-2", "worker", "nginx", "postgres", "redis", "prometheus", "minio"} <= set(services)
    api_env = services["api-1"]["environment"]
    assert api_env["MODELPORT_JOBS_ENGINE"] == "celery"
    assert api_env["MODELPORT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert api_env["MODELPORT_BROKER_URL"].startswith("redis://")
    assert services["worker"]["command"][:2] == ["modelport", "worker"]
    assert services["worker"]["environment"].items() <= api_env.items()  # the API adds the server's
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "server api-1:8000" in nginx and "server api-2:8000" in nginx
    targets = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())["scrape_configs"][0]
    assert targets["metrics_path"] == "/metrics"
    assert set(targets["static_configs"][0]["targets"]) == {"api-1:8000", "api-2:8000"}


@pytest.mark.parametrize("name,kind", [
    ("api-deployment.yaml", "Deployment"), ("api-service.yaml", "Service"),
    ("api-scaledobject.yaml", "ScaledObject"), ("worker-deployment.yaml", "Deployment"),
    ("configmap.yaml", "ConfigMap"), ("secret.yaml", "Secret"),
])
def test_k8s_manifest_kinds(name: str, kind: str) -> None:
    (doc,) = _docs(DEPLOY / "k8s" / name)
    assert doc["kind"] == kind and doc["apiVersion"] and doc["metadata"]["name"]


def test_k8s_api_probes_and_worker_command() -> None:
    (api,) = _docs(DEPLOY / "k8s" / "api-deployment.yaml")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    labels = api["spec"]["template"]["metadata"]["labels"]
    (svc,) = _docs(DEPLOY / "k8s" / "api-service.yaml")
    assert svc["spec"]["selector"].items() <= labels.items()
    (scaler,) = _docs(DEPLOY / "k8s" / "api-scaledobject.yaml")
    assert scaler["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]
    (worker,) = _docs(DEPLOY / "k8s" / "worker-deployment.yaml")
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"][:2] == ["modelport", "worker"]
