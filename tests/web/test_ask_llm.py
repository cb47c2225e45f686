"""The Ask page with a language model: streamed Markdown, kept inert, and a stop button."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.async_api import expect

from aiss.app import create_app
from aiss.llm.calls import litellm

from ..aiss.routes.conftest import Api, app_settings
from ..fake_llm import FakeLlm
from ..servers import serving
from .conftest import Site, accessible, login, uploaded

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[tuple[FakeLlm, str]]:
    fake = FakeLlm()
    async with serving(fake.app()) as http:
        yield fake, str(http.base_url).rstrip("/") + "/v1"


@pytest.fixture(scope="module")
async def site(
    tmp_path_factory: pytest.TempPathFactory, llm: tuple[FakeLlm, str]
) -> AsyncIterator[Site]:
    settings = app_settings(tmp_path_factory.mktemp("web-llm"), AISS_LLM_TOKEN_TIMEOUT="60s")
    await litellm()  # imported once, before the first answer waits for it
    async with serving(create_app(settings)) as http:
        site = Site(str(http.base_url).rstrip("/"), Api(http))
        admin = await site.admin()
        for name, model, default in (("scripted", "script", True), ("stalling", "stall", False)):
            created = await site.api.call(
                "POST",
                "/llm/providers",
                admin,
                json={
                    "name": name,
                    "type": "openai_compatible",
                    "model": model,
                    "api_base": llm[1],
                    "is_default": default,
                },
            )
            assert created.status_code == 201, created.text
        await uploaded(site, admin, "crane.txt", "Margit Olsen inspects the crane on Thursdays.")
        yield site


async def test_a_streamed_answer_is_markdown_with_nothing_active_in_it(
    page: Page, llm: tuple[FakeLlm, str]
) -> None:
    llm[0].script.append(
        "**Margit Olsen** inspects it `weekly` [1]. <img src=x onerror=alert(1)>"
        " <script>alert(2)</script> [see](javascript:alert(3))"
    )
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    await login(page)
    await page.get_by_label("Question").fill("Who inspects the crane?")
    await page.get_by_role("button", name="Send").click()
    answer = page.get_by_role("article", name="Answer")
    await expect(answer.locator("strong")).to_have_text("Margit Olsen")
    await expect(answer.locator("code")).to_have_text("weekly")
    await expect(answer.get_by_role("button", name="Source 1: crane.txt")).to_be_visible()
    await expect(answer.get_by_role("button", name="Good answer")).to_be_visible()  # done
    assert await answer.locator("img, script, [onerror]").count() == 0
    assert not await answer.locator("a[href^='javascript']").count()
    await accessible(page)


async def test_stop_ends_an_answer_that_does_not_come(site: Site, page: Page) -> None:
    admin = await site.admin()
    area = (await site.api.call("POST", "/areas", admin, json={"name": "Slow"})).json()["id"]
    providers = (await site.api.call("GET", "/llm/providers", admin)).json()["items"]
    stalling = next(p["id"] for p in providers if p["name"] == "stalling")
    await site.api.call("PUT", f"/areas/{area}/primary-llm", admin, json={"provider_id": stalling})
    await uploaded(
        site, admin, "billing.txt", "Orwell supervises billing.", scope="shared", area_id=area
    )
    await login(page)
    await page.get_by_role("group", name="Search in").get_by_role("button", name="Slow").click()
    await page.get_by_label("Question").fill("Who supervises billing?")
    await page.get_by_role("button", name="Send").click()
    answer = page.get_by_role("article", name="Answer")
    await expect(answer).to_contain_text("Orwell supervises")  # two tokens, then nothing
    await expect(page.get_by_role("button", name="Send")).to_be_hidden()
    await page.get_by_role("button", name="Stop").click()
    await expect(answer).to_contain_text("Stopped.")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    await expect(page.get_by_label("Question")).to_be_focused()
    # The next question goes to the default model again and is answered.
    await page.get_by_role("group", name="Search in").get_by_role("button", name="Slow").click()
    await page.get_by_label("Question").fill("And who inspects the crane?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("article", name="Answer").nth(1)).to_contain_text("[1]")
