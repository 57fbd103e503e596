"""TLS on HTTP and gRPC (#21) from ``MODELPORT_TLS_*``, with a certificate made in the test, checked
with the real clients: httpx, the openai SDK, tritonclient gRPC; plain HTTP on the TLS port is
refused; with a client CA (mutual TLS), a client without a certificate is refused."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.certs import Certs, make_certs
from tests.fixtures.serve_process import ServeProcess, free_port

pytestmark = pytest.mark.slow


def start(home: Path, certs: Certs, *, mutual: bool) -> tuple[ServeProcess, int]:
    grpc_port = free_port()
    env = {"MODELPORT_TLS_CERT_FILE": str(certs.server_cert), "MODELPORT_TLS_KEY_FILE": str(certs.server_key),
           "MODELPORT_GRPC_ENABLED": "true", "MODELPORT_GRPC_PORT": str(grpc_port)}
    if mutual:
        env["MODELPORT_TLS_CLIENT_CA_FILE"] = str(certs.ca)
    srv = ServeProcess(home, "--no-demo", env=env)
    srv.wait_for_line("modelport is ready on https://")
    return srv, grpc_port


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[tuple[ServeProcess, int]]:
    srv, grpc_port = start(tmp_path_factory.mktemp("tls") / "home", certs, mutual=False)
    try:
        yield srv, grpc_port
    finally:
        srv.stop()


def trusting(certs: Certs, *, client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    if client_cert:
        ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return ctx


def test_httpx_over_https(tls: tuple[ServeProcess, int], certs: Certs) -> None:
    srv, _ = tls
    assert srv.url.startswith("https://")
    r = httpx.get(f"{srv.url}/health/ready", verify=trusting(certs), timeout=10)
    assert r.status_code == 200
    r = httpx.get(f"{srv.url}/api/v1/models", headers=srv.auth(), verify=trusting(certs), timeout=10)
    assert r.status_code == 200
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_a_client_that_does_not_trust_the_certificate_is_refused(tls: tuple[ServeProcess, int]) -> None:
    srv, _ = tls
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{srv.url}/health/ready", timeout=10)


def test_plain_http_on_the_tls_port_is_refused(tls: tuple[ServeProcess, int]) -> None:
    srv, _ = tls
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{srv.port}/health/ready", timeout=10)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(b"GET /health/ready HTTP/1.1\r\nHost: t\r\n\r\n")
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:100]


def test_the_openai_sdk_over_https(tls: tuple[ServeProcess, int], certs: Certs) -> None:
    from openai import OpenAI

    srv, _ = tls
    key = srv.auth()["Authorization"].removeprefix("Bearer ")
    with httpx.Client(verify=trusting(certs), timeout=10) as http_client:
        client = OpenAI(base_url=f"{srv.url}/v1", api_key=key, http_client=http_client, max_retries=0)
        models = client.models.list()
    assert models.object == "list"


def test_tritonclient_grpc_over_tls(tls: tuple[ServeProcess, int], certs: Certs) -> None:
    import tritonclient.grpc as grpcclient

    srv, grpc_port = tls
    headers = {"authorization": srv.auth()["Authorization"]}
    client = grpcclient.InferenceServerClient(f"localhost:{grpc_port}", ssl=True,
                                              root_certificates=str(certs.ca))
    try:
        assert client.is_server_live(headers=headers)
        assert client.is_server_ready(headers=headers)
    finally:
        client.close()
    plain = grpcclient.InferenceServerClient(f"localhost:{grpc_port}")
    try:
        with pytest.raises(Exception, match="UNAVAILABLE|failed to connect|Socket closed"):
            plain.is_server_live(headers=headers, client_timeout=5)
    finally:
        plain.close()


def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path: Path, certs: Certs) -> None:
    import tritonclient.grpc as grpcclient

    srv, grpc_port = start(tmp_path / "home", certs, mutual=True)
    try:
        r = httpx.get(f"{srv.url}/health/ready", verify=trusting(certs, client_cert=True), timeout=10)
        assert r.status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{srv.url}/health/ready", verify=trusting(certs), timeout=10)
        headers = {"authorization": srv.auth()["Authorization"]}
        with_cert = grpcclient.InferenceServerClient(
            f"localhost:{grpc_port}", ssl=True, root_certificates=str(certs.ca),
            private_key=str(certs.client_key), certificate_chain=str(certs.client_cert))
        without = grpcclient.InferenceServerClient(f"localhost:{grpc_port}", ssl=True,
                                                   root_certificates=str(certs.ca))
        try:
            assert with_cert.is_server_live(headers=headers)
            with pytest.raises(Exception, match="UNAVAILABLE|handshake|Socket closed|failed to connect"):
                without.is_server_live(headers=headers, client_timeout=5)
        finally:
            with_cert.close()
            without.close()
    finally:
        srv.stop()


def test_the_banner_curl_trusts_the_certificate(tls: tuple[ServeProcess, int]) -> None:
    srv, _ = tls
    curl = srv.banner_curl(timeout_s=10)  # printed right after the "ready on https://" line
    assert "--cacert" in curl and curl.startswith(f"curl -s -X POST {srv.url}/")
    done = subprocess.run(["bash", "-c", curl + " -o /dev/null -w '%{http_code}'"], capture_output=True,
                          text=True, timeout=30, check=False)
    # the TLS handshake succeeds as printed; no demo models here, so iris answers 404
    assert done.returncode == 0 and done.stdout == "404", (done.stdout, done.stderr)
