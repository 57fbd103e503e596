"""Server settings, grouped by subsystem, read from ``MODELPORT_*`` environment variables and ``.env``.

Built by the app factory or the CLI, never at import, so tests and worker processes can
build their own.

Each subsystem has its own group (``settings.jobs.poll_s``, ``settings.database.url``). A setting
is read from two spellings of one variable:

- the nested name, ``MODELPORT_<GROUP>__<FIELD>``: ``MODELPORT_JOBS__POLL_S``,
  ``MODELPORT_DATABASE__URL`` (every setting has one);
- its flat name from before the grouping, listed in :data:`FLAT_NAMES`: ``MODELPORT_JOB_POLL_S``,
  ``MODELPORT_DATABASE_URL`` (the names the README, the deploy files and existing installs use).

Highest first: keyword arguments, nested environment variables, flat ones, nested names in
``.env``, flat ones there, then the defaults. Keyword arguments take a group's fields as a dict
or model (``Settings(jobs={"workers": 2})``) or the flat name (``Settings(job_workers=2)``, as
tests write them); an unknown keyword is an error, so a misspelt setting does not pass silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from modelport.paths import default_home

ENV_PREFIX: Final = "MODELPORT_"
NESTED_DELIMITER: Final = "__"


class Group(BaseModel):
    """One subsystem's settings; an unknown field (``MODELPORT_SERVER__PROT``) is an error."""

    model_config = ConfigDict(extra="forbid")


class ServerSettings(Group):
    """The HTTP server: listener, request limits, CORS, compression, drain and shutdown (#17, #19, #21)."""

    host: str = Field(default="127.0.0.1", description="bind address (HTTP and gRPC)")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port")
    max_connections: int = Field(default=1024, ge=1, description="open connections per worker process")
    header_timeout_s: float = Field(default=10.0, gt=0, description="time to read a request's headers")
    max_header_bytes: int = Field(default=64 * 1024, ge=8192, description="request head size; larger: 431")
    body_timeout_s: float = Field(default=30.0, gt=0,
                                  description="time to read a request body, between chunks and in total")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="request body; larger: 413")
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024,
                                  description="model and dataset uploads (and unpacked archives, times 4)")
    gzip_min_bytes: int = Field(default=1024, ge=0, description="gzip answers at least this large "
                                "when the client accepts it; 0 turns gzip off")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS (JSON list)")
    cors_allow_credentials: bool = Field(default=False, description="CORS with cookies and auth headers")
    drain_s: float = Field(default=5.0, ge=0,
                           description="after SIGTERM: readiness 503, still accepting, for this long")
    shutdown_grace_s: float = Field(default=30.0, ge=0,
                                    description="how long running calls may finish at shutdown")
    gc_threshold: int = Field(
        default=10_000, ge=1,
        description="serving process: net allocations between young-generation GC runs (CPython: 700)",
    )


class TlsSettings(Group):
    """Certificates for HTTPS and gRPC (the same files serve both)."""

    cert_file: Path | None = Field(default=None, description="PEM certificate chain; set: HTTPS")
    key_file: Path | None = Field(default=None, description="PKCS#8 PEM private key")
    client_ca_file: Path | None = Field(default=None, description="set: clients need a cert it signed")


class GrpcSettings(Group):
    """The OIP gRPC server, bound to ``server.host``."""

    enabled: bool = Field(default=True, description="serve OIP over gRPC")
    port: int = Field(default=8081, ge=0, le=65535, description="0 picks a free port")
    max_message_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="request and answer size")


class DatabaseSettings(Group):
    """The metadata database and how long callers wait on it (#17)."""

    url: str | None = Field(default=None, description="SQLAlchemy async URL; default: SQLite file in home")
    connect_timeout_s: float = Field(default=0.5, gt=0, description="PostgreSQL connect timeout")
    command_timeout_s: float = Field(
        default=30.0, gt=0, description="PostgreSQL statement timeout (bounds a query a hung server holds)")
    lookup_timeout_s: float = Field(
        default=0.25, gt=0, description="how long a request waits for a credential or registry lookup")
    outage_grace_s: float = Field(
        default=60.0, ge=0,
        description="how long cached credentials and models answer while the database is down")


class RedisSettings(Group):
    """The shared prediction cache and rate limits (and the Celery broker without ``jobs.broker_url``)."""

    url: str | None = Field(default=None, description="unset: cache and rate limits in process")
    max_connections: int = Field(
        default=64, ge=1, description="connections per Redis pool (cache, rate limits) per process")
    idle_timeout_s: float = Field(
        default=30.0, gt=0, description="pooled Redis connections unused this long are closed")


