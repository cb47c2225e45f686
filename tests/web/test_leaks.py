"""A page that fails to load keeps nothing running: no event stream, no polling."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import expect

from .conftest import login

if TYPE_CHECKING:
    from playwright.async_api import Page, Request, Route

pytestmark = pytest.mark.anyio
BUSY = {"error": "too_many_requests", "message": "too many requests", "details": None}


async def busy(route: Route) -> None:
    await route.fulfill(status=429, content_type="application/json", body=json.dumps(BUSY))


async def test_a_documents_page_that_failed_follows_no_events(page: Page) -> None:
    await login(page)
    pending: set[Request] = set()
    page.on("request", lambda r: pending.add(r) if "/api/v1/events" in r.url else None)
    page.on("requestfinished", lambda r: pending.discard(r))
    page.on("requestfailed", lambda r: pending.discard(r))
    await page.route("**/api/v1/documents?*", busy)
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Documents").click()
    await expect(page.locator("#error")).to_contain_text("too many requests")
    await nav.get_by_role("link", name="Ask").click()
    await expect(page.get_by_role("link", name="History of questions")).to_be_visible()
    await page.wait_for_timeout(1500)
    assert not pending, [r.url for r in pending]


async def test_a_terminal_page_that_failed_polls_nothing(page: Page) -> None:
    await login(page)
    asked: list[str] = []
    await page.route("**/api/v1/terminal/sessions?*", busy)
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Terminal").click()
    await expect(page.locator("#error")).to_contain_text("too many requests")
    await nav.get_by_role("link", name="Ask").click()
    await expect(page.get_by_role("link", name="History of questions")).to_be_visible()
    page.on("request", lambda r: asked.append(r.url) if "/terminal/sessions" in r.url else None)
    await page.wait_for_timeout(11_000)  # the terminal page refreshes its list every 10 s
    assert not asked, asked
