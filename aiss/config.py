"""Settings: one frozen object, built once at start from the environment.

`Settings.from_env` is the only place that reads configuration. It takes the
environment as a mapping (and an optional `.env` file, which the environment
overrides), checks every value, and reports all problems at once, each naming
the variable and the form it accepts.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, TypeVar, cast

from dotenv import dotenv_values

from .storage.vectors import SEARCH_MODES, SearchMode, keywords
from .values import (
    parse_bool,
    parse_duration,
    parse_http_url,
    parse_list,
    parse_node,
    parse_rate,
    parse_size,
    parse_uid_range,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

T = TypeVar("T")

ROLES: Final = (
    "all",
    "gateway",
    "users",
    "documents",
    "context",
    "embedding",
    "rag",
    "terminal-gateway",
    "terminal-sessions",
)
ROLE_PORTS: Final = {
    "gateway": 8080,
    "users": 8081,
    "documents": 8082,
    "context": 8083,
    "embedding": 8084,
    "rag": 8085,
    "terminal-gateway": 8086,
    "terminal-sessions": 8087,
}


def role_url_variable(role: str) -> str:
    """AISS_USERS_URL, AISS_TERMINAL_SESSIONS_URL, ...: where a role answers."""
    return f"AISS_{role.upper().replace('-', '_')}_URL"


ENVIRONMENTS: Final = ("development", "test", "production")
LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LLM_PROVIDERS: Final = ("none", "openai", "anthropic", "ollama")
JWT_ALGORITHMS: Final = ("HS256", "RS256", "EDDSA")
_PLACEHOLDER_WORDS: Final = ("change", "placeholder", "example", "your", "default", "secret")
_DEFAULT_PASSWORDS: Final = frozenset({"minioadmin", "password", "admin", "root", "aiss", "mongo"})
MIN_JWT_SECRET: Final = 32


class ConfigError(ValueError):
    """Start-up stops: at least one variable has a value AISS cannot use."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that never shows in logs, reprs or error messages."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> str:
        return self.value