class ArtifactSettings(Group):
    """Where model and dataset files live (#21)."""

    url: str | None = Field(default=None, description="artifact store URL; default home/artifacts")
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec storage options (JSON) for the artifact URL"
    )
    cache_bytes: int = Field(
        default=10 * 1024**3, ge=0, description="per-node cache of artifacts from an object store"
    )


class ModelSettings(Group):
    """The registry and which models load (#18)."""

    demo: bool = Field(default=True, description="register the demo models in an empty registry")
    demo_text: bool = Field(
        default=True, description="with the [text] extra, also register minilm and tiny-chat demos"
    )
    preload: bool = Field(default=True, description="load every aliased version at start")
    preload_before_ready: bool = Field(
        default=False,
        description="readiness waits for every aliased version to load, for rolling deploys behind a "
                    "load balancer",
    )
    max_loaded: int = Field(default=32, ge=1, description="model versions loaded at once")
    registry_cache_ttl_s: float = Field(
        default=2.0, ge=0, description="how long a lookup is cached (alias moves on other replicas)")
    allow_pickle: bool = Field(default=False, description="load artifacts that unpickle (they can run code)")
    allow_code: bool = Field(
        default=False, description="allow registering `python` models (their code runs in model workers)"
    )


class InferenceSettings(Group):
    """Execution: adaptive batching, backpressure, workers and the default deadline."""

    max_batch_size: int = Field(default=64, ge=1, description="rows one batched model call takes")
    max_latency_ms: float = Field(default=5.0, ge=0, description="longest a queued request waits for a batch")
    max_queue: int = Field(default=2048, ge=1, description="requests queued per model version; more: 503")
    threads: int = Field(default=2, ge=1, description="threads that run model calls")
    workers: int = Field(default=0, ge=0, le=32, description="worker processes per model; 0 = threads")
    request_timeout_s: float = Field(default=30.0, gt=0,
                                     description="deadline of a call without X-Request-Timeout")
    max_batch_rows: int = Field(default=1024, ge=1, description="rows in one request (and batch-job chunk)")


class TextSettings(Group):
    """The [text] extra's endpoints: text, images, semantic search and chat."""

    max_string_length: int = Field(default=65_536, ge=1, description="characters in one text input")
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="one uploaded image file")
    max_image_pixels: int = Field(default=40_000_000, ge=1, description="one decoded image")
    search_embed_batch: int = Field(default=64, ge=1, le=4096, description="texts per embedding call")
    search_max_top_k: int = Field(default=100, ge=1, description="results one search may ask for")
    chat_max_tokens: int = Field(default=4096, ge=1, description="max_tokens one chat completion may ask for")


class SecuritySettings(Group):
    """Authentication, tokens, rate limits and console sign-in (#22)."""

    auth: Literal["enabled", "disabled"] = Field(default="enabled", description="disabled: no credentials")
    secret_key: SecretStr | None = Field(
        default=None, description="signs tokens and console sessions; unset: one kept in home (SQLite only)")
    token_ttl_s: int = Field(default=3600, ge=60, description="lifetime of a /token access token")
    rate_limit: str = Field(default="6000/minute", description="per caller, unless its key has its own")
    token_rate_limit: str = Field(default="10/minute", description="password sign-ins per client address")
    key_cache_ttl_s: float = Field(
        default=5.0, ge=0, description="how long a verified key is trusted before it is looked up again")
    console_session_ttl_s: int = Field(default=3600, ge=1, description="lifetime of a /ui sign-in")


class TrackingSettings(Group):
    """The prediction log: what each call records, how it is written, the journal (#17)."""

    enabled: bool = Field(default=True, description="record every prediction")
    capture: Literal["full", "hash", "none"] = Field(
        default="full", description="inputs stored as JSON, as a SHA-256, or not (a version may override)")
    capture_max_bytes: int = Field(default=65_536, ge=0, description="inputs stored per record; more: cut")
    flush_interval_s: float = Field(default=0.5, gt=0, description="how often buffered rows are written")
    buffer_max: int = Field(default=100_000, ge=1, description="rows held in memory; more spill to disk")
    write_timeout_s: float = Field(default=10.0, gt=0, description="one database write")
    retry_max_s: float = Field(default=30.0, gt=0, description="longest backoff between failed writes")
    journal: bool = Field(
        default=True,
        description="write each prediction's log row to $MODELPORT_HOME/journal before answering",
    )
    journal_fsync_s: float = Field(default=0.1, gt=0, description="journal fsync interval")


