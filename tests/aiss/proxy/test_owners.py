from __future__ import annotations

import httpx
import pytest

from aiss.proxy import Owners
from tests.servers import free_port

pytestmark = pytest.mark.anyio

DEFAULT = "http://127.0.0.1:8087"


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("127.0.0.1:8087", "http://127.0.0.1:8087"),
        ("127.0.0.1:8086", "http://127.0.0.1:8086"),
        ("localhost:8086", "http://localhost:8086"),  # a name that resolves to a replica
        ("127.0.0.1:22", DEFAULT),  # a replica's address, but not a terminal role's port
        ("10.9.8.7:8087", DEFAULT),  # a terminal port elsewhere
        ("no-such-host.invalid:8087", DEFAULT),
        ("127.0.0.1", DEFAULT),
        (":8087", DEFAULT),
    ],
)
async def test_only_terminal_replicas_are_followed(node: str, expected: str) -> None:
    async with httpx.AsyncClient() as client:
        owners = Owners(client, DEFAULT, [DEFAULT, "http://localhost:8086"])
        assert await owners.base_for_node(node) == expected


async def test_a_session_lookup_that_fails_leaves_the_default() -> None:
    async with httpx.AsyncClient() as client:
        nobody = f"http://127.0.0.1:{free_port()}"
        owners = Owners(client, nobody, [nobody])
        assert await owners.base_for_session("abc", "Bearer x") == nobody
