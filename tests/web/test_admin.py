"""The Administration page: users, areas, LLM providers, feedback and everyone's terminals."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import expect

from aiss.llm.calls import litellm

from ..fake_llm import FakeLlm
from ..servers import free_port, serving
from .conftest import PHONE, STRONG, accessible, fits, login, shot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page

    from .conftest import Site

pytestmark = pytest.mark.anyio
SECTIONS = ("Users", "Areas", "LLM providers", "Feedback", "Terminal sessions")


@pytest.fixture(scope="module")
async def fake_llm() -> AsyncIterator[str]:
    """An OpenAI-compatible server on loopback: its API base."""
    async with serving(FakeLlm().app()) as http:
        yield str(http.base_url).rstrip("/") + "/v1"


async def section(page: Page, name: str) -> None:
    main = page.get_by_role("navigation", name="Main")
    if await main.get_by_role("link", name="Admin").get_attribute("aria-current") != "page":
        await main.get_by_role("link", name="Admin").click()
    await (
        page.get_by_role("navigation", name="Administration sections")
        .get_by_role("link", name=name)
        .click()
    )
    await expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()


async def new_area(site: Site, name: str) -> dict[str, Any]:
    created = await site.api.call("POST", "/areas", await site.admin(), json={"name": name})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@asynccontextmanager
async def provider(site: Site, **fields: Any) -> AsyncIterator[dict[str, Any]]:
    """A provider made through the API, gone afterwards (every answer would try it)."""
    admin = await site.admin()
    created = await site.api.call(
        "POST", "/llm/providers", admin, json={"type": "openai_compatible", **fields}
    )
    assert created.status_code == 201, created.text
    try:
        yield created.json()
    finally:
        await site.api.call("DELETE", f"/llm/providers/{created.json()['id']}", admin)


async def user_named(site: Site, username: str) -> dict[str, Any] | None:
    users = (await site.api.call("GET", "/users?limit=500", await site.admin())).json()
    found: list[dict[str, Any]] = [u for u in users["items"] if u["username"] == username]
    return found[0] if found else None


async def test_an_administrator_creates_promotes_grants_deactivates_and_deletes_a_user(
    site: Site, page: Page
) -> None:
    area = await new_area(site, "Billing")
    await login(page)
    await section(page, "Users")
    await page.get_by_role("link", name="New user").click()
    create = page.get_by_role("form", name="New user")
    await create.get_by_label("Username").fill("carol")
    await create.get_by_label("Email").fill("carol@example.org")
    await create.get_by_label("Password").fill("carol-is-weak")
    await create.get_by_role("button", name="Create user").click()
    await expect(create.get_by_role("alert")).to_contain_text("The password is too weak")
    await expect(create.get_by_label("Username")).to_have_value("carol")  # nothing lost
    assert await user_named(site, "carol") is None
    await create.get_by_label("Password").fill(STRONG)
    await create.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("heading", level=2, name="carol")).to_be_visible()
    carol = await user_named(site, "carol")
    assert carol and carol["role"] == "user" and carol["active"] and carol["permissions"] == []

    account = page.get_by_role("form", name="Account")
    await account.get_by_label("Role").select_option(label="Administrator")
    await account.get_by_role("button", name="Save").click()
    await expect(account.get_by_role("status")).to_have_text("Saved.")
    assert (await user_named(site, "carol") or {})["role"] == "admin"
    await account.get_by_label("Role").select_option(label="User")
    await account.get_by_role("button", name="Save").click()
    await expect(page.locator("#section-title + p")).to_contain_text("carol@example.org · user")
    assert (await user_named(site, "carol") or {})["role"] == "user"

    permissions = page.get_by_role("form", name="Area permissions")
    await permissions.get_by_label("Access to Billing").select_option(label="Read and write")
    await permissions.get_by_role("button", name="Save permissions").click()
    await expect(permissions.get_by_role("status")).to_have_text("Permissions saved.")
    granted = await user_named(site, "carol")
    assert granted and granted["permissions"] == [
        {"area_id": area["id"], "read": True, "write": True}
    ]
    token = await site.api.token("carol", STRONG)
    readable = (await site.api.call("GET", "/areas", token)).json()["items"]
    assert [a["id"] for a in readable] == [area["id"]]

    await accessible(page)
    await account.get_by_label("Active").uncheck()
    await account.get_by_role("button", name="Save").click()
    await expect(page.locator("#section-title + p")).to_contain_text("deactivated")
    refused = await site.api.call(
        "POST", "/auth/login", json={"username": "carol", "password": STRONG}
    )
    assert refused.status_code == 401

    await page.get_by_role("link", name="← Users").click()
    row = page.get_by_role("row").filter(has_text="carol@example.org")
    await expect(row).to_contain_text("deactivated")
    await row.get_by_role("button", name="Delete carol").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    assert await user_named(site, "carol") is None


async def test_the_last_administrator_cannot_demote_themselves(site: Site, page: Page) -> None:
    await login(page)
    await section(page, "Users")
    await page.get_by_role("link", name="Edit admin").click()
    account = page.get_by_role("form", name="Account")
    await account.get_by_label("Role").select_option(label="User")
    await account.get_by_role("button", name="Save").click()
    await expect(account.get_by_role("alert")).to_have_text(
        "This is the last active admin; make another admin first"
    )
    await expect(account.get_by_label("Role")).to_have_value("user")  # as chosen, not reset
    assert (await user_named(site, "admin") or {})["role"] == "admin"


async def test_an_area_keeps_its_details_prompt_and_model(
    site: Site, page: Page, fake_llm: str
) -> None:
    admin = await site.admin()
    async with provider(site, name="house model", model="echo", api_base=fake_llm) as llm:
        await login(page)
        await section(page, "Areas")
        await page.get_by_role("link", name="New area").click()
        create = page.get_by_role("form", name="New area")
        await create.get_by_label("Name").fill("Handbook")
        await create.get_by_label("Description").fill("How we work")
        await create.get_by_label("Tags").fill("hr, policies")
        await create.get_by_role("button", name="Create area").click()
        await expect(page.get_by_role("heading", level=2, name="Handbook")).to_be_visible()
        area_id = page.url.rsplit("/", 1)[1]
        area = (await site.api.call("GET", f"/areas/{area_id}", admin)).json()
        assert (area["name"], area["description"], area["tags"]) == (
            "Handbook",
            "How we work",
            ["hr", "policies"],
        )

        prompt = page.get_by_role("form", name="System prompt")
        await prompt.get_by_role("textbox", name="System prompt").fill(
            "Answer briefly, citing the handbook."
        )
        await prompt.get_by_role("button", name="Save prompt").click()
        await expect(prompt.get_by_role("status")).to_have_text("System prompt saved.")
        model = page.get_by_role("form", name="Primary LLM")
        await model.get_by_role("combobox", name="Primary LLM").select_option(
            label="house model · echo"
        )
        await model.get_by_role("button", name="Save").click()
        await expect(model.get_by_role("status")).to_have_text("Saved.")
        details = page.get_by_role("form", name="Details")
        await details.get_by_label("Name").fill("Staff handbook")
        await details.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("heading", level=2, name="Staff handbook")).to_be_visible()

        await page.reload()
        await expect(page.get_by_role("heading", level=2, name="Staff handbook")).to_be_visible()
        await expect(page.get_by_role("textbox", name="System prompt")).to_have_value(
            "Answer briefly, citing the handbook."
        )
        await expect(page.get_by_role("combobox", name="Primary LLM")).to_have_value(llm["id"])
        saved = await site.api.call("GET", f"/areas/{area_id}/system-prompt", admin)
        assert saved.json()["system_prompt"] == "Answer briefly, citing the handbook."
        chosen = await site.api.call("GET", f"/areas/{area_id}/primary-llm", admin)
        assert chosen.json()["provider_id"] == llm["id"]
        await accessible(page)
        await fits(page, pane=True)

        delete = page.get_by_role("form", name="Delete this area")
        await delete.get_by_role("button", name="Delete area").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("heading", level=2, name="Areas")).to_be_visible()
        await expect(page.get_by_role("link", name="Staff handbook")).to_have_count(0)
        gone = await site.api.call("GET", f"/areas/{area_id}", admin)
        assert gone.status_code == 404


async def test_a_provider_is_tested_made_default_and_deleted(
    site: Site, page: Page, fake_llm: str
) -> None:
    await litellm()  # imported once, before the first test is timed by the page
    unused = f"http://127.0.0.1:{free_port()}/v1"
    admin = await site.admin()
    await login(page)
    try:
        for name, base in (("offline model", unused), ("fake model", fake_llm)):
            await section(page, "LLM providers")
            await page.get_by_role("link", name="Add provider").click()
            editor = page.get_by_role("form", name="New LLM provider")
            await editor.get_by_label("Name").fill(name)
            await editor.get_by_label("Type").select_option(label="OpenAI-compatible server")
            await editor.get_by_label("Model").fill("echo")
            await editor.get_by_label("API base").fill(base)
            await editor.get_by_role("button", name="Add provider").click()
            await expect(page.get_by_role("row").filter(has_text=name).first).to_be_visible()

        # A second provider of the same name: the server's refusal, and what was typed stays.
        await page.get_by_role("link", name="Add provider").click()
        editor = page.get_by_role("form", name="New LLM provider")
        await editor.get_by_label("Name").fill("fake model")
        await editor.get_by_label("Model").fill("other")
        await editor.get_by_role("button", name="Add provider").click()
        await expect(editor.get_by_role("alert")).to_have_text(
            "A provider named 'fake model' exists"
        )
        await expect(editor.get_by_label("Model")).to_have_value("other")
        await page.get_by_role("link", name="← LLM providers").click()

        offline = page.locator("tr.provider").filter(has_text="offline model")
        await offline.get_by_role("button", name="Test offline model").click()
        failed = page.get_by_role("status").filter(has_text="offline model did not answer")
        await expect(failed).to_contain_text("Failed:", timeout=30_000)
        await expect(failed.locator(".reason")).not_to_be_empty()
        fake = page.locator("tr.provider").filter(has_text="fake model")
        await fake.get_by_role("button", name="Test fake model").click()
        works = page.get_by_role("status").filter(has_text="fake model answered")
        await expect(works).to_contain_text(re.compile(r"Works: fake model answered in \d+ ms"))
        await accessible(page)
        await fits(page, pane=True)

        await fake.get_by_role("button", name="Make default: fake model").click()
        await expect(fake).to_contain_text("default")
        await expect(fake.get_by_role("button", name="Make default: fake model")).to_have_count(0)
        listed = (await site.api.call("GET", "/llm/providers", admin)).json()["items"]
        assert {p["name"]: p["is_default"] for p in listed} == {
            "fake model": True,
            "offline model": False,
        }

        await page.get_by_role("link", name="Edit offline model").click()
        edit = page.get_by_role("form", name="Provider offline model")
        await edit.get_by_label("API base").fill(fake_llm)
        await edit.get_by_label("Hourly cap").fill("100")
        await edit.get_by_role("button", name="Save").click()
        await expect(edit.locator(".form-ok")).to_have_text("Saved.")
        await edit.get_by_role("button", name="Test").click()
        await expect(page.get_by_role("status").filter(has_text="Works:")).to_be_visible()
        await page.get_by_role("link", name="← LLM providers").click()
        await expect(offline).to_contain_text("100/h")

        for name in ("offline model", "fake model"):
            await page.get_by_role("button", name=f"Delete {name}").click()
            await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
            await expect(page.locator("tr.provider").filter(has_text=name)).to_have_count(0)
        await expect(page.get_by_text("No LLM providers")).to_be_visible()
        assert (await site.api.call("GET", "/llm/providers", admin)).json()["items"] == []
    finally:
        for p in (await site.api.call("GET", "/llm/providers", admin)).json()["items"]:
            await site.api.call("DELETE", f"/llm/providers/{p['id']}", admin)


async def test_the_feedback_overview_lists_questions_rated_down(site: Site, page: Page) -> None:
    await site.user("rater")
    token = await site.api.token("rater", STRONG)
    questions = [f"Where is the spare key number {n} kept?" for n in range(11)]
    for n, question in enumerate(questions):
        asked = await site.api.call("POST", "/rag/query", token, json={"question": question})
        assert asked.status_code == 200, asked.text
        comment = {"comment": "Nothing about keys."} if n == len(questions) - 1 else {}
        rated = await site.api.call(
            "POST",
            f"/rag/history/{asked.json()['query_id']}/feedback",
            token,
            json={"rating": "down", **comment},
        )
        assert rated.status_code == 200, rated.text

    await login(page)
    await section(page, "Feedback")
    await expect(page.locator(".stat").nth(1)).to_contain_text("11")
    await expect(page.get_by_role("table", name="Ratings by area")).to_contain_text("No source")
    down = page.locator("li.downvote")
    await expect(down).to_have_count(10)
    latest = down.first
    await expect(latest.get_by_role("heading", level=4)).to_have_text(questions[-1])
    await expect(latest).to_contain_text("Nothing about keys.")
    await expect(latest).to_contain_text("Asked by rater")
    await accessible(page)
    pages = page.get_by_role("navigation", name="Pages")
    await expect(pages).to_contain_text("1\u201310 of 11")
    await pages.get_by_role("link", name="Next").click()
    await expect(down).to_have_count(1)
    await expect(down.first.get_by_role("heading", level=4)).to_have_text(questions[0])
    await expect(pages).to_contain_text("11\u201311 of 11")
    await pages.get_by_role("link", name="Previous").click()
    await expect(down).to_have_count(10)


async def test_everyones_terminal_sessions_are_listed_and_terminated(
    site: Site, page: Page
) -> None:
    await site.user("shelluser")
    token = await site.api.token("shelluser", STRONG)
    opened = await site.api.call(
        "POST",
        "/terminal/sessions",
        token,
        json={"target": {"type": "local"}, "title": "nightly build"},
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    await login(page)
    await section(page, "Terminal sessions")
    row = page.get_by_role("row").filter(has_text="nightly build")
    await expect(row).to_contain_text("shelluser")
    await expect(row).to_contain_text("local shell")
    await expect(row.get_by_role("link", name="Replay nightly build")).to_have_attribute(
        "href", f"#/replay/{session['id']}"
    )
    await accessible(page)
    await row.get_by_role("button", name="Terminate nightly build").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Terminate nightly build of shelluser?")
    await dialog.get_by_role("button", name="Terminate").click()
    await expect(row.get_by_role("button", name="Terminate nightly build")).to_have_count(0)
    await expect(row).to_contain_text(re.compile("closed|failed"))
    ended = await site.api.call("GET", f"/terminal/sessions/{session['id']}", token)
    assert ended.json()["status"] in ("closed", "failed")

    await page.get_by_label("Status").select_option(label="Connected")
    await expect(page.get_by_text("No session has this status.")).to_be_visible()
    assert "status=connected" in page.url


async def test_a_user_is_told_administration_is_for_administrators(site: Site, page: Page) -> None:
    await site.user("curious")
    await login(page, "curious", STRONG)
    await page.goto(f"{site.url}/#/admin/users")
    await expect(page.get_by_role("heading", name="For administrators only")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("curious, who has the user role")
    await expect(page.locator("#error")).to_be_hidden()
    await accessible(page)


async def test_an_area_is_made_with_the_keyboard_alone(site: Site, page: Page) -> None:
    await login(page)
    await page.goto(f"{site.url}/#/admin/areas")
    await expect(page.get_by_role("heading", level=2, name="Areas")).to_be_visible()
    await page.get_by_role("link", name="New area").focus()
    await page.keyboard.press("Enter")
    name = page.get_by_label("Name")
    await expect(name).to_be_focused()  # a new area's page is ready for its name
    await page.keyboard.type("Keyboard area")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2, name="Keyboard area")).to_be_visible()


async def test_every_section_fits_a_desktop_and_a_phone(site: Site, page: Page) -> None:
    await new_area(site, "Operations and infrastructure runbooks")
    await site.user("bystander")
    async with provider(site, name="local llama", model="llama3.1:8b-instruct-q4_K_M"):
        await login(page)
        for size, suffix in ((None, ""), (PHONE, "-phone")):
            if size:
                await page.set_viewport_size(size)
            for name in SECTIONS:
                await section(page, name)
                await expect(page.get_by_role("main")).not_to_contain_text("could not be shown")
                await accessible(page)
                await fits(page, pane=True)
                if name == "Users":
                    await shot(page, f"admin{suffix}")
            for link in ("bystander", "New user"):
                await section(page, "Users")
                await page.get_by_role("link", name=link, exact=True).click()
                await expect(page.get_by_role("link", name="← Users")).to_be_visible()
                await accessible(page)
                await fits(page, pane=True)
            await section(page, "Areas")
            await page.get_by_role(
                "link", name="Operations and infrastructure runbooks", exact=True
            ).click()
            await expect(page.get_by_role("form", name="System prompt")).to_be_visible()
            await accessible(page)
            await fits(page, pane=True)
            await section(page, "LLM providers")
            await page.get_by_role("link", name="local llama", exact=True).click()
            await expect(page.get_by_role("form", name="Provider local llama")).to_be_visible()
            await accessible(page)
            await fits(page, pane=True)
