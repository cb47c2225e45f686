"""The access token runs out while a page asks several things at once: one refresh serves
them all (a second use of the rotated refresh token would revoke the whole login)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.async_api import expect

from .conftest import login

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.anyio

# The page's clock an hour on: its access token looks expired to it, not to the server.
LATER = """() => {
    const now = Date.now.bind(Date);
    Date.now = () => now() + 3_600_000;
}"""


async def test_requests_at_once_share_one_refresh(page: Page) -> None:
    await login(page)
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Documents").click()
    await expect(page.get_by_role("heading", name="Library")).to_be_visible()
    refreshes: list[str] = []
    page.on(
        "request",
        lambda r: refreshes.append(r.url) if r.url.endswith("/auth/browser/refresh") else None,
    )
    await page.evaluate(LATER)
    # The Ask page asks for the areas and the conversations together.
    await nav.get_by_role("link", name="Ask").click()
    await expect(page.get_by_role("link", name="History of questions")).to_be_visible()
    await expect(page.locator("#error")).to_be_hidden()
    assert len(refreshes) == 1, refreshes
    # The login was not revoked as a reused refresh token: a reload stays logged in.
    await page.reload()
    await expect(nav).to_be_visible()
    await expect(page.get_by_role("link", name="History of questions")).to_be_visible()
