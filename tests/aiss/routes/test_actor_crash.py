"""An actor that crashes under load is restarted by its supervisor; the request it
was handling fails alone, and everyone else's requests and terminals carry on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from aiss.users.actor import UsersActor
from aiss.users.messages import ResolveToken

from .terminal_client import attached, open_local
from .test_documents import user

if TYPE_CHECKING:
    from .conftest import Api

pytestmark = pytest.mark.anyio


def restarts(metrics: str) -> int:
    found = re.search(r'aiss_actor_restarts_total\{actor="root/users/users"\} (\S+)', metrics)
    assert found, "no restart counter for the users actor"
    return int(float(found.group(1)))


async def test_a_crashed_actor_is_restarted_and_others_carry_on(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await api.token()
    _, first = await user(api, admin)
    _, second = await user(api, admin)
    before = restarts((await api.http.get("/metrics")).text)
    armed = {"crash": False}
    original = UsersActor._dispatch

    async def dispatch(self: UsersActor, message: Any) -> Any:
        if armed["crash"] and isinstance(message, ResolveToken):
            armed["crash"] = False
            raise RuntimeError("injected fault")
        return await original(self, message)

    monkeypatch.setattr(UsersActor, "_dispatch", dispatch)
    statuses: list[int] = []

    async def keep_asking(token: str, stop: anyio.Event) -> None:
        while not stop.is_set():
            statuses.append((await api.call("GET", "/users/me", token)).status_code)
            await anyio.sleep(0.01)

    session = await open_local(api, second)
    async with attached(api, second, session["id"]) as term:
        await term.status("replay-end")
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_asking, first, stop)
            tg.start_soon(keep_asking, second, stop)
            with anyio.fail_after(10):
                while len(statuses) < 20:
                    await anyio.sleep(0.01)
            armed["crash"] = True
            with anyio.fail_after(10):
                while armed["crash"] or len(statuses) < 80:
                    await anyio.sleep(0.01)
            # The terminal never noticed.
            await term.type(b"echo still-$((40+2))\r")
            await term.expect(rb"still-42")
            stop.set()
    failed = [s for s in statuses if s != 200]
    assert len(failed) == 1 and failed[0] in (500, 503), failed
    assert statuses[-10:] == [200] * 10
    assert restarts((await api.http.get("/metrics")).text) == before + 1
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", second)
