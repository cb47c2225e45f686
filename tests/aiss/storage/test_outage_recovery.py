"""The whole app while its MongoDB and S3 servers go away and come back, with
uploads and searches running: 503 with Retry-After meanwhile, no document
half-written, and ingestion of everything accepted resumes afterwards."""

from __future__ import annotations

import itertools
import uuid
from typing import TYPE_CHECKING

import aioboto3
import anyio
import pytest

from aiss.app import create_app

from ...servers import serving
from ..routes.conftest import ADMIN_PASSWORD, app_settings

if TYPE_CHECKING:
    import httpx

    from aiss.storage.embedded import EmbeddedMongo, EmbeddedS3

    from .conftest import Harness

pytestmark = pytest.mark.anyio
BUCKET = "outages"


class Load:
    """Uploads and searches in a loop, recording what each answered."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}
        self.accepted: list[str] = []
        self.statuses: list[tuple[str, int]] = []

    def seen(self, kind: str, status: int, since: int = 0) -> int:
        return sum(1 for k, s in self.statuses[since:] if k == kind and s == status)

    def check(self, kind: str, response: httpx.Response) -> None:
        self.statuses.append((kind, response.status_code))
        assert response.status_code in (200, 202, 503), response.text
        if response.status_code == 503:
            assert response.headers["Retry-After"].isdigit()
            assert response.json()["error"] == "unavailable"

    async def uploads(self) -> None:
        for n in itertools.count():
            note = f"# Outage note {n}\n\nA note written while stores came and went, {n}."
            response = await self.http.post(
                "/api/v1/documents",
                headers=self.auth,
                files={"file": (f"note-{uuid.uuid4().hex[:6]}.md", note.encode())},
            )
            self.check("upload", response)
            if response.status_code == 202:
                self.accepted.append(response.json()["id"])
            await anyio.sleep(0.05)

    async def searches(self) -> None:
        while True:
            response = await self.http.post(
                "/api/v1/search", headers=self.auth, json={"query": "stores came and went"}
            )
            self.check("search", response)
            await anyio.sleep(0.05)


async def until(check: object, timeout: float = 20) -> None:
    assert callable(check)
    with anyio.fail_after(timeout):
        while not check():
            await anyio.sleep(0.05)


@pytest.mark.timeout(240)
async def test_stores_away_under_uploads_searches_and_ingestion(
    harness: Harness, mongo_server: EmbeddedMongo, s3_server: EmbeddedS3
) -> None:
    key, secret = s3_server.credentials()
    settings = app_settings(
        harness.data / "app",
        MONGODB_URI=mongo_server.uri,
        AISS_S3_ENDPOINT=s3_server.endpoint,
        MINIO_ROOT_USER=key,
        MINIO_ROOT_PASSWORD=secret,
        MINIO_BUCKET=BUCKET,
        AISS_HEALTH_INTERVAL="100ms",
    )
    async with serving(create_app(settings)) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        load = Load(http, login.json()["access_token"])
        async with anyio.create_task_group() as tg:
            tg.start_soon(load.uploads)
            tg.start_soon(load.searches)
            await until(lambda: len(load.accepted) >= 3)
            for server in (s3_server, mongo_server):
                mark = len(load.statuses)
                await harness.stop(server)
                await until(lambda mark=mark: load.seen("upload", 503, since=mark) >= 3)
                await harness.start(server)
                wanted = len(load.accepted) + 3
                await until(lambda wanted=wanted: len(load.accepted) >= wanted)
            # Searches touch MongoDB only for documents they have not cited lately,
            # so they may pass an outage untouched; they never fail otherwise.
            assert load.seen("search", 200) > 0
            tg.cancel_scope.cancel()

        # Everything accepted is ingested once the stores are back.
        auth = load.auth
        with anyio.fail_after(90):
            for document_id in load.accepted:
                while True:
                    doc = (await http.get(f"/api/v1/documents/{document_id}", headers=auth)).json()
                    if doc["status"] == "ready":
                        break
                    assert doc["status"] != "failed", doc
                    await anyio.sleep(0.1)
        listed = (await http.get("/api/v1/documents?limit=200", headers=auth)).json()

    # Nothing half-written: one record per accepted upload, one blob per record.
    assert sorted(item["id"] for item in listed["items"]) == sorted(load.accepted)
    session = aioboto3.Session()
    async with session.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    ) as s3:
        found = await s3.list_objects_v2(Bucket=BUCKET, Prefix="documents/")
        blobs = [item["Key"] for item in found.get("Contents", [])]
    assert len(blobs) == len(load.accepted), (len(blobs), len(load.accepted))