class CacheSettings(Group):
    """The prediction cache: the same inputs to the same version get the stored outputs
    (in process, or in Redis with ``redis.url``)."""

    enabled: bool = Field(default=True, description="answer repeated predictions from the cache")
    ttl_s: float = Field(default=300.0, ge=0, description="0 turns the cache off")
    max_entries: int = Field(default=10_000, ge=0, description="in-process cache size; 0 turns it off")


class JobSettings(Group):
    """Training and batch jobs: engine, broker, workers, leases."""

    engine: Literal["embedded", "celery"] = Field(
        default="embedded", description="embedded: processes of the server; celery: `modelport worker`")
    broker_url: str | None = Field(default=None,
                                   description="Celery broker (redis:// or amqp://); unset: redis.url")
    broker_timeout_s: float = Field(default=3.0, gt=0, description="broker connect timeout on publish")
    workers: int = Field(default=1, ge=1, description="jobs run at once (`modelport worker`: per worker)")
    lease_s: float = Field(default=60.0, gt=0, description="a running job's lease; expired: run again")
    max_attempts: int = Field(default=3, ge=1, description="runs a job may start before it fails")
    poll_s: float = Field(default=1.0, gt=0, description="dispatcher, outbox and reaper period")
    queue_suffix: str = Field(default="", max_length=64, description="appended to queue names")


class WebhookSettings(Group):
    """Outgoing webhooks: targets allowed, delivery period, retries (#20)."""

    allow_private: bool = Field(
        default=False, description="allow webhook targets on loopback, link-local and private addresses")
    poll_s: float = Field(default=1.0, gt=0, description="outbox dispatcher period")
    timeout_s: float = Field(default=10.0, gt=0, description="one delivery")
    retry_base_s: float = Field(default=2.0, gt=0, description="first retry delay, doubled per try")
    retry_max_s: float = Field(default=900.0, gt=0, description="longest retry delay")
    max_attempts: int = Field(default=15, ge=1, description="deliveries tried before one is given up")


class TrafficSettings(Group):
    """Traffic control: shadow calls and guards (#20)."""

    shadow_queue: int = Field(default=256, ge=1, description="shadow calls waiting; more are dropped")
    guard_interval_s: float = Field(default=5.0, gt=0, description="how often guards are checked")


class ObservabilitySettings(Group):
    """Logs, telemetry and the event-loop lag probe (#19)."""

    log_level: str = Field(default="info", description="debug, info, warning, error")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: JSON lines unless stderr is a terminal")
    fastapi_telemetry: bool = Field(
        default=False, description="FastAPI's native OpenTelemetry middleware (costs ~5% per request)"
    )
    loop_lag_interval_s: float = Field(default=0.5, ge=0, description="event-loop lag probe period; 0 = off")


