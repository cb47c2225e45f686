"""Attaching again before the last attach was answered: one WebSocket stays, the last one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.async_api import expect

from .conftest import login
from .test_terminal import open_local, rows

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page, WebSocket

    from .conftest import Site

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
async def no_sessions_left(site: Site) -> AsyncIterator[None]:
    yield
    admin = await site.admin()
    page = (await site.api.call("GET", "/terminal/sessions", admin, params={"limit": 100})).json()
    for session in page["items"]:
        if session["status"] not in ("closed", "failed"):
            await site.api.call("DELETE", f"/terminal/sessions/{session['id']}", admin)


async def test_switching_twice_at_once_leaves_one_socket(page: Page) -> None:
    sockets: list[WebSocket] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    await login(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Terminal").click()
    await open_local(page)
    # Two switches before the first ticket is answered (a double click does the same).
    await page.evaluate(
        """() => {
            const button = [...document.querySelectorAll(".term-tools button")]
                .find((b) => b.textContent === "Read-only");
            button.click();
            button.click();
        }"""
    )
    await expect(page.locator("#term-state")).to_have_text("attached (driver)")
    await page.wait_for_timeout(1000)
    open_ = [s for s in sockets if not s.is_closed()]
    assert len(open_) == 1, f"{len(open_)} sockets open"
    # What the shell writes shows once.
    await page.locator(".xterm-helper-textarea").focus()
    await page.keyboard.type("echo one-$((40+2))")
    await page.keyboard.press("Enter")
    await expect(page.locator(".xterm-accessibility-tree")).to_contain_text("one-42")
    await page.wait_for_timeout(500)
    assert (await rows(page)).count("one-42") == 1, await rows(page)
