"""Beanie document models.

They keep to what the embedded wire server supports (DESIGN.md): references
are `str` ids, never Link/DBRef or ObjectId fields; no Decimal128 or UUID
fields; and no query compares a field with None. A datetime written by an
update (`$set`) comes back as a string there, so times that updates change
and queries compare are stored as epoch seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from beanie import Document
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobRecord(BaseModel):
    """A unit of durable background work (ingesting one document, say).

    Plain pydantic, so the job queue works on any collection without beanie's
    global binding; `Job` adds the collection and its indexes.
    """

    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)
    state: str = "queued"  # queued | leased | done | dead
    attempts: int = 0
    attempts_left: int = 5
    run_after: float = 0.0  # epoch seconds
    lease_token: str = ""
    lease_owner: str = ""
    lease_expires: float = 0.0  # epoch seconds
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: float = 0.0  # epoch seconds; 0 while unfinished


class Job(JobRecord, Document):
    class Settings:
        name = "jobs"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [("kind", ASCENDING), ("state", ASCENDING), ("run_after", ASCENDING)],
                name="kind_state_run_after",
            ),
            IndexModel([("state", ASCENDING), ("lease_expires", ASCENDING)], name="state_lease"),
        ]


def epoch() -> float:
    return datetime.now(UTC).timestamp()


def _index(*fields: str, unique: bool = False) -> IndexModel:
    return IndexModel(
        [(field, ASCENDING) for field in fields], name="_".join(fields), unique=unique
    )


class AreaPermission(BaseModel):
    area_id: str
    read: bool = True
    write: bool = False


class User(Document):
    username: str
    email: str
    password_hash: str
    role: str = "user"  # user | admin
    active: bool = True
    # Bumped by a password change, deactivation or role change: every token
    # carries the version it was issued under, so older ones stop working.
    token_version: int = 0
    permissions: list[AreaPermission] = Field(default_factory=list)
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "users"
        indexes: ClassVar[list[IndexModel]] = [
            _index("username", unique=True),
            _index("email", unique=True),
        ]


class RefreshToken(Document):
    """One refresh token; its family is every token rotated from one login."""

    jti: str
    user_id: str
    family: str
    state: str = "active"  # active | used | revoked
    expires_at: float
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "refresh_tokens"
        indexes: ClassVar[list[IndexModel]] = [
            _index("jti", unique=True),
            _index("family"),
            _index("user_id"),
        ]


class ApiKey(Document):
    user_id: str
    name: str
    lookup: str
    digest: str
    expires_at: float = 0.0  # 0: never
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "api_keys"
        indexes: ClassVar[list[IndexModel]] = [_index("lookup", unique=True), _index("user_id")]


class SshKey(Document):
    user_id: str
    title: str
    public_key: str
    fingerprint: str
    algorithm: str
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "ssh_keys"
        indexes: ClassVar[list[IndexModel]] = [
            _index("fingerprint", unique=True),
            _index("user_id"),
        ]


class AuthEvent(Document):
    """The audit log of authentication: who, from where, what happened."""

    kind: str
    user_id: str = ""
    username: str = ""
    client: str = ""
    detail: str = ""
    at: float = Field(default_factory=epoch)

    class Settings:
        name = "auth_events"
        indexes: ClassVar[list[IndexModel]] = [_index("at"), _index("user_id", "at")]


class StoredDocument(Document):
    """An uploaded file: where its bytes are, who may read it, how far ingestion got."""

    owner_id: str
    scope: str  # personal | shared
    area_id: str = ""  # set for shared documents
    title: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    link: str = ""  # where the text came from, when AISS made it (a terminal recording)
    filename: str
    media_type: str
    size: int
    sha256: str
    blob_key: str
    status: str = "queued"  # queued extracting chunking embedding indexing ready failed
    percent: int = 0
    error: str = ""
    pages: int = 0
    chunk_count: int = 0
    collection: str = ""  # the vector collection its chunks went to
    created_at: float = Field(default_factory=epoch)
    updated_at: float = Field(default_factory=epoch)

    class Settings:
        name = "documents"
        indexes: ClassVar[list[IndexModel]] = [
            _index("owner_id", "created_at"),
            _index("area_id", "created_at"),
            _index("owner_id", "sha256"),
        ]


class ChunkRecord(Document):
    """One chunk's text and place; its vector lives in the vector store under the same id."""

    document_id: str
    owner_id: str
    scope: str
    area_id: str = ""
    index: int
    text: str
    start: int
    end: int
    page: int = 0  # 0: no pages
    headings: list[str] = Field(default_factory=list)

    class Settings:
        name = "chunks"
        indexes: ClassVar[list[IndexModel]] = [_index("document_id", "index", unique=True)]


class Area(Document):
    """A knowledge area: shared documents live in one; permissions name it."""

    name: str
    description: str = ""
    icon: str = ""
    color: str = ""
    tags: list[str] = Field(default_factory=list)
    active: bool = True
    system_prompt: str = ""
    primary_llm: str = ""  # an LLM provider's id; empty: the default provider
    created_at: float = Field(default_factory=epoch)
    updated_at: float = Field(default_factory=epoch)

    class Settings:
        name = "areas"
        indexes: ClassVar[list[IndexModel]] = [_index("name", unique=True)]


class LlmProvider(Document):
    """How to reach one language model; its API key is stored sealed."""

    name: str
    type: str  # openai | anthropic | ollama | azure_openai | openai_compatible
    model: str
    api_base: str = ""
    api_key_sealed: str = ""
    api_key_last4: str = ""
    temperature: float = 0.2
    max_tokens: int = 1024
    is_default: bool = False
    hourly_cap: int = 0  # requests an hour; 0: no cap
    created_at: float = Field(default_factory=epoch)
    updated_at: float = Field(default_factory=epoch)

    class Settings:
        name = "llm_providers"
        indexes: ClassVar[list[IndexModel]] = [_index("name", unique=True)]


