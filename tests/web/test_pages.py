"""The web UI in Debian's Chromium, driven by Playwright; a screenshot of each page."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from aiss.app import create_app

from ..aiss.routes.conftest import ADMIN_PASSWORD, app_settings
from ..servers import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
FACT = "The harbour crane is inspected every Thursday by Margit Olsen."


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    settings = app_settings(tmp_path_factory.mktemp("web"))
    async with serving(create_app(settings)) as http:
        yield str(http.base_url).rstrip("/")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.is_file(), "Debian's chromium is missing: make test installs it"  # noqa: ASYNC240
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(site: str, browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(f"{site}/#/documents")
    yield page
    await context.close()


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def rows(page: Page) -> str:
    """The terminal's rows as text (xterm.js keeps them in the page in screen-reader mode)."""
    return "\n".join(await page.locator(".xterm-accessibility-tree > div").all_inner_texts())


async def run(page: Page, command: str, expected: str, timeout: float = 10.0) -> re.Match[str]:
    """Type `command` and Enter; the first match of `expected` in the rows after it."""
    await page.locator(".xterm-helper-textarea").focus()
    await page.keyboard.type(command)
    await page.keyboard.press("Enter")
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        screen = await rows(page)
        found = re.search(re.escape(command) + r"\s*\n(?:.*\n)*?.*?" + expected, screen)
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {expected!r} after {command!r} in:\n{screen}")
        await page.wait_for_timeout(100)


async def test_the_whole_ui(page: Page, tmp_path: Path) -> None:
    # Log in.
    await expect(page.get_by_role("heading", name="Log in to AISS")).to_be_visible()
    await shot(page, "login")
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Documents")).to_be_visible()

    # Upload a document and watch it reach ready.
    note = tmp_path / "crane.txt"
    note.write_text(FACT)
    await page.get_by_label("File").set_input_files(str(note))
    await page.get_by_role("button", name="Upload").click()
    row = page.locator("tr", has_text="crane.txt")
    await expect(row.locator(".status")).to_have_text("ready", timeout=30_000)
    await expect(page.locator("#progress")).to_have_attribute("value", "100")
    async with page.expect_download() as downloading:
        await row.get_by_role("button", name="Download").click()
    download = await downloading.value
    assert Path(await download.path()).read_text() == FACT  # noqa: ASYNC240
    await shot(page, "documents")

    # Ask: the answer streams in and its citation opens the passage.
    await page.get_by_role("link", name="Ask").click()
    await page.get_by_label("Question").fill("Who inspects the harbour crane?")
    await page.get_by_role("button", name="Ask").click()
    await expect(page.locator("#answer")).to_contain_text("Margit Olsen", timeout=20_000)
    await page.locator("#answer a.cite").first.click()
    await expect(page.locator("#passage")).to_contain_text("every Thursday")
    await shot(page, "ask")

    # A terminal: type, resize, reload and find the same shell.
    await page.get_by_role("link", name="Terminal").click()
    await page.get_by_role("button", name="New terminal").click()
    await expect(page.locator("#term-state")).to_contain_text("attached (driver)")
    await run(page, "echo ok-$((20+22))", r"ok-42")
    before = (await run(page, "stty size", r"(\d+) (\d+)")).groups()
    await page.set_viewport_size({"width": 900, "height": 600})
    for attempt in range(20):  # the fit and the resize frame follow the window's event
        after = (await run(page, f"echo size-{attempt}; stty size", r"(\d+) (\d+)")).groups()
        if after != before:
            break
        await page.wait_for_timeout(250)
    assert int(after[1]) < int(before[1])  # fewer columns now
    await run(page, "export KEPT_WORD=persimmon; echo set-$KEPT_WORD", r"set-persimmon")
    await page.set_viewport_size({"width": 1280, "height": 800})
    await shot(page, "terminal")
    await page.reload()
    await expect(page.locator("#term-state")).to_contain_text("attached", timeout=15_000)
    await run(page, "echo still-$KEPT_WORD", r"still-persimmon")

    # Replay the recording.
    session_row = page.locator("tbody tr").first
    await session_row.get_by_role("link", name="Replay").click()
    player = page.locator("#player .ap-player")
    await expect(player).to_be_visible(timeout=15_000)
    await player.click()  # play
    await expect(page.locator("#player")).to_contain_text("ok-42", timeout=30_000)
    await shot(page, "replay")

    # Administration.
    await page.get_by_role("link", name="Admin").click()
    await expect(page.get_by_role("table", name="Users")).to_contain_text("admin")
    await expect(page.get_by_role("table", name="Terminal sessions")).to_contain_text("browser")
    await page.get_by_label("Name", exact=True).first.fill("Harbour")
    await page.get_by_role("button", name="Create area").click()
    await expect(page.get_by_role("table", name="Areas")).to_contain_text("Harbour")
    await page.get_by_label("Username").fill("margit")
    await page.get_by_label("Email").fill("margit@example.org")
    await page.get_by_label("Password", exact=True).fill("Str0ng-Passw0rd-x")
    await page.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("table", name="Users")).to_contain_text("margit")
    await shot(page, "admin")

    # A narrow screen still shows the navigation and the page.
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.get_by_role("link", name="Documents").click()
    await expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    await shot(page, "documents-narrow")

    # Delete, after confirming.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.locator("tr", has_text="crane.txt").get_by_role("button", name="Delete").click()
    await expect(page.locator("tr", has_text="crane.txt")).to_have_count(0)


async def test_logging_in_with_the_keyboard_alone(page: Page) -> None:
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type("admin")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(ADMIN_PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    await expect(page.locator("main")).to_be_focused()  # focus moves to the new page
    await page.keyboard.press("Tab")  # and on to its first field
    await expect(page.get_by_label("File")).to_be_focused()
