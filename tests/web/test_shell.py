"""The shell around every page: logging in, the navigation, the theme, the keyboard."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import expect

from .conftest import ADMIN_PASSWORD, PHONE, accessible, fits, login, shot

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

    from .conftest import Site

pytestmark = pytest.mark.anyio


async def test_a_wrong_password_is_told_and_the_right_one_lets_in(page: Page) -> None:
    await expect(page.get_by_role("heading", name="Log in to AISS")).to_be_visible()
    await accessible(page)
    await shot(page, "login")
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Ask")).to_have_attribute("aria-current", "page")
    await expect(nav.get_by_role("link", name="Admin")).to_be_visible()
    # A reload keeps the session (the refresh cookie), and logging out ends it.
    await page.reload()
    await expect(nav).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in to AISS")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Log in to AISS")).to_be_visible()


async def test_logging_in_with_the_keyboard_alone(page: Page) -> None:
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type("admin")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(ADMIN_PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    await expect(page.get_by_label("Question")).to_be_focused()  # the Ask page is ready for one
    # The skip link comes first and leads past the navigation.
    await page.get_by_role("link", name="AISS").focus()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()


async def test_a_user_sees_no_administration(site: Site, page: Page) -> None:
    await site.user("navuser")
    await login(page, "navuser", "Str0ng-Passw0rd-x")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Settings")).to_be_visible()
    await expect(nav.get_by_role("link", name="Admin")).to_be_hidden()


async def test_the_theme_follows_the_system_until_chosen(site: Site, browser: Browser) -> None:
    context = await browser.new_context(color_scheme="dark")
    page = await context.new_page()
    await page.goto(f"{site.url}/#/ask")
    html = page.locator("html")
    await expect(html).to_have_attribute("data-theme", "dark")
    await login(page)
    toggle = page.get_by_role("button", name="Dark theme")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await accessible(page)
    await toggle.click()
    await expect(html).to_have_attribute("data-theme", "light")
    await page.reload()
    await expect(html).to_have_attribute("data-theme", "light")  # the choice is kept
    await page.emulate_media(color_scheme="light")
    await toggle.click()
    await expect(html).to_have_attribute("data-theme", "dark")  # chosen, whatever the system
    await context.close()


async def test_a_phone_gets_the_whole_navigation(page: Page) -> None:
    await page.set_viewport_size(PHONE)
    await login(page)
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Ask", "Documents", "Terminal", "Settings", "Admin", "API docs"):
        await expect(nav.get_by_role("link", name=name)).to_be_in_viewport()
    await fits(page)


async def test_a_page_left_while_it_loads_never_shows_beside_the_next(
    site: Site, page: Page
) -> None:
    await login(page)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        held.set()
        await release.wait()
        await route.continue_()

    await page.route("**/api/v1/conversations?*", hold)
    await page.goto(f"{site.url}/#/documents")
    await page.goto(f"{site.url}/#/ask")  # the Ask page waits for its conversations
    await held.wait()
    await page.goto(f"{site.url}/#/documents")
    await expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    async with page.expect_response("**/api/v1/conversations?*"):
        release.set()
    await expect(page.get_by_role("table", name="Documents")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Conversations")).to_have_count(0)
    await expect(page.get_by_label("Question")).to_have_count(0)
