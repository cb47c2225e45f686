"""The upload size limit, enforced while the body streams, on a server of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aiss.app import create_app

from ...servers import serving
from .conftest import Api, app_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def test_uploads_over_the_limit_are_413(tmp_path: Path) -> None:
    settings = app_settings(tmp_path, AISS_MAX_UPLOAD_MB="1")
    async with serving(create_app(settings)) as http:
        api = Api(http)
        token = await api.token()
        auth = {"Authorization": f"Bearer {token}"}
        big = b"word " * (600 * 1024)  # 3 MB of text
        response = await http.post(
            "/api/v1/documents", files={"file": ("big.txt", big)}, headers=auth
        )
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"

        async def endless() -> AsyncIterator[bytes]:
            yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
            for _ in range(4096):
                yield b"a" * 1024

        streamed = await http.post(
            "/api/v1/documents",
            content=endless(),
            headers={**auth, "Content-Type": "multipart/form-data; boundary=x"},
        )
        assert streamed.status_code == 413
        small = await http.post(
            "/api/v1/documents", files={"file": ("ok.txt", b"fits")}, headers=auth
        )
        assert small.status_code == 202