# flat name (``MODELPORT_<NAME>``, as before the grouping) -> (group, field)
FLAT_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    # server
    "host": ("server", "host"),
    "port": ("server", "port"),
    "max_connections": ("server", "max_connections"),
    "header_timeout_s": ("server", "header_timeout_s"),
    "max_header_bytes": ("server", "max_header_bytes"),
    "body_timeout_s": ("server", "body_timeout_s"),
    "max_body_bytes": ("server", "max_body_bytes"),
    "max_upload_bytes": ("server", "max_upload_bytes"),
    "gzip_min_bytes": ("server", "gzip_min_bytes"),
    "cors_origins": ("server", "cors_origins"),
    "cors_allow_credentials": ("server", "cors_allow_credentials"),
    "drain_s": ("server", "drain_s"),
    "shutdown_grace_s": ("server", "shutdown_grace_s"),
    "gc_threshold": ("server", "gc_threshold"),
    # tls
    "tls_cert_file": ("tls", "cert_file"),
    "tls_key_file": ("tls", "key_file"),
    "tls_client_ca_file": ("tls", "client_ca_file"),
    # grpc
    "grpc_enabled": ("grpc", "enabled"),
    "grpc_port": ("grpc", "port"),
    "grpc_max_message_bytes": ("grpc", "max_message_bytes"),
    # database
    "database_url": ("database", "url"),
    "db_connect_timeout_s": ("database", "connect_timeout_s"),
    "db_command_timeout_s": ("database", "command_timeout_s"),
    "db_lookup_timeout_s": ("database", "lookup_timeout_s"),
    "db_outage_grace_s": ("database", "outage_grace_s"),
    # redis
    "redis_url": ("redis", "url"),
    "redis_max_connections": ("redis", "max_connections"),
    "redis_idle_timeout_s": ("redis", "idle_timeout_s"),
    # artifacts
    "artifact_url": ("artifacts", "url"),
    "artifact_storage_options": ("artifacts", "storage_options"),
    "artifact_cache_bytes": ("artifacts", "cache_bytes"),
    # models
    "demo_models": ("models", "demo"),
    "demo_text_models": ("models", "demo_text"),
    "preload": ("models", "preload"),
    "preload_before_ready": ("models", "preload_before_ready"),
    "max_loaded_models": ("models", "max_loaded"),
    "registry_cache_ttl_s": ("models", "registry_cache_ttl_s"),
    "allow_pickle": ("models", "allow_pickle"),
    "allow_code": ("models", "allow_code"),
    # inference
    "max_batch_size": ("inference", "max_batch_size"),
    "max_latency_ms": ("inference", "max_latency_ms"),
    "max_queue": ("inference", "max_queue"),
    "model_threads": ("inference", "threads"),
    "model_workers": ("inference", "workers"),
    "request_timeout": ("inference", "request_timeout_s"),
    "max_batch_rows": ("inference", "max_batch_rows"),
    # text
    "max_string_length": ("text", "max_string_length"),
    "max_image_bytes": ("text", "max_image_bytes"),
    "max_image_pixels": ("text", "max_image_pixels"),
    "search_embed_batch": ("text", "search_embed_batch"),
    "search_max_top_k": ("text", "search_max_top_k"),
    "chat_max_tokens": ("text", "chat_max_tokens"),
    # security
    "auth": ("security", "auth"),
    "secret_key": ("security", "secret_key"),
    "token_ttl_s": ("security", "token_ttl_s"),
    "rate_limit": ("security", "rate_limit"),
    "token_rate_limit": ("security", "token_rate_limit"),
    "key_cache_ttl_s": ("security", "key_cache_ttl_s"),
    "console_session_ttl_s": ("security", "console_session_ttl_s"),
    # tracking
    "prediction_log": ("tracking", "enabled"),
    "capture": ("tracking", "capture"),
    "capture_max_bytes": ("tracking", "capture_max_bytes"),
    "log_flush_interval_s": ("tracking", "flush_interval_s"),
    "log_buffer_max": ("tracking", "buffer_max"),
    "log_write_timeout_s": ("tracking", "write_timeout_s"),
    "log_retry_max_s": ("tracking", "retry_max_s"),
    "log_journal": ("tracking", "journal"),
    "log_journal_fsync_s": ("tracking", "journal_fsync_s"),
    # cache
    "cache_enabled": ("cache", "enabled"),
    "cache_ttl_s": ("cache", "ttl_s"),
    "cache_max_entries": ("cache", "max_entries"),
    # jobs
    "jobs_engine": ("jobs", "engine"),
    "broker_url": ("jobs", "broker_url"),
    "broker_timeout_s": ("jobs", "broker_timeout_s"),
    "job_workers": ("jobs", "workers"),
    "job_lease_s": ("jobs", "lease_s"),
    "job_max_attempts": ("jobs", "max_attempts"),
    "job_poll_s": ("jobs", "poll_s"),
    "job_queue_suffix": ("jobs", "queue_suffix"),
    # webhooks
    "webhook_allow_private": ("webhooks", "allow_private"),
    "webhook_poll_s": ("webhooks", "poll_s"),
    "webhook_timeout_s": ("webhooks", "timeout_s"),
    "webhook_retry_base_s": ("webhooks", "retry_base_s"),
    "webhook_retry_max_s": ("webhooks", "retry_max_s"),
    "webhook_max_attempts": ("webhooks", "max_attempts"),
    # traffic
    "traffic_shadow_queue": ("traffic", "shadow_queue"),
    "traffic_guard_interval_s": ("traffic", "guard_interval_s"),
    # observability
    "log_level": ("observability", "log_level"),
    "log_format": ("observability", "log_format"),
    "fastapi_telemetry": ("observability", "fastapi_telemetry"),
    "loop_lag_interval_s": ("observability", "loop_lag_interval_s"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env", env_file_encoding="utf-8", extra="ignore",
    )

    home: Path = Field(default_factory=default_home,
                       description="data home; default per user, e.g. ~/.local/share/modelport (#19)")
    server: ServerSettings = Field(default_factory=ServerSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    grpc: GrpcSettings = Field(default_factory=GrpcSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    traffic: TrafficSettings = Field(default_factory=TrafficSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    def __init__(self, **values: Any) -> None:
        """Keyword arguments: fields, groups (dicts or models), flat names (see the module docstring)
        and pydantic-settings' own ``_env_file`` and friends."""
        super().__init__(**_nest_keywords(values))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        flat = _flat_model()
        case_sensitive = bool(settings_cls.model_config.get("case_sensitive", False))
        flat_env = EnvSettingsSource(flat, case_sensitive=case_sensitive, env_prefix=ENV_PREFIX)
        sources: list[PydanticBaseSettingsSource] = [
            init_settings, env_settings, _FlatNamesSource(settings_cls, flat_env), dotenv_settings,
        ]
        if isinstance(dotenv_settings, DotEnvSettingsSource):  # the same file(s), `_env_file` included
            flat_dotenv = DotEnvSettingsSource(
                flat, env_file=dotenv_settings.env_file, env_file_encoding=dotenv_settings.env_file_encoding,
                case_sensitive=case_sensitive, env_prefix=ENV_PREFIX)
            sources.append(_FlatNamesSource(settings_cls, flat_dotenv))
        return (*sources, file_secret_settings)

    @property
    def resolved_database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.home / 'modelport.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"


GROUPS: Final[tuple[str, ...]] = tuple(
    name for name, info in Settings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Group)
)
_FLAT_OF: Final[dict[tuple[str, str], str]] = {where: flat for flat, where in FLAT_NAMES.items()}


def env_name(group: str | None, field: str) -> str:
    """The variable that sets a setting: its flat name where it has one, else the nested name."""
    if group is None:
        return f"{ENV_PREFIX}{field}".upper()
    flat = _FLAT_OF.get((group, field))
    if flat is not None:
        return f"{ENV_PREFIX}{flat}".upper()
    return nested_env_name(group, field)


def nested_env_name(group: str, field: str) -> str:
    return f"{ENV_PREFIX}{group}{NESTED_DELIMITER}{field}".upper()


def walk(settings: Settings) -> Iterator[tuple[str | None, str, Any]]:
    """``(group, field, value)`` for every setting, in declaration order; group ``None``: top level."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, Group):
            for field in type(value).model_fields:
                yield name, field, getattr(value, field)
        else:
            yield None, name, value


def _nest_keywords(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat keyword names moved into their groups, merged with the group given as a dict or model."""
    out: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key in FLAT_NAMES:
            flat[key] = value
        elif key in Settings.model_fields or key.startswith("_"):  # `_env_file` and the like
            out[key] = value
        else:
            raise TypeError(f"Settings() got an unknown setting {key!r}")
    for group, fields in _nest(flat).items():
        given = out.get(group, {})
        merged = dict(given.model_dump(exclude_unset=True) if isinstance(given, BaseModel) else given)
        if both := merged.keys() & fields.keys():
            raise TypeError(f"Settings() got {group}.{min(both)} twice (in {group}= and by its flat name)")
        out[group] = {**merged, **fields}
    return out


def _nest(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        group, field = FLAT_NAMES[key]
        nested.setdefault(group, {})[field] = value
    return nested


@cache
def _flat_model() -> type[BaseSettings]:
    """A flat model of the flat names, typed like their fields, so pydantic-settings reads (and
    JSON-decodes) ``MODELPORT_CORS_ORIGINS`` and the like exactly as it did before the grouping."""
    fields: dict[str, Any] = {}
    for flat, (group, field) in FLAT_NAMES.items():
        model = Settings.model_fields[group].annotation
        assert isinstance(model, type) and issubclass(model, Group)
        fields[flat] = (model.model_fields[field].annotation, None)
    return create_model("FlatSettings", __base__=_FlatBase, **fields)


class _FlatBase(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")


class _FlatNamesSource(PydanticBaseSettingsSource):
    """What ``inner`` reads under the flat names, moved into their groups."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.inner = inner

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, "", False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        return _nest({key: value for key, value in self.inner().items() if key in FLAT_NAMES})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
