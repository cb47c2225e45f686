"""The `stores` subtree: embedded servers when configured, then the clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors import Service, Strategy, Supervisor

from ..tree import supervisor
from .embedded import EmbeddedMongo, EmbeddedS3
from .jobs import JobQueue
from .mongo import MongoStore
from .objects import ObjectStore, S3Access
from .vectors.service import VectorService

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import Settings


@dataclass(frozen=True)
class Stores:
    """The clients other actors use; `tree` is the subtree that runs them."""

    tree: Supervisor
    mongo: MongoStore
    objects: ObjectStore
    vectors: VectorService
    jobs: JobQueue


def build_mongo(settings: Settings, probe_interval: float) -> tuple[list[Service], MongoStore]:
    """The MongoDB client, after the embedded server when MONGODB_URI is unset."""
    if settings.mongodb_uri is None:
        server = EmbeddedMongo(settings.data_dir / "mongo")
        uri: Callable[[], str] = lambda: server.uri  # noqa: E731
        embedded: list[Service] = [server]
    else:
        external = settings.mongodb_uri.reveal()
        uri = lambda: external  # noqa: E731
        embedded = []
    password = settings.mongodb_password
    mongo = MongoStore(
        uri,
        settings.mongodb_database,
        username=settings.mongodb_user,
        password=password.reveal() if password else None,
        probe_interval=probe_interval,
    )
    return embedded, mongo


def build_stores(settings: Settings) -> Stores:
    """Embedded servers for every store the settings leave unset, started first.

    rest_for_one: when an embedded server restarts, the clients after it
    restart too and reconnect.
    """
    data = settings.data_dir
    probe_interval = settings.health_interval
    children: list[Service] = []
    embedded_mongo, mongo = build_mongo(settings, probe_interval)
    children += embedded_mongo

    if settings.s3_endpoint is None:
        embedded_s3 = EmbeddedS3(data / "s3", region=settings.s3_region)
        children.append(embedded_s3)

        def s3_access() -> S3Access:
            key, secret = embedded_s3.credentials()
            return S3Access(embedded_s3.endpoint, key, secret, settings.s3_region)
    else:
        secret_key = settings.minio_root_password
        external = S3Access(
            settings.s3_endpoint,
            settings.minio_root_user,
            secret_key.reveal() if secret_key else None,
            settings.s3_region,
        )

        def s3_access() -> S3Access:
            return external

    objects = ObjectStore(s3_access, settings.minio_bucket, probe_interval=probe_interval)
    api_key = settings.qdrant_api_key
    vectors = VectorService(
        url=settings.qdrant_url,
        api_key=api_key.reveal() if api_key else None,
        path=data / "vectors",
        probe_interval=probe_interval,
    )
    children += [mongo, objects, vectors]
    tree = supervisor(settings, "stores", children, Strategy.REST_FOR_ONE)
    jobs = JobQueue(lambda: mongo.collection("jobs"), breaker=mongo.breaker)
    return Stores(tree, mongo, objects, vectors, jobs)
