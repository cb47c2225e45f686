"""The object store: S3 or MinIO through aioboto3, streamed both ways."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.handlers import add_expect_header

from actors import Service

from ..errors import StoreUnavailable
from .breaker import Breaker

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Callable

    import anyio
    from anyio.abc import TaskStatus

PART_SIZE = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB, except the last
READ_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class S3Access:
    endpoint: str | None
    access_key: str | None
    secret_key: str | None
    region: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str


OURS_ALREADY = ("BucketAlreadyOwnedByYou",)


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class ObjectStore(Service):
    """One bucket, created if missing; uploads go multipart past `part_size`."""

    def __init__(
        self,
        access: Callable[[], S3Access],
        bucket: str,
        *,
        part_size: int = PART_SIZE,
        probe_interval: float = 2.0,
        timeout: float = 2.0,
        name: str = "objects",
    ) -> None:
        super().__init__(name)
        self._access = access
        self.bucket = bucket
        self.part_size = part_size
        self.probe_interval = probe_interval
        self.timeout = timeout
        self.breaker = Breaker("object store", self.metrics, (BotoConnectionError, HTTPClientError))
        self._client: Any = None
        self._bucket_ready = False

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        access = self._access()
        config = Config(
            connect_timeout=self.timeout,
            read_timeout=self.timeout * 15,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = aioboto3.Session()
        async with session.client(
            "s3",
            endpoint_url=access.endpoint,
            aws_access_key_id=access.access_key,
            aws_secret_access_key=access.secret_key,
            region_name=access.region,
            config=config,
        ) as client:
            # "Expect: 100-continue" costs a round trip per body (4 ms of 7 for a
            # small part to the embedded server) to spare a refused body's bytes.
            client.meta.events.unregister("before-call.s3", add_expect_header)
            self._client = client
            try:
                await self.breaker.watch(
                    self._check,
                    task_status,
                    interval=self.probe_interval,
                    limit=self.timeout * 3,
                    stop=stop,
                )
            finally:
                self._client = None
                self._bucket_ready = False

    async def _check(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if not _missing(exc):
                raise
            try:
                await self._client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:
                # Another process (a role starting beside this one) made it first.
                if exc.response.get("Error", {}).get("Code") not in OURS_ALREADY:
                    raise
        self._bucket_ready = True

    def _s3(self) -> Any:
        if self._client is None or not self._bucket_ready:
            raise StoreUnavailable("object store")
        return self._client

    async def put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        *,
        content_type: str = "application/octet-stream",
    ) -> int:
        """Store `body` under `key`; returns the number of bytes written."""
        if isinstance(body, bytes):
            with self.breaker.guard():
                await self._s3().put_object(
                    Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
                )
            return len(body)
        return await self._put_stream(key, body, content_type)

    async def _put_stream(self, key: str, body: AsyncIterable[bytes], content_type: str) -> int:
        buffer = bytearray()
        total = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in body:
                buffer += chunk
                total += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = await self._start_multipart(key, content_type)
                    part, buffer = bytes(buffer[: self.part_size]), buffer[self.part_size :]
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, part))
            if upload_id is None:
                await self.put(key, bytes(buffer), content_type=content_type)
                return total
            if buffer or not parts:
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
            with self.breaker.guard():
                await self._s3().complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            if upload_id is not None and self._client is not None:
                with contextlib.suppress(Exception):
                    await self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
            raise
        return total

    async def _start_multipart(self, key: str, content_type: str) -> str:
        with self.breaker.guard():
            started = await self._s3().create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        return str(started["UploadId"])

    async def _upload_part(
        self, key: str, upload_id: str, number: int, data: bytes
    ) -> dict[str, Any]:
        with self.breaker.guard():
            uploaded = await self._s3().upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
        return {"PartNumber": number, "ETag": uploaded["ETag"]}

    async def get(self, key: str) -> AsyncIterator[bytes]:
        """Stream the object's bytes; raises KeyError if there is none."""
        with self.breaker.guard():
            try:
                response = await self._s3().get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _missing(exc):
                    raise KeyError(key) from None
                raise
        body = response["Body"]
        try:
            async for chunk in body.iter_chunks(READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def read(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.get(key)])

    async def head(self, key: str) -> ObjectInfo | None:
        with self.breaker.guard():
            try:
                meta = await self._s3().head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise
        return ObjectInfo(
            key=key,
            size=int(meta["ContentLength"]),
            content_type=str(meta.get("ContentType", "")),
            etag=str(meta.get("ETag", "")).strip('"'),
        )

    async def keys(self, prefix: str) -> list[str]:
        """The keys starting with `prefix`, in order."""
        found: list[str] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            with self.breaker.guard():
                page = await self._s3().list_objects_v2(**args)
            found.extend(str(item["Key"]) for item in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return sorted(found)
            token = page.get("NextContinuationToken")

    async def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is not an error."""
        with self.breaker.guard():
            await self._s3().delete_object(Bucket=self.bucket, Key=key)

    async def presign_get(self, key: str, expires_in: int = 300) -> str:
        """A URL that reads the object without credentials until it expires."""
        return str(
            await self._s3().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )
