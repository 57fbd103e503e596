"""Drain like Kubernetes expects (#21): after SIGTERM, ``/health/ready`` answers 503 while the server
keeps accepting and answering for ``MODELPORT_DRAIN_S``, then stops listening and exits 0."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.serve_process import ServeProcess

pytestmark = pytest.mark.slow
DRAIN_S = 3.0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_client_sending_through_the_drain_sees_no_refusal_and_no_failure(tmp_path: Path,
                                                                           workers: int) -> None:
    srv = ServeProcess(tmp_path / "home", "--no-demo", "--workers", str(workers),
                       env={"MODELPORT_DRAIN_S": str(DRAIN_S)})
    try:
        srv.wait_for_line("modelport is ready on")
        headers = srv.auth()
        failures: list[str] = []
        codes: list[int] = []
        ready_codes: list[tuple[float, int]] = []
        with httpx.Client(base_url=srv.url, headers=headers, timeout=10) as kept:
            assert kept.get("/api/v1/models").status_code == 200
            srv.terminate()
            signalled = time.monotonic()
            # until just before the drain window ends: fresh connections and a kept-alive one
            while time.monotonic() - signalled < DRAIN_S - 0.7:
                try:
                    fresh = httpx.get(f"{srv.url}/api/v1/models", headers=headers, timeout=10)
                    codes.append(fresh.status_code)
                    codes.append(kept.get("/api/v1/models").status_code)
                    ready = httpx.get(f"{srv.url}/health/ready", timeout=10)
                    ready_codes.append((time.monotonic() - signalled, ready.status_code))
                except httpx.TransportError as exc:
                    failures.append(repr(exc))
                time.sleep(0.05)
        assert not failures, failures[:3]
        assert codes and set(codes) == {200}, codes
        # readiness turned 503 at once (within half a second of the signal) and stayed so
        assert all(code == 503 for at, code in ready_codes if at > 0.5), ready_codes
        assert ready_codes[-1][1] == 503
        assert srv.proc.wait(timeout=30) == 0, srv.tail()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{srv.url}/health/live", timeout=2)
        assert "draining (readiness now 503)" in "".join(srv.output)
    finally:
        srv.stop()


def test_the_k8s_manifest_gives_the_drain_its_time() -> None:
    import yaml

    manifest = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "api-deployment.yaml"
    pod = yaml.safe_load(manifest.read_text())["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"][:2] == ["modelport", "serve"]
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    env = {item["name"]: float(item["value"]) for item in container["env"]}
    needed = float(sleep[1]) + env["MODELPORT_DRAIN_S"] + env["MODELPORT_SHUTDOWN_GRACE_S"]
    assert needed < pod["terminationGracePeriodSeconds"] <= needed + 15
