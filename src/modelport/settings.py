"""Server settings, read from ``MODELPORT_*`` environment variables and an optional ``.env``.

Built by the app factory or the CLI, never at import, so tests and worker processes can
build their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelport.paths import default_home


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MODELPORT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- where things live
    home: Path = Field(default_factory=default_home,
                       description="data home; default per user, e.g. ~/.local/share/modelport (#19)")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file in home"
    )
    artifact_url: str | None = Field(default=None, description="artifact store; default home/artifacts")
    redis_url: str | None = None

    # --- HTTP / gRPC
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    grpc_port: int = Field(default=8081, ge=0, le=65535)
    grpc_enabled: bool = True
    grpc_max_message_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    log_level: str = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    cors_origins: list[str] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    gc_threshold: int = Field(
        default=10_000, ge=1,
        description="serving process: net allocations between young-generation GC runs (CPython: 700)",
    )
    fastapi_telemetry: bool = Field(
        default=False, description="FastAPI's native OpenTelemetry middleware (costs ~5% per request)"
    )

    # --- models
    demo_models: bool = True
    demo_text_models: bool = Field(
        default=True, description="with the [text] extra, also register minilm and tiny-chat demos"
    )
    preload: bool = True
    max_loaded_models: int = Field(default=32, ge=1)
    registry_cache_ttl_s: float = Field(default=2.0, ge=0)
    allow_pickle: bool = False

    # --- limits
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_batch_rows: int = Field(default=1024, ge=1)
    max_string_length: int = Field(default=65_536, ge=1)

    # --- text, images, search
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    search_embed_batch: int = Field(default=64, ge=1, le=4096)
    search_max_top_k: int = Field(default=100, ge=1)
    chat_max_tokens: int = Field(default=4096, ge=1)

    # --- execution (adaptive batching, backpressure, deadlines)
    max_batch_size: int = Field(default=64, ge=1)
    max_latency_ms: float = Field(default=5.0, ge=0)
    max_queue: int = Field(default=2048, ge=1)
    model_threads: int = Field(default=2, ge=1)
    model_workers: int = Field(default=0, ge=0, le=32, description="worker processes per model; 0 = threads")
    request_timeout: float = Field(default=30.0, gt=0)
    shutdown_grace_s: float = Field(default=30.0, ge=0)

    # --- security
    auth: Literal["enabled", "disabled"] = "enabled"
    secret_key: SecretStr | None = None
    token_ttl_s: int = Field(default=3600, ge=60)
    rate_limit: str = "6000/minute"
    token_rate_limit: str = "10/minute"  # noqa: S105 (a rate, not a secret)
    key_cache_ttl_s: float = Field(default=5.0, ge=0)

    # --- tracking
    prediction_log: bool = True
    capture: Literal["full", "hash", "none"] = "full"
    capture_max_bytes: int = Field(default=65_536, ge=0)
    log_flush_interval_s: float = Field(default=0.5, gt=0)
    log_buffer_max: int = Field(default=100_000, ge=1)
    log_write_timeout_s: float = Field(default=10.0, gt=0)
    log_retry_max_s: float = Field(default=30.0, gt=0)
    cache_enabled: bool = True
    cache_ttl_s: float = Field(default=300.0, ge=0)
    cache_max_entries: int = Field(default=10_000, ge=0)

    # --- jobs
    jobs_engine: Literal["embedded", "celery"] = "embedded"
    broker_url: str | None = None
    job_workers: int = Field(default=1, ge=1)
    job_lease_s: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=3, ge=1, description="runs a job may start before it fails")
    job_poll_s: float = Field(default=1.0, gt=0, description="dispatcher, outbox and reaper period")
    job_queue_suffix: str = Field(default="", max_length=64, description="appended to queue names")
    broker_timeout_s: float = Field(default=3.0, gt=0, description="broker connect timeout on publish")

    # --- server: limits, TLS, drain (#17, #21)
    header_timeout_s: float = Field(default=10.0, gt=0, description="time to read a request's headers")
    body_timeout_s: float = Field(default=30.0, gt=0,
                                  description="time to read a request body, between chunks and in total")
    max_header_bytes: int = Field(default=64 * 1024, ge=8192, description="request head size; larger: 431")
    max_connections: int = Field(default=1024, ge=1, description="open connections per worker process")
    drain_s: float = Field(default=5.0, ge=0,
                           description="after SIGTERM: readiness 503, still accepting, for this long")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = Field(default=None, description="PKCS#8 PEM private key")
    tls_client_ca_file: Path | None = Field(default=None, description="set: clients need a cert it signed")
    # --- end server
    # --- bring your own model (#18)
    allow_code: bool = Field(
        default=False, description="allow registering `python` models (their code runs in model workers)"
    )
    # --- traffic control and webhooks (#20)
    traffic_shadow_queue: int = Field(default=256, ge=1, description="shadow calls waiting; more are dropped")
    traffic_guard_interval_s: float = Field(default=5.0, gt=0, description="how often guards are checked")
    webhook_allow_private: bool = Field(
        default=False, description="allow webhook targets on loopback, link-local and private addresses")
    webhook_poll_s: float = Field(default=1.0, gt=0, description="outbox dispatcher period")
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_retry_base_s: float = Field(default=2.0, gt=0, description="first retry delay, doubled per try")
    webhook_retry_max_s: float = Field(default=900.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1)
    # --- the first hour (#19): compressed answers, event-loop lag
    gzip_min_bytes: int = Field(default=1024, ge=0, description="gzip answers at least this large "
                                "when the client accepts it; 0 turns gzip off")
    loop_lag_interval_s: float = Field(default=0.5, ge=0, description="event-loop lag probe period; 0 = off")
    # --- console (#22)
    console_session_ttl_s: int = Field(default=3600, ge=1, description="lifetime of a /ui sign-in")
    # --- trust (#17)
    log_journal: bool = Field(
        default=True,
        description="write each prediction's log row to $MODELPORT_HOME/journal before answering",
    )
    log_journal_fsync_s: float = Field(default=0.1, gt=0, description="journal fsync interval")
    db_connect_timeout_s: float = Field(default=0.5, gt=0, description="PostgreSQL connect timeout")
    db_command_timeout_s: float = Field(
        default=30.0, gt=0, description="PostgreSQL statement timeout (bounds a query a hung server holds)")
    db_lookup_timeout_s: float = Field(
        default=0.25, gt=0, description="how long a request waits for a credential or registry lookup")
    db_outage_grace_s: float = Field(
        default=60.0, ge=0,
        description="how long cached credentials and models answer while the database is down")
    redis_max_connections: int = Field(
        default=64, ge=1, description="connections per Redis pool (cache, rate limits) per process")
    redis_idle_timeout_s: float = Field(
        default=30.0, gt=0, description="pooled Redis connections unused this long are closed")
    # --- end trust (#17)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'modelport.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    # --- production deployment (#21): artifact stores by URL, model-limited principals
    artifact_storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec storage options (JSON) for MODELPORT_ARTIFACT_URL"
    )
    artifact_cache_bytes: int = Field(
        default=10 * 1024**3, ge=0, description="per-node cache of artifacts from an object store"
    )
