"""The object store against the embedded S3 server, over HTTP with SigV4."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from botocore.exceptions import ClientError

from aiss.storage.embedded import EmbeddedS3
from aiss.storage.objects import ObjectStore, S3Access

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .conftest import Harness

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_put_head_get_delete(objects: ObjectStore) -> None:
    assert await objects.put("u1/doc.txt", b"hello", content_type="text/plain") == 5
    info = await objects.head("u1/doc.txt")
    assert info is not None
    assert (info.size, info.content_type) == (5, "text/plain")
    assert info.etag == hashlib.md5(b"hello").hexdigest()  # S3's ETag of a single put
    assert await objects.read("u1/doc.txt") == b"hello"
    await objects.delete("u1/doc.txt")
    assert await objects.head("u1/doc.txt") is None
    with pytest.raises(KeyError):
        await objects.read("u1/doc.txt")
    await objects.delete("u1/doc.txt")  # deleting what is gone is fine


async def test_large_streams_go_multipart_and_come_back_intact(objects: ObjectStore) -> None:
    data = os.urandom(11 * MiB + 123)
    written = await objects.put("big.bin", chunks(data, 64 * 1024))
    assert written == len(data)
    info = await objects.head("big.bin")
    assert info is not None and info.size == len(data)
    assert info.etag.endswith("-3")  # three parts: 5 MiB, 5 MiB and the rest
    digest = hashlib.sha256()
    async for chunk in objects.get("big.bin"):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_small_streams_are_one_put(objects: ObjectStore) -> None:
    assert await objects.put("small", chunks(b"abc" * 10, 7)) == 30
    assert await objects.read("small") == b"abc" * 10
    assert await objects.put("empty", chunks(b"", 7)) == 0
    assert await objects.read("empty") == b""


async def test_presigned_urls_read_without_credentials_until_tampered(
    objects: ObjectStore,
) -> None:
    await objects.put("shared.txt", b"public for a while")
    url = await objects.presign_get("shared.txt", expires_in=60)
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).content == b"public for a while"
        assert (await client.get(url.replace("shared.txt", "other.txt"))).status_code == 403


async def test_credentials_and_objects_survive_a_restart(harness: Harness) -> None:
    server = EmbeddedS3(harness.data / "s3", region="us-east-1")
    await harness.start(server)
    keys = server.credentials()
    assert (harness.data / "s3" / "credentials.json").stat().st_mode & 0o777 == 0o600

    def access() -> S3Access:
        key, secret = server.credentials()
        return S3Access(server.endpoint, key, secret, "us-east-1")

    store = ObjectStore(access, "keep", probe_interval=0.1)
    await harness.start(store)
    await store.put("k", b"v")
    await harness.stop(store)
    await harness.stop(server)

    again = EmbeddedS3(harness.data / "s3", region="us-east-1")
    await harness.start(again)
    assert again.credentials() == keys
    server = again
    store = ObjectStore(access, "keep", probe_interval=0.1)
    await harness.start(store)
    assert await store.read("k") == b"v"


async def test_a_bucket_made_by_another_process_meanwhile_is_ready(
    harness: Harness, s3_server: EmbeddedS3
) -> None:
    """Roles start together: one looks, finds no bucket, and another makes it first."""

    def access() -> S3Access:
        key, secret = s3_server.credentials()
        return S3Access(s3_server.endpoint, key, secret, "us-east-1")

    class LookedTooEarly(ObjectStore):
        async def _check(self) -> None:
            real = self._client.head_bucket

            async def not_yet(**_: Any) -> None:
                raise ClientError({"Error": {"Code": "404"}}, "HeadBucket")

            self._client.head_bucket = not_yet
            try:
                await super()._check()
            finally:
                self._client.head_bucket = real

    first = ObjectStore(access, "shared", probe_interval=0.1, name="first")
    await harness.start(first)
    late = LookedTooEarly(access, "shared", probe_interval=0.1, name="late")
    await harness.start(late)  # its create answers BucketAlreadyOwnedByYou
    await late.put("k", b"v")
    assert await first.read("k") == b"v"


async def test_a_put_sends_its_body_without_waiting_for_100_continue(
    objects: ObjectStore,
) -> None:
    """Asking "Expect: 100-continue" costs a round trip per body: more than half of
    a small recording part's store."""
    sent: list[dict[str, str]] = []

    def capture(request: Any, **_: Any) -> None:
        sent.append(dict(request.headers))

    objects._client.meta.events.register("before-send.s3", capture)
    try:
        await objects.put("part", b"x" * 4096)
        await objects.put("parts", chunks(os.urandom(6 * MiB), MiB))  # multipart
    finally:
        objects._client.meta.events.unregister("before-send.s3", capture)
    assert len(sent) >= 5  # the put; start, two parts and end of the multipart one
    assert all("Expect" not in headers for headers in sent)
    assert await objects.read("part") == b"x" * 4096


async def test_the_embedded_server_answers_while_this_event_loop_is_busy(
    s3_server: EmbeddedS3,
) -> None:
    """It runs on its own thread and loop: its file writes and fsyncs never stall
    the server's sessions and requests, and a caller blocking its loop still gets
    an answer."""
    answer = httpx.get(f"{s3_server.endpoint}/", timeout=5)  # noqa: ASYNC210 (blocks this loop on purpose)
    assert answer.status_code == 403  # unsigned: refused, but answered