class LlmSettings(Document):
    """The one document of global LLM settings."""

    key: str = "global"
    system_prompt: str = ""

    class Settings:
        name = "llm_settings"
        indexes: ClassVar[list[IndexModel]] = [_index("key", unique=True)]


class LlmUsage(Document):
    """Requests sent to one provider in one hour: the hourly cap counts here."""

    provider_id: str
    hour: int  # hours since the epoch
    requests: int = 0

    class Settings:
        name = "llm_usage"
        indexes: ClassVar[list[IndexModel]] = [_index("provider_id", "hour", unique=True)]


class McpContext(Document):
    """One user's MCP context for an area: active ones scope the MCP tools."""

    user_id: str
    area_id: str
    active: bool = True
    updated_at: float = Field(default_factory=epoch)

    class Settings:
        name = "mcp_contexts"
        indexes: ClassVar[list[IndexModel]] = [_index("user_id", "area_id", unique=True)]


class RagQuery(Document):
    """One question asked, with its answer, sources and timings: a turn of a conversation
    when `conversation_id` is set, and the asker's feedback on the answer once given."""

    user_id: str
    question: str
    answer: str = ""
    sources: list[dict[str, Any]] = Field(default_factory=list)
    mode: str = "extractive"  # llm | extractive
    search_mode: str = ""  # dense | sparse | hybrid; empty: the server's default
    standalone: str = ""  # what was searched, when a model rewrote a follow-up
    cited_areas: list[str] = Field(default_factory=list)  # area ids, or "personal"
    conversation_id: str = ""
    provider: str = ""
    model: str = ""
    error: str = ""
    retrieval_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    usage: dict[str, int] = Field(default_factory=dict)
    rating: str = ""  # up | down; empty: none given
    comment: str = ""
    rated_at: float = 0.0  # epoch seconds; 0: not rated
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "rag_queries"
        indexes: ClassVar[list[IndexModel]] = [
            _index("user_id", "created_at"),
            _index("created_at"),
            _index("conversation_id", "created_at"),
            _index("rating", "rated_at"),
        ]


class Conversation(Document):
    """A user's conversation: the scope its questions search; its turns are RagQuery records."""

    user_id: str
    title: str = ""
    area_ids: list[str] = Field(default_factory=list)  # empty: every area the user may read
    include_personal: bool = True
    turns: int = 0
    created_at: float = Field(default_factory=epoch)
    updated_at: float = Field(default_factory=epoch)

    class Settings:
        name = "conversations"
        indexes: ClassVar[list[IndexModel]] = [_index("user_id", "updated_at")]


class TerminalSessionRecord(Document):
    """A terminal session's lifecycle, target, size and traffic; the PTY lives in `node`."""

    owner_id: str
    status: str = "connecting"  # connecting | connected | detached | closed | failed
    target: dict[str, Any] = Field(default_factory=dict)  # no secrets: type, host, user
    cols: int = 80
    rows: int = 24
    term: str = "xterm-256color"
    title: str = ""
    tags: list[str] = Field(default_factory=list)
    shared_with: list[str] = Field(default_factory=list)  # user ids who may observe
    index_commands: bool = False  # its command log becomes the owner's knowledge
    node: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    exit_code: int = -1  # -1: still running or never started
    error: str = ""
    recording_parts: int = 0
    recording_bytes: int = 0
    recording_lost: int = 0  # output bytes left out of the recording (storage behind)
    created_at: float = Field(default_factory=epoch)
    updated_at: float = Field(default_factory=epoch)
    ended_at: float = 0.0  # 0: not ended

    class Settings:
        name = "terminal_sessions"
        indexes: ClassVar[list[IndexModel]] = [
            _index("owner_id", "created_at"),
            _index("status"),
            _index("ended_at"),
        ]


class TerminalCommand(Document):
    """One command run in a terminal session, from shell integration or a prompt guess."""

    session_id: str
    owner_id: str
    host: str
    cwd: str = ""
    command: str
    exit_code: int | None = None
    started_at: float
    ended_at: float
    output: str = ""

    class Settings:
        name = "terminal_commands"
        indexes: ClassVar[list[IndexModel]] = [
            _index("owner_id", "started_at"),
            _index("session_id"),
            _index("ended_at"),
        ]


class KnownHost(Document):
    """A host key a user confirmed: SSH sessions trust exactly these."""

    owner_id: str
    host: str
    port: int = 22
    key_type: str
    public_key: str
    fingerprint_sha256: str
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "known_hosts"
        indexes: ClassVar[list[IndexModel]] = [
            _index("owner_id", "host", "port", "key_type", unique=True)
        ]


class SshCredential(Document):
    """Saved SSH credentials, sealed at rest, used only to connect."""

    owner_id: str
    host: str
    port: int = 22
    username: str
    password_sealed: str = ""
    private_key_sealed: str = ""
    passphrase_sealed: str = ""
    created_at: float = Field(default_factory=epoch)

    class Settings:
        name = "ssh_credentials"
        indexes: ClassVar[list[IndexModel]] = [
            _index("owner_id", "host", "port", "username", unique=True)
        ]


DOCUMENT_MODELS: list[type[Document]] = [
    Job,
    User,
    RefreshToken,
    ApiKey,
    SshKey,
    AuthEvent,
    StoredDocument,
    ChunkRecord,
    Area,
    LlmProvider,
    LlmSettings,
    LlmUsage,
    McpContext,
    RagQuery,
    Conversation,
    TerminalSessionRecord,
    TerminalCommand,
    KnownHost,
    SshCredential,
]
