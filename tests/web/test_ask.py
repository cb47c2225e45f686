"""The Ask page: conversations with follow-ups, citations that open the passage, feedback."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import anyio
import pytest
from playwright.async_api import expect

from .conftest import PHONE, STRONG, accessible, fits, login, shot, uploaded

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, Route

    from .conftest import Site

pytestmark = pytest.mark.anyio
CRANE = "The harbour crane is inspected every Thursday by Margit Olsen."
# Three sections, one chunk each: the cited one is shown between its neighbours.
MANUAL = "\n\n".join(
    f"## Section {n}\n\n" + " ".join([f"Filler sentence {n} about nothing in particular."] * 40)
    for n in (1, 2, 3)
).replace(
    "## Section 2\n\n",
    "## Section 2\n\nThe lighthouse lamp is cleaned with vinegar by Tomas Berg. ",
)


@pytest.fixture(scope="module")
async def documents(site: Site) -> dict[str, str]:
    admin = await site.admin()
    return {
        "crane": await uploaded(site, admin, "crane.txt", CRANE),
        "manual": await uploaded(site, admin, "lighthouse.md", MANUAL),
    }


async def ask(page: Page, question: str) -> None:
    await page.get_by_label("Question").fill(question)
    await page.get_by_role("button", name="Send").click()


def turn(page: Page, n: int) -> Locator:
    return page.locator(".thread > li.turn").nth(n)


async def test_a_conversation_with_a_follow_up_cites_the_passage(
    site: Site, page: Page, documents: dict[str, str]
) -> None:
    await login(page)
    await ask(page, "Who inspects the harbour crane?")
    first = turn(page, 0)
    await expect(first.get_by_role("article", name="Answer")).to_contain_text("Margit Olsen")
    assert re.fullmatch(r".*#/ask/[0-9a-f]{24}", page.url)  # the address names the conversation
    # The follow-up names neither crane nor harbour: the conversation carries them.
    await ask(page, "On which day of the week?")
    second = turn(page, 1)
    answer = second.get_by_role("article", name="Answer")
    await expect(answer).to_contain_text("Thursday")
    await answer.locator("button.cite").first.click()
    passage = page.get_by_role("complementary", name="Source 1")
    await expect(passage).to_contain_text("crane.txt")
    await expect(passage.get_by_role("region", name="The cited passage")).to_contain_text(
        "every Thursday by Margit Olsen"
    )
    await expect(passage.get_by_role("button", name="Download the original")).to_be_visible()
    await accessible(page)
    await shot(page, "ask")
    await page.keyboard.press("Escape")
    await expect(passage).to_have_count(0)
    await expect(answer.locator("button.cite").first).to_be_focused()  # focus comes back

    # The conversation is listed and comes back whole after a reload.
    listed = page.get_by_role("navigation", name="Conversations").get_by_role("link")
    await expect(listed.filter(has_text="Who inspects the harbour crane?")).to_have_attribute(
        "aria-current", "page"
    )
    await page.reload()
    await expect(turn(page, 1).get_by_role("article", name="Answer")).to_contain_text("Thursday")


async def test_the_cited_passage_is_shown_between_its_neighbours(
    site: Site, page: Page, documents: dict[str, str]
) -> None:
    chunks = await site.api.call(
        "GET", f"/documents/{documents['manual']}/chunks?limit=100", await site.admin()
    )
    texts = [c["text"] for c in chunks.json()["items"]]
    cited = next(i for i, text in enumerate(texts) if "vinegar" in text)
    assert 0 < cited < len(texts) - 1  # the document is made so that it has both neighbours
    await login(page)
    await ask(page, "Who cleans the lighthouse lamp?")
    answer = turn(page, 0).get_by_role("article", name="Answer")
    await expect(answer).to_contain_text("Tomas Berg")
    await answer.get_by_role("list", name="Sources").get_by_role("button").first.click()
    passage = page.get_by_role("complementary", name="Source 1")
    shown = passage.locator("section.passage")
    await expect(shown).to_have_count(3)
    await expect(passage.get_by_role("region", name="The cited passage")).to_contain_text(
        "cleaned with vinegar"
    )
    for n, index in enumerate((cited - 1, cited, cited + 1)):
        await expect(shown.nth(n)).to_contain_text(texts[index][-60:].strip())
    await expect(passage).to_contain_text("Section 2")  # the heading path
    async with page.expect_download() as downloading:
        await passage.get_by_role("button", name="Download the original").click()
    download = await downloading.value
    assert download.suggested_filename == "lighthouse.md"
    await passage.get_by_role("link", name="Open the document").click()
    await expect(page.get_by_role("heading", name="lighthouse.md")).to_be_visible()


async def test_feedback_is_stored_with_the_question(
    site: Site, page: Page, documents: dict[str, str]
) -> None:
    await login(page)
    await ask(page, "Who inspects the harbour crane?")
    article = turn(page, 0).get_by_role("article", name="Answer")
    await expect(article).to_contain_text("Margit Olsen")
    await article.get_by_role("button", name="Bad answer").click()
    dialog = page.get_by_role("dialog", name="What was wrong?")
    await dialog.get_by_label("Comment (optional)").fill("too short")
    await dialog.get_by_role("button", name="Send").click()
    await expect(article.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    history = await site.api.call("GET", "/rag/history?limit=1", await site.admin())
    feedback = history.json()["items"][0]["feedback"]
    assert feedback["rating"] == "down" and feedback["comment"] == "too short"
    await article.get_by_role("button", name="Good answer").click()
    await expect(article.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(article.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "false"
    )
    # The history page lists the question with its rating.
    await page.get_by_role("link", name="History of questions").click()
    item = page.get_by_role("group").filter(has_text="Who inspects the harbour crane?").first
    await item.locator("summary").click()
    await expect(item.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    await accessible(page)


async def test_chips_narrow_the_search_to_an_area(
    site: Site, page: Page, documents: dict[str, str]
) -> None:
    admin = await site.admin()
    created = await site.api.call("POST", "/areas", admin, json={"name": "Quay"})
    area = created.json()["id"]
    await uploaded(
        site,
        admin,
        "bollard.txt",
        "The quay bollards are painted yellow.",
        scope="shared",
        area_id=area,
    )
    await login(page)
    await page.get_by_role("group", name="Search in").get_by_role("button", name="Quay").click()
    await ask(page, "Who inspects the harbour crane?")
    answer = turn(page, 0).get_by_role("article", name="Answer")
    await expect(answer.get_by_role("list", name="Sources")).to_contain_text("bollard.txt")
    await expect(answer).not_to_contain_text("Margit")  # personal documents were left out
    conversation = page.url.rsplit("/", 1)[1]
    stored = await site.api.call("GET", f"/conversations/{conversation}", admin)
    assert stored.json()["area_ids"] == [area]
    # Pressing Personal too is kept for the conversation's next questions.
    await page.get_by_role("group", name="Search in").get_by_role("button", name="Personal").click()
    await ask(page, "And who inspects the crane?")
    await expect(turn(page, 1).get_by_role("article", name="Answer")).to_contain_text("Margit")


async def test_a_phone_shows_the_chat_and_the_passage(
    page: Page, documents: dict[str, str]
) -> None:
    await page.set_viewport_size(PHONE)
    await login(page)
    await ask(page, "Who inspects the harbour crane?")
    answer = turn(page, 0).get_by_role("article", name="Answer")
    await expect(answer).to_contain_text("Margit Olsen")
    await fits(page)
    await accessible(page)
    await shot(page, "ask-phone")
    await answer.locator("button.cite").first.click()
    passage = page.get_by_role("complementary", name="Source 1")
    await expect(passage).to_be_in_viewport()
    await fits(page)
    await shot(page, "ask-passage-phone")


async def test_a_terminal_source_opens_the_replay_at_its_moment(site: Site, page: Page) -> None:
    from ..aiss.routes.terminal_client import attached, open_local

    await site.user("operator")
    token = await site.api.token("operator", STRONG)
    session = await open_local(site.api, token, index_commands=True)
    async with attached(site.api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo release-42 went to the orchard cluster\r")
        await term.expect(rb"release-42 went")
    with anyio.fail_after(30):  # the finished command becomes a document
        while not (docs := (await site.api.call("GET", "/documents", token)).json()["items"]) or (
            docs[0]["status"] != "ready"
        ):
            await anyio.sleep(0.2)
    await login(page, "operator", STRONG)
    await ask(page, "Which cluster did release-42 go to?")
    answer = turn(page, 0).get_by_role("article", name="Answer")
    await expect(answer).to_contain_text("orchard")
    await answer.locator("button.cite").first.click()
    passage = page.get_by_role("complementary", name="Source 1")
    await passage.get_by_role("link", name="Open the replay at this moment").click()
    assert re.fullmatch(rf".*#/replay/{session['id']}\?t=\d+\.\d", page.url), page.url
    await site.api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_an_answer_whose_stream_stops_short_says_it_was_cut_off(page: Page) -> None:
    async def cut_off(route: Route) -> None:
        body = 'event: sources\ndata: []\n\nevent: token\ndata: {"text": "Half an ans"}\n\n'
        await route.fulfill(status=200, content_type="text/event-stream", body=body)

    await login(page)
    await page.route("**/api/v1/conversations/*/messages", cut_off)
    await ask(page, "Will this answer end?")
    answer = turn(page, 0).get_by_role("article", name="Answer")
    await expect(answer).to_contain_text("Half an ans")
    await expect(answer).to_contain_text("Cut off")
    await expect(answer).not_to_have_attribute("aria-busy", "true")
    await expect(page.locator("#error")).to_contain_text("cut off")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
