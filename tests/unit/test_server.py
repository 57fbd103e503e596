"""The server module: what the banner prints, settings handed to workers, TLS settings checked, home dirs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from modelport.server import banner, build_server, check_tls, export_settings, prepare_home, public_base
from modelport.settings import Settings


def test_banner_curl_reaches_a_wildcard_bind_on_loopback_and_reads_the_key_file(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, host="0.0.0.0", port=9123, grpc_enabled=False)  # noqa: S104
    text = banner(settings)
    assert "curl -s -X POST http://127.0.0.1:9123/api/v1/models/iris/predict" in text
    assert f"$(cat {tmp_path.resolve() / 'admin.key'})" in text
    assert "Authorization" not in banner(Settings(home=tmp_path, auth="disabled"))


def test_public_base_uses_https_with_a_certificate(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    assert public_base(Settings(home=tmp_path, port=1, tls_cert_file=cert)) == "https://127.0.0.1:1"
    assert public_base(Settings(home=tmp_path, host="::1", port=2)) == "http://[::1]:2"


@pytest.fixture
def own_environ() -> Iterator[None]:
    """The code under test writes ``os.environ``: the whole of it is put back afterwards."""
    with mock.patch.dict(os.environ):
        yield


@pytest.mark.usefixtures("own_environ")
def test_settings_given_in_code_reach_the_environment(tmp_path: Path) -> None:
    for name in ("MODELPORT_DEMO_MODELS", "MODELPORT_CORS_ORIGINS", "MODELPORT_HOME"):
        os.environ.pop(name, None)
    os.environ["MODELPORT_PORT"] = "1"  # the operator's flat variable: the CLI flag still wins
    export_settings(Settings(home=tmp_path, port=8123, demo_models=False, cors_origins=["https://a.example"]))
    assert os.environ["MODELPORT_SERVER__PORT"] == "8123"
    again = Settings()
    assert (again.server.port, again.models.demo, again.server.cors_origins) == (8123, False,
                                                                               ["https://a.example"])
    assert again.home == tmp_path


def test_tls_settings_are_checked(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    with pytest.raises(SystemExit, match="both"):
        check_tls(Settings(home=tmp_path, tls_cert_file=cert))
    with pytest.raises(SystemExit, match="not found"):
        check_tls(Settings(home=tmp_path, tls_cert_file=cert, tls_key_file=key))
    with pytest.raises(SystemExit, match="CLIENT_CA"):
        check_tls(Settings(home=tmp_path, tls_client_ca_file=cert))


@pytest.mark.usefixtures("own_environ")
def test_home_gets_a_clean_tmp_and_with_workers_a_metrics_dir(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)  # restored after the test
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "stale").write_text("x")
    prepare_home(Settings(home=tmp_path), workers=1)
    assert tempfile.gettempdir() == str(tmp_path / "tmp") and not any((tmp_path / "tmp").iterdir())
    assert os.environ["XDG_CACHE_HOME"] == str(tmp_path / "cache") and (tmp_path / "cache").is_dir()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    ready = prepare_home(Settings(home=tmp_path), workers=2)
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "run" / "prometheus")
    assert ready == tmp_path / "run" / "ready" and ready.is_dir()


def test_the_server_gets_the_limits_from_settings(tmp_path: Path) -> None:
    server = build_server(Settings(home=tmp_path, header_timeout_s=2.5, max_header_bytes=20_000,
                                   max_connections=7), workers=2)
    assert server.http1_settings is not None
    assert server.http1_settings.header_read_timeout == 2500
    assert server.http1_settings.max_buffer_size == 20_000
    assert (server.backpressure, server.workers) == (7, 2)
