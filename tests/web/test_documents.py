"""The Documents pages: several files uploaded to an area with progress, filters, one document."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.async_api import expect

from .conftest import PHONE, STRONG, accessible, fits, login, shot, uploaded

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.async_api import Page

    from .conftest import Site

pytestmark = pytest.mark.anyio


async def test_several_files_go_to_an_area_with_their_progress(
    site: Site, page: Page, tmp_path: Path
) -> None:
    admin = await site.admin()
    area = (await site.api.call("POST", "/areas", admin, json={"name": "Docks"})).json()["id"]
    writer = await site.user("writer")
    await site.api.call(
        "PUT",
        f"/users/{writer['id']}/permissions",
        admin,
        json={"area_id": area, "read": True, "write": True},
    )
    big = tmp_path / "tides.txt"
    big.write_text("High tide at the north pier comes an hour late. " * 20_000)  # ~1 MB
    small = tmp_path / "ropes.md"
    small.write_text("# Ropes\n\nMooring ropes are replaced every spring.\n")
    await login(page, "writer", STRONG)
    await page.get_by_role("link", name="Documents").click()
    form = page.get_by_role("form", name="Upload documents")
    await form.get_by_label("Into").select_option(label="Area: Docks")
    await form.get_by_label("Tags").fill("harbour, safety")
    await form.get_by_label("Description").fill("Rules of the docks")
    await form.get_by_label("Files").set_input_files([str(big), str(small)])
    await form.get_by_role("button", name="Upload").click()
    uploads = form.get_by_role("list", name="Uploads")
    for name, size in (("tides.txt", big.stat().st_size), ("ropes.md", small.stat().st_size)):
        line = uploads.get_by_role("listitem").filter(has_text=name)
        await expect(line).to_have_attribute("data-stage", "ready", timeout=60_000)
        sent = line.get_by_role("progressbar", name=f"Upload of {name}")
        await expect(sent).to_have_attribute("value", str(size))  # every byte went
        ingestion = line.get_by_role("progressbar", name=f"Ingestion of {name}")
        await expect(ingestion).to_have_attribute("value", "100")
    table = page.get_by_role("table", name="Documents")
    row = table.get_by_role("row").filter(has_text="tides.txt")
    await expect(row).to_contain_text("Docks")
    await expect(row).to_contain_text("harbour")
    await expect(row.locator(".status")).to_have_text("ready")
    listed = await site.api.call("GET", f"/documents?area_id={area}", admin)
    stored = {d["title"]: d for d in listed.json()["items"]}
    assert set(stored) == {"tides.txt", "ropes.md"}
    assert stored["ropes.md"]["tags"] == ["harbour", "safety"]
    assert stored["ropes.md"]["description"] == "Rules of the docks"
    assert stored["ropes.md"]["scope"] == "shared"
    await accessible(page)
    await fits(page)
    await shot(page, "documents")


async def test_an_upload_the_server_refuses_says_why_and_the_others_go_on(
    site: Site, page: Page, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    fine = tmp_path / "fine.txt"
    fine.write_text("Buoys are blue.")
    await login(page)
    await page.get_by_role("link", name="Documents").click()
    form = page.get_by_role("form", name="Upload documents")
    await form.get_by_label("Files").set_input_files([str(empty), str(fine)])
    await form.get_by_role("button", name="Upload").click()
    uploads = form.get_by_role("list", name="Uploads")
    refused = uploads.get_by_role("listitem").filter(has_text="empty.txt")
    await expect(refused).to_have_attribute("data-stage", "failed")
    await expect(refused).to_contain_text("the file is empty")
    accepted = uploads.get_by_role("listitem").filter(has_text="fine.txt")
    await expect(accepted).to_have_attribute("data-stage", "ready", timeout=30_000)


async def test_filters_find_documents_by_title_tag_area_and_status(site: Site, page: Page) -> None:
    admin = await site.admin()
    area = (await site.api.call("POST", "/areas", admin, json={"name": "Sheds"})).json()["id"]
    await uploaded(
        site,
        admin,
        "paint.txt",
        "Sheds are painted red.",
        scope="shared",
        area_id=area,
        tags="colour",
    )
    await uploaded(site, admin, "locks.txt", "Shed locks are changed yearly.", tags="security")
    await login(page)
    await page.get_by_role("link", name="Documents").click()
    table = page.get_by_role("table", name="Documents")
    filters = page.get_by_role("search", name="Filter documents")
    await filters.get_by_label("Title").fill("locks")
    await expect(table.get_by_role("row").filter(has_text="locks.txt")).to_have_count(1)
    await expect(table.get_by_role("row").filter(has_text="paint.txt")).to_have_count(0)
    await filters.get_by_label("Title").fill("")
    await filters.get_by_label("Area").select_option(label="Sheds")
    await expect(table.get_by_role("row").filter(has_text="paint.txt")).to_have_count(1)
    await expect(table.get_by_role("row").filter(has_text="locks.txt")).to_have_count(0)
    await filters.get_by_label("Area").select_option(label="Any")
    await filters.get_by_label("Tag").fill("security")
    await expect(table.get_by_role("row").filter(has_text="locks.txt")).to_have_count(1)
    await expect(table.get_by_role("row").filter(has_text="paint.txt")).to_have_count(0)
    await filters.get_by_label("Tag").fill("")
    await filters.get_by_label("Status").select_option("failed")
    await expect(table).to_contain_text("No documents match.")
    await filters.get_by_label("Status").select_option(label="Any")
    await filters.get_by_label("Scope").select_option(label="Personal")
    await expect(table.get_by_role("row").filter(has_text="locks.txt")).to_have_count(1)
    await expect(table.get_by_role("row").filter(has_text="paint.txt")).to_have_count(0)


async def test_a_document_page_shows_its_chunks_and_edits_and_deletes(
    site: Site, page: Page
) -> None:
    admin = await site.admin()
    text = "\n\n".join(f"## Part {n}\n\n" + f"Sentence of part {n}. " * 120 for n in range(1, 4))
    document = await uploaded(site, admin, "parts.md", text, tags="manual")
    await login(page)
    await page.goto(f"{site.url}/#/document/{document}")
    await expect(page.get_by_role("heading", name="parts.md")).to_be_visible()
    about = page.get_by_role("region", name="About the document")
    await expect(about).to_contain_text("text/markdown")
    chunks = page.get_by_role("list", name="Chunks").get_by_role("listitem")
    count = (await site.api.call("GET", f"/documents/{document}", admin)).json()["chunk_count"]
    assert count > 1
    await expect(chunks).to_have_count(count)
    await expect(chunks.first).to_contain_text("Part 1")
    await accessible(page)
    await fits(page)
    await shot(page, "document")

    edit = page.get_by_role("form", name="Edit the document")
    await edit.get_by_label("Title").fill("The parts manual")
    await edit.get_by_label("Tags").fill("manual, parts")
    await edit.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="The parts manual")).to_be_visible()
    stored = (await site.api.call("GET", f"/documents/{document}", admin)).json()
    assert stored["title"] == "The parts manual" and stored["tags"] == ["manual", "parts"]
    await edit.get_by_label("Title").fill("")
    await edit.get_by_role("button", name="Save").click()  # the browser refuses an empty title
    assert (await site.api.call("GET", f"/documents/{document}", admin)).json()["title"] == (
        "The parts manual"
    )

    await page.get_by_role("button", name="Delete").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    gone = await site.api.call("GET", f"/documents/{document}", admin)
    assert gone.status_code == 404


async def test_documents_on_a_phone(site: Site, page: Page) -> None:
    await uploaded(site, await site.admin(), "phone.txt", "Phones are not allowed on the crane.")
    await page.set_viewport_size(PHONE)
    await login(page)
    await page.get_by_role("link", name="Documents").click()
    await expect(page.get_by_role("table", name="Documents")).to_contain_text("phone.txt")
    await accessible(page)
    await fits(page)
    await shot(page, "documents-phone")
