"""The web UI's tests: AISS on loopback, Debian's Chromium driven by Playwright.

Every page a test opens is watched: an uncaught error or a console error (a CSP
refusal, a failed script) fails the test. A 4xx answer the UI shows the user (a
wrong password) is logged by Chromium as a failed resource and is not counted.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from aiss.app import create_app

from ..aiss.routes.conftest import ADMIN_PASSWORD, STRONG, Api, app_settings
from ..servers import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
_SHOWN_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")

__all__ = [
    "ADMIN_PASSWORD",
    "STRONG",
    "Api",
    "Site",
    "accessible",
    "fits",
    "login",
    "shot",
    "watched",
]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


class Site:
    """The server under test: its address, and an API client for setting things up."""

    def __init__(self, url: str, api: Api) -> None:
        self.url = url
        self.api = api
        self._admin: str | None = None

    async def admin(self) -> str:
        if self._admin is None:
            self._admin = await self.api.token()
        return self._admin

    async def user(self, username: str, role: str = "user") -> dict[str, Any]:
        return await self.api.create_user(await self.admin(), username, role)


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    settings = app_settings(tmp_path_factory.mktemp("web"))
    async with serving(create_app(settings)) as http:
        yield Site(str(http.base_url).rstrip("/"), Api(http))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.is_file(), "Debian's chromium is missing: make test installs it"  # noqa: ASYNC240
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield launched
        await launched.close()


@asynccontextmanager
async def watched(browser: Browser, url: str) -> AsyncIterator[Page]:
    """A fresh browser profile at 1280 by 800 on `url`; fails on any page error."""
    context = await browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and not _SHOWN_4XX.match(message.text)
            else None
        ),
    )
    await page.goto(url)
    yield page
    await context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
async def page(site: Site, browser: Browser) -> AsyncIterator[Page]:
    """A watched profile on the login page."""
    async with watched(browser, f"{site.url}/#/ask") as page:
        yield page


async def login(page: Page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    await expect(page.get_by_role("heading", name="Log in to AISS")).to_be_visible()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()


async def accessible(page: Page) -> None:
    """axe-core (from the UI's npm packages) finds no serious or critical violation."""
    await page.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({
                    id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")),
                }));
        }"""
    )
    assert not violations, "\n".join(
        f"{v['id']}: {v['help']} at {v['nodes'][:5]}" for v in violations
    )


async def shot(page: Page, name: str) -> None:
    """A screenshot under test-artifacts/; with AISS_SCREENSHOTS=DIR a copy there too (docs/)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    if target := os.environ.get("AISS_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
        shutil.copyfile(path, Path(target) / path.name)


async def fits(page: Page, *, pane: bool = False) -> None:
    """Nothing is wider than the window: no sideways scrolling, nothing cut off; with
    `pane`, the main pane does not scroll sideways either (only tables may, inside)."""
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
    if pane:
        overflow = await page.evaluate(
            "() => { const m = document.getElementById('main');"
            " return m.scrollWidth - m.clientWidth; }"
        )
        assert overflow <= 0, f"the main pane is {overflow}px wider than the window"


async def uploaded(site: Site, token: str, name: str, text: str, **fields: str) -> str:
    """A document uploaded through the API and ingested: its id."""
    from ..aiss.routes.test_documents import ready, upload  # the API tests' helpers

    response = await upload(site.api, token, text.encode(), name, **fields)
    assert response.status_code == 202, response.text
    document_id: str = response.json()["id"]
    assert (await ready(site.api, token, document_id))["status"] == "ready"
    return document_id