class _Reader:
    """Reads variables, remembering their names and collecting every problem."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.names: list[str] = []
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        self.names.append(name)
        value = self.environ.get(name)
        return value if value not in (None, "") else None

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def optional(self, name: str) -> str | None:
        return self._raw(name)

    def parsed(self, name: str, parse: Callable[[str], T], default: str) -> T:
        raw = self._raw(name) or default
        try:
            return parse(raw)
        except ValueError as exc:
            self.problems.append(f"{name}={raw!r}: expected {exc}")
            return parse(default)

    def choice(
        self, name: str, choices: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        raw = self._raw(name) or default
        value = raw.upper() if upper else raw.lower()
        if value not in choices:
            self.problems.append(f"{name}={value!r}: expected one of {', '.join(choices)}")
            return default
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            self.problems.append(f"{name}={raw!r}: expected a whole number from {low} to {high}")
            return default
        return value

    def path(self, name: str) -> Path | None:
        raw = self._raw(name)
        if raw is None:
            return None
        path = Path(raw).expanduser()
        if not path.is_file():
            self.problems.append(f"{name}={raw!r}: no such file")
        return path

    def secrets(self, name: str) -> tuple[Secret, ...]:
        joined = self.secret(name)
        return tuple(Secret(s) for s in parse_list(joined.reveal())) if joined else ()

    def secret(self, name: str) -> Secret | None:
        """NAME, or NAME_FILE naming a file that holds it (Docker secrets)."""
        value = self._raw(name)
        path = self._raw(f"{name}_FILE")
        if path is None:
            return Secret(value) if value is not None else None
        if value is not None:
            self.problems.append(f"{name} and {name}_FILE are both set: set only one")
            return None
        try:
            content = Path(path).read_text().rstrip("\r\n")
        except OSError as exc:
            self.problems.append(f"{name}_FILE={path!r}: cannot read it ({exc.strerror})")
            return None
        return Secret(content) if content else None


def _optional_path(text: str | None) -> Path | None:
    return Path(text).expanduser().absolute() if text else None


def _seconds(text: str) -> float:
    return parse_duration(text).total_seconds()


def _share(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0.01 <= share <= 0.99:
        raise ValueError("a share between 0.01 and 0.99")
    return share


def _weights(text: str) -> tuple[float, float]:
    """`dense,keywords`: two finite non-negative weights, not both zero."""
    try:
        dense, keywords = (float(part) for part in text.split(","))
    except ValueError:
        dense = keywords = -1.0
    if not (0 <= dense < math.inf and 0 <= keywords < math.inf) or dense + keywords == 0:
        raise ValueError("two weights `dense,keywords`, such as 1,1 or 1,2")
    return dense, keywords


@dataclass(frozen=True, kw_only=True)
class Settings:
    environment: str = "development"
    log_level: str = "info"
    log_format: str = "json"
    role: str = "all"
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    jwt_secret: Secret | None = None
    jwt_previous_secrets: tuple[Secret, ...] = ()
    jwt_algorithm: str = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "aiss"
    jwt_audience: str = "aiss"
    jwt_expiration: timedelta = timedelta(minutes=30)
    refresh_token_expiration: timedelta = timedelta(days=7)
    mongodb_uri: Secret | None = None
    mongodb_database: str = "aiss"
    mongodb_user: str | None = None
    mongodb_password: Secret | None = None
    qdrant_url: str | None = None
    qdrant_api_key: Secret | None = None
    general_embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    personal_embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    use_gpu: bool = False
    use_fp16: bool = False
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    minio_root_user: str | None = None
    minio_root_password: Secret | None = None
    minio_bucket: str = "aiss-documents"
    default_llm_provider: str = "none"
    openai_api_key: Secret | None = None
    anthropic_api_key: Secret | None = None
    ollama_host: str = "http://localhost:11434"
    llm_first_token_timeout: float = 30.0
    llm_token_timeout: float = 15.0
    cors_allowed_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 50 * 1024 * 1024
    mailbox_size: int = 1024
    ask_timeout: float = 10.0
    shutdown_timeout: float = 10.0
    max_restarts: int = 5
    restart_window: float = 30.0
    health_interval: float = 2.0
    admin_initial_password: Secret | None = None
    encryption_key: Secret | None = None
    login_rate_limit: tuple[int, float] = (10, 300.0)
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    ingest_workers: int = 0  # 0: one per core, at least two
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    embedding_backend: str = "auto"
    embedding_threads: int = 0  # 0: one per core
    embedding_int8: bool = False
    embed_queue: int = 4096
    embed_token_budget: int = 8192
    embed_max_batch: int = 64
    embed_max_wait: float = 0.002
    embed_max_inputs: int = 2048
    embed_truncate: bool = True
    embed_timeout: float = 30.0
    embed_ingest_share: float = 0.25
    embed_ingest_worker: str = "auto"  # separate | shared | auto: separate without a GPU
    embed_ingest_nice: int = 10
    embed_slice: float = 0.02
    search_mode: SearchMode = "hybrid"  # what a search without `mode` does
    keyword_language: str = "english"  # the stemmer of keyword vectors; none: no stemming
    hybrid_fusion: Literal["rrf", "dbsf"] = "rrf"
    hybrid_weights: tuple[float, float] = (1.0, 1.5)  # dense, keywords (rrf)
    hf_cache: Path = Path("~/.cache/huggingface/hub")
    terminal_shell: str = "/bin/bash"
    ssh_port: int = 2222  # 0: no SSH gateway
    terminal_local: str | None = None  # all | admin | none; None: all when sandboxed
    terminal_sandbox: str = "auto"  # auto | bwrap | uid | none
    terminal_bwrap: str = "bwrap"
    terminal_hide: tuple[Path, ...] = ()
    terminal_homes: Path | None = None  # None: the data dir's homes/
    terminal_uid_range: tuple[int, int] = (1879048192, 1879113727)
    terminal_network: str = "host"  # host | none
    terminal_max_processes: int = 256
    terminal_max_files: int = 1024
    terminal_memory: int = 4 << 30
    terminal_cpu_seconds: int = 0
    terminal_tmp_size: int = 256 << 20
    terminal_nice: int = 10
    terminal_max_sessions: int = 200
    terminal_max_per_user: int = 10
    terminal_idle_timeout: float = 3600.0
    terminal_max_lifetime: float = 86400.0
    terminal_connect_timeout: float = 30.0
    terminal_scrollback: int = 1 << 20
    terminal_high_watermark: int = 256 * 1024
    terminal_low_watermark: int = 64 * 1024
    terminal_record_input: bool = False
    terminal_session_retention: float = 30 * 86400.0
    terminal_command_retention: float = 90 * 86400.0
    # With --role: where the other roles answer, and how they reach this process.
    role_urls: tuple[tuple[str, str], ...] = ()
    node: str = ""  # host:port; empty: this machine's name and the port served
    forwarded_allow_ips: str = ""

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: str | None = ".env"
    ) -> Settings:
        """Build settings from `environ` (default: the process environment).

        Variables missing there are taken from the dotenv file that
        `AISS_ENV_FILE` names, or else `env_file` when it exists.
        """
        environ = dict(os.environ if environ is None else environ)
        named = environ.get("AISS_ENV_FILE")
        if named and not Path(named).is_file():
            raise ConfigError([f"AISS_ENV_FILE={named!r}: no such file"])
        path = named or env_file
        if path and Path(path).is_file():
            from_file = {k: v for k, v in dotenv_values(path).items() if v is not None}
            environ = from_file | environ
        reader = _Reader(environ)
        settings = cls._read(reader)
        missing_keys = settings.jwt_private_key_file is None or settings.jwt_public_key_file is None
        if settings.jwt_algorithm != "HS256" and missing_keys:
            reader.problems.append(
                f"JWT_PRIVATE_KEY_FILE, JWT_PUBLIC_KEY_FILE: both required with JWT_ALGORITHM="
                f"{settings.jwt_algorithm}"
            )
        low, high = settings.terminal_low_watermark, settings.terminal_high_watermark
        if not 0 < low < high <= settings.terminal_scrollback - (64 << 10):
            reader.problems.append(
                "AISS_TERMINAL_LOW_WATERMARK < AISS_TERMINAL_HIGH_WATERMARK <="
                " AISS_TERMINAL_SCROLLBACK - 64KiB: the scrollback holds all a driver is owed"
            )
        if settings.environment == "production":
            reader.problems.extend(settings._production_problems())
        if reader.problems:
            raise ConfigError(reader.problems)
        return settings

    @classmethod
    def _read(cls, r: _Reader) -> Settings:
        home = Path(r.environ.get("HOME") or ".")
        xdg = r.environ.get("XDG_DATA_HOME")
        default_data = Path(xdg) / "aiss" if xdg else home / ".local" / "share" / "aiss"
        return cls(
            environment=r.choice("ENVIRONMENT", ENVIRONMENTS, "development"),
            log_level=r.choice("LOG_LEVEL", LOG_LEVELS, "info"),
            log_format=r.choice("AISS_LOG_FORMAT", ("json", "text"), "json"),
            role=r.choice("AISS_ROLE", ROLES, "all"),
            host=r.text("AISS_HOST", "127.0.0.1"),
            port=r.integer("API_GATEWAY_PORT", 8080, 0, 65535),
            data_dir=Path(r.text("AISS_DATA_DIR", str(default_data))).expanduser(),
            jwt_secret=r.secret("JWT_SECRET"),
            jwt_previous_secrets=r.secrets("JWT_PREVIOUS_SECRETS"),
            jwt_algorithm=r.choice("JWT_ALGORITHM", JWT_ALGORITHMS, "HS256", upper=True),
            jwt_private_key_file=r.path("JWT_PRIVATE_KEY_FILE"),
            jwt_public_key_file=r.path("JWT_PUBLIC_KEY_FILE"),
            jwt_issuer=r.text("JWT_ISSUER", "aiss"),
            jwt_audience=r.text("JWT_AUDIENCE", "aiss"),
            jwt_expiration=r.parsed("JWT_EXPIRATION", parse_duration, "30m"),
            refresh_token_expiration=r.parsed("REFRESH_TOKEN_EXPIRATION", parse_duration, "7d"),
            mongodb_uri=r.secret("MONGODB_URI"),
            mongodb_database=r.text("MONGODB_DATABASE", "aiss"),
            mongodb_user=r.optional("MONGODB_USER"),
            mongodb_password=r.secret("MONGODB_PASSWORD"),
            qdrant_url=r.optional("QDRANT_URL"),
            qdrant_api_key=r.secret("QDRANT_API_KEY"),
            general_embedding_model=r.text("GENERAL_EMBEDDING_MODEL", cls.general_embedding_model),
            personal_embedding_model=r.text(
                "PERSONAL_EMBEDDING_MODEL", cls.personal_embedding_model
            ),
            use_gpu=r.parsed("USE_GPU", parse_bool, "false"),
            use_fp16=r.parsed("USE_FP16", parse_bool, "false"),
            s3_endpoint=r.optional("AISS_S3_ENDPOINT"),
            s3_region=r.text("AISS_S3_REGION", "us-east-1"),
            minio_root_user=r.optional("MINIO_ROOT_USER"),
            minio_root_password=r.secret("MINIO_ROOT_PASSWORD"),
            minio_bucket=r.text("MINIO_BUCKET", "aiss-documents"),
            default_llm_provider=r.choice("DEFAULT_LLM_PROVIDER", LLM_PROVIDERS, "none"),
            openai_api_key=r.secret("OPENAI_API_KEY"),
            anthropic_api_key=r.secret("ANTHROPIC_API_KEY"),
            ollama_host=r.text("OLLAMA_HOST", "http://localhost:11434"),
            llm_first_token_timeout=r.parsed("AISS_LLM_FIRST_TOKEN_TIMEOUT", _seconds, "30s"),
            llm_token_timeout=r.parsed("AISS_LLM_TOKEN_TIMEOUT", _seconds, "15s"),
            cors_allowed_origins=r.parsed("CORS_ALLOWED_ORIGINS", parse_list, ""),
            max_upload_bytes=r.integer("AISS_MAX_UPLOAD_MB", 50, 1, 100_000) * 1024 * 1024,
            mailbox_size=r.integer("AISS_MAILBOX_SIZE", 1024, 1, 1_000_000),
            ask_timeout=r.parsed("AISS_ASK_TIMEOUT", _seconds, "10s"),
            shutdown_timeout=r.parsed("AISS_SHUTDOWN_TIMEOUT", _seconds, "10s"),
            max_restarts=r.integer("AISS_MAX_RESTARTS", 5, 0, 1000),
            restart_window=r.parsed("AISS_RESTART_WINDOW", _seconds, "30s"),
            health_interval=r.parsed("AISS_HEALTH_INTERVAL", _seconds, "2s"),
            admin_initial_password=r.secret("ADMIN_INITIAL_PASSWORD"),
            encryption_key=r.secret("AISS_ENCRYPTION_KEY"),
            login_rate_limit=r.parsed("AISS_LOGIN_RATE_LIMIT", parse_rate, "10/5m"),
            argon2_time_cost=r.integer("AISS_ARGON2_TIME_COST", 3, 1, 20),
            argon2_memory_kib=r.parsed("AISS_ARGON2_MEMORY", parse_size, "64MiB") // 1024,
            ingest_workers=r.integer("AISS_INGEST_WORKERS", 0, 0, 256),
            chunk_tokens=r.integer("AISS_CHUNK_TOKENS", 256, 16, 8192),
            chunk_overlap=r.integer("AISS_CHUNK_OVERLAP", 32, 0, 4096),
            embedding_backend=r.choice("AISS_EMBEDDING_BACKEND", ("auto", "onnx", "torch"), "auto"),
            embedding_threads=r.integer("AISS_EMBEDDING_THREADS", 0, 0, 256),
            embedding_int8=r.parsed("AISS_EMBEDDING_INT8", parse_bool, "false"),
            embed_queue=r.integer("AISS_EMBED_QUEUE", 4096, 1, 10_000_000),
            embed_token_budget=r.integer("AISS_EMBED_TOKEN_BUDGET", 8192, 64, 10_000_000),
            embed_max_batch=r.integer("AISS_EMBED_MAX_BATCH", 64, 1, 100_000),
            embed_max_wait=r.parsed("AISS_EMBED_MAX_WAIT", _seconds, "2ms"),
            embed_max_inputs=r.integer("AISS_EMBED_MAX_INPUTS", 2048, 1, 1_000_000),
            embed_truncate=r.parsed("AISS_EMBED_TRUNCATE", parse_bool, "true"),
            embed_timeout=r.parsed("AISS_EMBED_TIMEOUT", _seconds, "30s"),
            embed_ingest_share=r.parsed("AISS_EMBED_INGEST_SHARE", _share, "0.25"),
            embed_ingest_worker=r.choice(
                "AISS_EMBED_INGEST_WORKER", ("auto", "separate", "shared"), "auto"
            ),
            embed_ingest_nice=r.integer("AISS_EMBED_INGEST_NICE", 10, 0, 19),
            embed_slice=r.parsed("AISS_EMBED_SLICE", _seconds, "20ms"),
            search_mode=cast("SearchMode", r.choice("AISS_SEARCH_MODE", SEARCH_MODES, "hybrid")),
            keyword_language=r.choice(
                "AISS_KEYWORD_LANGUAGE", ("none", *keywords.LANGUAGES), "english"
            ),
            hybrid_fusion=cast(
                "Literal['rrf', 'dbsf']", r.choice("AISS_HYBRID_FUSION", ("rrf", "dbsf"), "rrf")
            ),
            hybrid_weights=r.parsed("AISS_HYBRID_WEIGHTS", _weights, "1,1.5"),
            terminal_shell=r.text("AISS_TERMINAL_SHELL", "/bin/bash"),
            ssh_port=r.integer("AISS_SSH_PORT", 2222, 0, 65535),
            terminal_local=(
                r.choice("AISS_TERMINAL_LOCAL", ("all", "admin", "none"), "admin")
                if r.environ.get("AISS_TERMINAL_LOCAL")
                else r.optional("AISS_TERMINAL_LOCAL")
            ),
            terminal_sandbox=r.choice(
                "AISS_TERMINAL_SANDBOX", ("auto", "bwrap", "uid", "none"), "auto"
            ),
            terminal_bwrap=r.text("AISS_TERMINAL_BWRAP", "bwrap"),
            terminal_hide=tuple(
                Path(p).expanduser().absolute()
                for p in r.parsed("AISS_TERMINAL_HIDE", parse_list, "")
            ),
            terminal_homes=_optional_path(r.optional("AISS_TERMINAL_HOMES")),
            terminal_uid_range=r.parsed(
                "AISS_TERMINAL_UID_RANGE", parse_uid_range, "1879048192-1879113727"
            ),
            terminal_network=r.choice("AISS_TERMINAL_NETWORK", ("host", "none"), "host"),
            terminal_max_processes=r.integer("AISS_TERMINAL_MAX_PROCESSES", 256, 0, 1_000_000),
            terminal_max_files=r.integer("AISS_TERMINAL_MAX_FILES", 1024, 0, 1_048_576),
            terminal_memory=(
                0
                if r.environ.get("AISS_TERMINAL_MEMORY") == "0"
                else r.parsed("AISS_TERMINAL_MEMORY", parse_size, "4GiB")
            ),
            terminal_cpu_seconds=r.integer("AISS_TERMINAL_CPU_SECONDS", 0, 0, 10**9),
            terminal_tmp_size=r.parsed("AISS_TERMINAL_TMP_SIZE", parse_size, "256MiB"),
            terminal_nice=r.integer("AISS_TERMINAL_NICE", 10, 0, 19),
            terminal_max_sessions=r.integer("AISS_TERMINAL_MAX_SESSIONS", 200, 1, 100_000),
            terminal_max_per_user=r.integer("AISS_TERMINAL_MAX_PER_USER", 10, 1, 10_000),
            terminal_idle_timeout=r.parsed("AISS_TERMINAL_IDLE_TIMEOUT", _seconds, "1h"),
            terminal_max_lifetime=r.parsed("AISS_TERMINAL_MAX_LIFETIME", _seconds, "24h"),
            terminal_connect_timeout=r.parsed("AISS_TERMINAL_CONNECT_TIMEOUT", _seconds, "30s"),
            terminal_scrollback=r.parsed("AISS_TERMINAL_SCROLLBACK", parse_size, "1MiB"),
            terminal_high_watermark=r.parsed("AISS_TERMINAL_HIGH_WATERMARK", parse_size, "256KiB"),
            terminal_low_watermark=r.parsed("AISS_TERMINAL_LOW_WATERMARK", parse_size, "64KiB"),
            terminal_record_input=r.parsed("AISS_TERMINAL_RECORD_INPUT", parse_bool, "false"),
            terminal_session_retention=r.parsed("AISS_TERMINAL_SESSION_RETENTION", _seconds, "30d"),
            terminal_command_retention=r.parsed("AISS_TERMINAL_COMMAND_RETENTION", _seconds, "90d"),
            role_urls=tuple(
                (
                    role,
                    r.parsed(role_url_variable(role), parse_http_url, f"http://127.0.0.1:{port}"),
                )
                for role, port in ROLE_PORTS.items()
                if role != "gateway"
            ),
            node=r.parsed("AISS_NODE", parse_node, ""),
            # One process serving everything has no proxy of its own on loopback to trust,
            # and every local shell connects from there.
            forwarded_allow_ips=r.text(
                "AISS_FORWARDED_ALLOW_IPS",
                "" if r.environ.get("AISS_ROLE", "all") in ("", "all") else "127.0.0.1",
            ),
            hf_cache=Path(
                r.optional("HF_HUB_CACHE")
                or str(Path(r.optional("HF_HOME") or str(home / ".cache" / "huggingface")) / "hub")
            ).expanduser(),
        )

    @property
    def homes_dir(self) -> Path:
        """Where local shells' homes live: reachable by the shells' own uids when the
        server runs as root (the data dir, 0700, is not)."""
        if self.terminal_homes is not None:
            return self.terminal_homes
        return Path("/var/lib/aiss/homes") if os.geteuid() == 0 else self.data_dir / "homes"

    def role_url(self, role: str) -> str:
        return dict(self.role_urls)[role]

    def role_problems(self) -> list[str]:
        """What a process of one role lacks to share its state with the others."""
        if self.role in ("all", "gateway"):
            return []
        shared = {
            "MONGODB_URI": self.mongodb_uri,
            "AISS_S3_ENDPOINT": self.s3_endpoint,
            "AISS_ENCRYPTION_KEY": self.encryption_key,
        }
        if self.jwt_algorithm == "HS256":
            shared["JWT_SECRET"] = self.jwt_secret
        return [
            f"{name}: required with --role {self.role}; every role must use the same one"
            for name, value in shared.items()
            if value is None
        ]

    def _production_problems(self) -> list[str]:
        problems = []
        if self.jwt_algorithm != "HS256":
            pass  # signed with key files, checked for every environment
        elif self.jwt_secret is None:
            problems.append("JWT_SECRET: required when ENVIRONMENT=production")
        elif _placeholder(self.jwt_secret) or len(self.jwt_secret.reveal()) < MIN_JWT_SECRET:
            problems.append(
                f"JWT_SECRET: a placeholder or short value is refused in production;"
                f" use at least {MIN_JWT_SECRET} random characters"
            )
        if any(_placeholder(s) for s in self.jwt_previous_secrets):
            problems.append("JWT_PREVIOUS_SECRETS: placeholder values are refused in production")
        for name, secret in (
            ("MONGODB_PASSWORD", self.mongodb_password),
            ("MINIO_ROOT_PASSWORD", self.minio_root_password),
            ("QDRANT_API_KEY", self.qdrant_api_key),
            ("ADMIN_INITIAL_PASSWORD", self.admin_initial_password),
            ("AISS_ENCRYPTION_KEY", self.encryption_key),
        ):
            if secret is not None and _placeholder(secret):
                problems.append(f"{name}: a placeholder or default value is refused in production")
        return problems


def _placeholder(secret: Secret) -> bool:
    value = secret.reveal().lower()
    return value in _DEFAULT_PASSWORDS or any(word in value for word in _PLACEHOLDER_WORDS)


def variable_names() -> list[str]:
    """Every variable `Settings.from_env` reads, in reading order."""
    reader = _Reader({})
    Settings._read(reader)
    return ["AISS_ENV_FILE", *dict.fromkeys(reader.names)]
