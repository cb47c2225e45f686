"""The API documentation at /docs: Swagger UI over /openapi.json, under the server's CSP."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import ViewportSize, expect
from starlette.applications import Starlette

from aiss import web
from aiss.middleware import CONTENT_SECURITY_POLICY

from ..servers import serving
from .conftest import PHONE, STRONG, accessible, fits, shot

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.async_api import Locator, Page

    from .conftest import Site

pytestmark = pytest.mark.anyio
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


async def operation(page: Page, tag: str, operation_id: str) -> Locator:
    """An operation of the page, opened."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    await block.locator(".opblock-summary-control").click()
    await expect(block.locator(".opblock-body")).to_be_visible()
    return block


async def authorize(page: Page, token: str) -> None:
    await page.get_by_role("button", name="Authorize", exact=True).click()
    bearer = page.locator(".auth-container", has=page.locator("h4 code", has_text="bearer"))
    await bearer.get_by_label("Value:").fill(token)
    await page.get_by_role("button", name="Authorize bearer").click()
    await expect(page.get_by_role("button", name="Logout bearer")).to_be_visible()
    await bearer.get_by_role("button", name="Close").click()
    await expect(page.locator(".dialog-ux")).to_be_hidden()


async def test_the_page_is_served_without_a_login_and_runs_no_inline_script(site: Site) -> None:
    for path in ("/docs", "/docs/"):
        response = await site.api.http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert '<script type="module" src="/docs.js">' in response.text
        assert not INLINE_SCRIPT.search(response.text)
    for asset in ("/docs.js", "/docs.css"):
        assert (await site.api.http.get(asset)).status_code == 200, asset


@pytest.mark.parametrize("built", [(), ("index.html",)])
async def test_unbuilt_docs_say_how_to_build_them(tmp_path: Path, built: tuple[str, ...]) -> None:
    for name in built:
        (tmp_path / name).write_text("<!doctype html><title>AISS</title>")
    async with serving(Starlette(routes=web.routes(tmp_path))) as http:
        response = await http.get("/docs")
    assert response.status_code == 503
    assert "make serve" in response.text


async def test_the_operations_are_listed_and_the_upload_takes_a_file(
    site: Site, page: Page
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{site.url}/docs")
    await expect(page.get_by_role("heading", name=re.compile(r"^AISS"))).to_be_visible()
    await expect(page.get_by_role("heading", name=re.compile(r"^documents\b"))).to_be_visible()
    upload = page.locator("#operations-documents-post_api_v1_documents")
    await expect(upload.locator(".opblock-summary-method")).to_have_text("POST")
    await expect(upload.locator(".opblock-summary-path")).to_have_text("/api/v1/documents")
    # Every operation of the document, each under its tags.
    shown = await page.locator(".opblock").evaluate_all("(blocks) => blocks.map((b) => b.id)")
    assert {re.sub(r"^operations-[^-]+-", "", i) for i in shown} == await operation_ids(site)
    await accessible(page)
    await fits(page)
    await shot(page, "docs")

    upload = await operation(page, "documents", "post_api_v1_documents")
    await expect(upload.get_by_label("Request content type")).to_have_value("multipart/form-data")
    file_row = upload.locator('tr[data-property-name="file"]')
    await expect(file_row).to_contain_text("string($binary)")
    await expect(file_row.locator(".parameter__name")).to_have_class(re.compile(r"\brequired\b"))
    await upload.get_by_role("button", name="Try it out").click()
    await expect(upload.get_by_label("file", exact=True)).to_have_attribute("type", "file")
    await expect(upload.get_by_label("scope", exact=True).locator("option")).to_have_text(
        ["--", "personal", "shared"]
    )
    await expect(upload.get_by_label("title", exact=True)).to_be_editable()
    # The answer to a question: JSON or server-sent events, and what the events are.
    query = await operation(page, "rag", "post_api_v1_rag_query")
    responses = query.locator(".responses-wrapper")
    await expect(responses).to_contain_text("server-sent events instead of JSON")
    await expect(responses.locator("li code", has_text="sources").first).to_be_visible()
    await expect(responses.get_by_label("Media Type").first.locator("option")).to_have_text(
        ["application/json", "text/event-stream"]
    )
    await accessible(page)
    await fits(page)
    # Everything came from the server itself.
    assert requested and all(url.startswith(site.url) for url in requested), requested


async def operation_ids(site: Site) -> set[str]:
    document = (await site.api.http.get("/openapi.json")).json()
    return {op["operationId"] for item in document["paths"].values() for op in item.values()}


@pytest.mark.parametrize("credential", ["access token", "API key"])
async def test_authorize_then_try_it_out(site: Site, page: Page, credential: str) -> None:
    username = f"docs-{credential.replace(' ', '-').lower()}"
    await site.user(username)
    token = await site.api.token(username, STRONG)
    if credential == "API key":
        made = await site.api.call("POST", "/users/me/api-keys", token, json={"name": "docs"})
        assert made.status_code == 201, made.text
        token = made.json()["key"]
    await page.goto(f"{site.url}/docs")
    await expect(page.locator(".opblock").first).to_be_visible()
    if credential == "access token":
        await page.get_by_role("button", name="Authorize", exact=True).click()
        await expect(page.get_by_role("heading", name="Available authorizations")).to_be_visible()
        await accessible(page)
        await page.locator(".close-modal").click()
    await authorize(page, token)
    me = await operation(page, "users", "get_api_v1_users_me")
    await me.get_by_role("button", name="Try it out").click()
    await me.get_by_role("button", name="Execute").click()
    answer = me.locator(".live-responses-table tbody tr.response").first
    await expect(answer.locator(".response-col_status")).to_have_text("200")
    await expect(answer.locator(".response-col_description")).to_contain_text(
        f'"username": "{username}"'
    )
    await accessible(page)
    await fits(page)


async def test_the_dark_theme_and_a_phone(site: Site, page: Page) -> None:
    await page.set_viewport_size(ViewportSize(width=PHONE["width"], height=PHONE["height"]))
    await page.emulate_media(color_scheme="dark")
    await page.goto(f"{site.url}/docs")
    html = page.locator("html")
    await expect(html).to_have_class(re.compile(r"\bdark-mode\b"))
    await expect(page.locator(".opblock").first).to_be_visible()
    await accessible(page)
    await fits(page)
    await shot(page, "docs-phone")
    # An operation opened and ready to try keeps to the width of the phone.
    opened = await operation(page, "documents", "post_api_v1_documents")
    await opened.get_by_role("button", name="Try it out").click()
    await expect(opened.get_by_label("file", exact=True)).to_be_visible()
    await fits(page)
    await accessible(page)
    # The app's choice wins over the system's, and is the app's: kept for both pages.
    toggle = page.get_by_role("button", name="Dark theme")
    await toggle.click()
    await expect(html).not_to_have_class(re.compile(r"\bdark-mode\b"))
    await page.get_by_role("link", name="Back to the app").click()
    await expect(page).to_have_url(f"{site.url}/#/ask")
    await expect(page.get_by_role("heading", name="Log in to AISS")).to_be_visible()
    await expect(html).to_have_attribute("data-theme", "light")
