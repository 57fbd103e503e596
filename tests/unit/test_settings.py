"""Settings by group: every flat ``MODELPORT_*`` name of before the grouping still sets its one setting
(environment, ``.env`` and keyword), the nested names too, in a stated order; typos are errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import SecretStr, ValidationError

from modelport.settings import (
    FLAT_NAMES,
    GROUPS,
    Group,
    JobSettings,
    Settings,
    env_name,
    nested_env_name,
    walk,
)

# The flat names (``MODELPORT_<NAME>``) every setting had before the grouping: frozen here, since
# installs, deploy files and the docs use them. Only additions may follow.
FLAT_BEFORE_GROUPING = (
    "database_url", "artifact_url", "redis_url", "host", "port", "grpc_port", "grpc_enabled",
    "grpc_max_message_bytes", "log_level", "log_format", "cors_origins", "cors_allow_credentials",
    "gc_threshold", "fastapi_telemetry", "demo_models", "demo_text_models", "preload",
    "max_loaded_models", "registry_cache_ttl_s", "allow_pickle", "max_body_bytes", "max_upload_bytes",
    "max_batch_rows", "max_string_length", "max_image_bytes", "max_image_pixels", "search_embed_batch",
    "search_max_top_k", "chat_max_tokens", "max_batch_size", "max_latency_ms", "max_queue",
    "model_threads", "model_workers", "request_timeout", "shutdown_grace_s", "auth", "secret_key",
    "token_ttl_s", "rate_limit", "token_rate_limit", "key_cache_ttl_s", "prediction_log", "capture",
    "capture_max_bytes", "log_flush_interval_s", "log_buffer_max", "log_write_timeout_s",
    "log_retry_max_s", "cache_enabled", "cache_ttl_s", "cache_max_entries", "jobs_engine", "broker_url",
    "job_workers", "job_lease_s", "job_max_attempts", "job_poll_s", "job_queue_suffix",
    "broker_timeout_s", "header_timeout_s", "body_timeout_s", "max_header_bytes", "max_connections",
    "drain_s", "tls_cert_file", "tls_key_file", "tls_client_ca_file", "allow_code",
    "traffic_shadow_queue", "traffic_guard_interval_s", "webhook_allow_private", "webhook_poll_s",
    "webhook_timeout_s", "webhook_retry_base_s", "webhook_retry_max_s", "webhook_max_attempts",
    "gzip_min_bytes", "loop_lag_interval_s", "console_session_ttl_s", "log_journal",
    "log_journal_fsync_s", "db_connect_timeout_s", "db_command_timeout_s", "db_lookup_timeout_s",
    "db_outage_grace_s", "artifact_storage_options", "artifact_cache_bytes", "redis_max_connections",
    "redis_idle_timeout_s",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``MODELPORT_*`` variable or ``.env`` of the machine leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith("MODELPORT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def sample(group: str, field: str) -> tuple[str, Any]:
    """A value other than the default, valid for the field: (as an environment variable, as read)."""
    info = type(getattr(Settings(_env_file=None), group)).model_fields[field]
    default, annotation = info.get_default(call_default_factory=True), info.annotation
    if annotation is bool:
        return ("false" if default else "true"), not default
    if annotation is int:
        return str(default + 1), default + 1
    if annotation is float:
        return str(default + 0.5), default + 0.5
    if get_origin(annotation) is Literal:
        choice = next(a for a in get_args(annotation) if a != default)
        return choice, choice
    if annotation == list[str]:
        return '["https://a.example"]', ["https://a.example"]
    if annotation == dict[str, Any]:
        return '{"anon": true}', {"anon": True}
    if annotation == Path | None:
        return "/srv/tls/file.pem", Path("/srv/tls/file.pem")
    if annotation == SecretStr | None:
        return "k" * 32, SecretStr("k" * 32)
    assert annotation in (str, str | None), (group, field, annotation)
    return "7/second", "7/second"


def changed(settings: Settings) -> dict[tuple[str | None, str], Any]:
    """The settings that differ from the defaults (``home`` aside)."""
    defaults = {(group, field): value for group, field, value in walk(Settings.model_construct())}
    return {(group, field): value for group, field, value in walk(settings)
            if (group, field) != (None, "home") and value != defaults[group, field]}


def test_flat_names_of_before_the_grouping_are_all_kept() -> None:
    assert set(FLAT_BEFORE_GROUPING) <= set(FLAT_NAMES)
    targets = list(FLAT_NAMES.values())
    assert len(targets) == len(set(targets)), "two flat names for one setting"
    for group, field in targets:
        assert group in GROUPS and field in type(getattr(Settings(_env_file=None), group)).model_fields


@pytest.mark.parametrize("flat", sorted(FLAT_NAMES))
def test_each_flat_name_sets_exactly_its_setting_from_env_dotenv_and_keywords(
        flat: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    group, field = FLAT_NAMES[flat]
    text, value = sample(group, field)
    want = {(group, field): value}

    monkeypatch.setenv(f"MODELPORT_{flat.upper()}", text)
    assert changed(Settings(_env_file=None, home=Path("/h"))) == want
    monkeypatch.delenv(f"MODELPORT_{flat.upper()}")

    dotenv = tmp_path / "flat.env"
    dotenv.write_text(f"MODELPORT_{flat.upper()}='{text}'\n")
    assert changed(Settings(_env_file=dotenv, home=Path("/h"))) == want

    monkeypatch.setenv(nested_env_name(group, field), text)
    assert changed(Settings(_env_file=None, home=Path("/h"))) == want
    monkeypatch.delenv(nested_env_name(group, field))

    keyword = json.loads(text) if text.startswith(("[", "{")) else text
    assert changed(Settings(_env_file=None, home=Path("/h"), **{flat: keyword})) == want
    assert changed(Settings(_env_file=None, home=Path("/h"), **{group: {field: keyword}})) == want


def test_order_keywords_nested_env_flat_env_nested_dotenv_flat_dotenv(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"

    def port(**keywords: Any) -> int:
        return Settings(_env_file=dotenv, **keywords).server.port

    dotenv.write_text("MODELPORT_PORT=1\n")
    assert port() == 1
    dotenv.write_text("MODELPORT_PORT=1\nMODELPORT_SERVER__PORT=2\n")
    assert port() == 2
    monkeypatch.setenv("MODELPORT_PORT", "3")
    assert port() == 3
    monkeypatch.setenv("MODELPORT_SERVER__PORT", "4")
    assert port() == 4
    assert port(port=5) == 5 and port(server={"port": 6}) == 6
    dotenv.unlink()
    assert Settings().server.port == 4  # `.env` in the working directory by default


def test_groups_merge_across_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPORT_JOB_LEASE_S", "9")
    monkeypatch.setenv("MODELPORT_JOBS__POLL_S", "0.5")
    jobs = Settings(_env_file=None, jobs={"workers": 3}, job_max_attempts=5).jobs
    assert (jobs.workers, jobs.max_attempts, jobs.poll_s, jobs.lease_s) == (3, 5, 0.5, 9.0)
    given = Settings(_env_file=None, jobs=JobSettings(workers=2), job_poll_s=0.1).jobs
    assert (given.workers, given.poll_s) == (2, 0.1)


def test_misspelt_settings_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="unknown setting 'fast_lane'"):
        Settings(_env_file=None, fast_lane=False)
    with pytest.raises(TypeError, match="jobs.workers twice"):
        Settings(_env_file=None, jobs={"workers": 2}, job_workers=3)
    with pytest.raises(ValidationError, match="prot"):
        Settings(_env_file=None, server={"prot": 1})
    monkeypatch.setenv("MODELPORT_SERVER__PROT", "1")
    with pytest.raises(ValidationError, match="prot"):
        Settings(_env_file=None)


def test_unrelated_variables_are_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELPORT_URL", "http://elsewhere")  # the CLI's, not the server's
    (tmp_path / ".env").write_text("OTHER_APP=1\nMODELPORT_PROFILE=x\n")
    assert Settings().model_dump() == Settings(_env_file=None).model_dump()


def test_variable_names() -> None:
    assert env_name(None, "home") == "MODELPORT_HOME"
    assert env_name("server", "port") == "MODELPORT_PORT"
    assert env_name("tracking", "enabled") == "MODELPORT_PREDICTION_LOG"
    assert nested_env_name("database", "url") == "MODELPORT_DATABASE__URL"
    every = [env_name(group, field) for group, field, _ in walk(Settings(_env_file=None))]
    assert len(every) == len(set(every))


def test_every_group_is_a_group_model() -> None:
    settings = Settings(_env_file=None)
    for group in GROUPS:
        assert isinstance(getattr(settings, group), Group)
    assert set(Settings.model_fields) == {"home", *GROUPS}


def test_the_configuration_doc_lists_every_setting_with_its_variable() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in doc.splitlines() if line.startswith("| `")}
    grouped = [(group, field) for group, field, _ in walk(Settings.model_construct()) if group]
    assert list(rows) == [f"`{group}.{field}`" for group, field in grouped]
    flat = set(FLAT_NAMES.values())
    for group, field in grouped:
        variable = f"`{env_name(group, field)}`" if (group, field) in flat else "(nested name only)"
        assert rows[f"`{group}.{field}`"] == variable, (group, field)
