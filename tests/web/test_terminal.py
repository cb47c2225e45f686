"""The terminal page in Chromium: a shell, reattaching, SSH host keys, sharing, replay,
the command log and questions to the knowledge base, against AISS and OpenSSH's sshd."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Any

import asyncssh
import pytest
from playwright.async_api import expect

from ..aiss.routes.test_documents import ready, upload
from ..servers import free_port
from ..ssh_servers import current_user, openssh_server
from .conftest import DESKTOP, PHONE, STRONG, accessible, fits, login, shot, watched

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Locator, Page

    from ..ssh_servers import SshServer
    from .conftest import Site

pytestmark = pytest.mark.anyio
FACT = "The harbour crane is inspected every Thursday by Margit Olsen."


@pytest.fixture(scope="module")
async def sshd(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SshServer]:
    async with openssh_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(autouse=True)
async def no_sessions_left(site: Site) -> AsyncIterator[None]:
    """Each test ends the administrator's sessions (there is a cap per user)."""
    yield
    admin = await site.admin()
    page = (await site.api.call("GET", "/terminal/sessions", admin, params={"limit": 100})).json()
    for session in page["items"]:
        if session["status"] not in ("closed", "failed"):
            await site.api.call("DELETE", f"/terminal/sessions/{session['id']}", admin)


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


async def prompted(page: Page, timeout: float = 10.0) -> None:
    """Until the last row that is not blank ends with a shell's prompt."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not re.search(r"[$#] ?\s*$", (await rows(page)).rstrip() + " "):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no prompt in:\n{await rows(page)}")
        await page.wait_for_timeout(100)


def item(page: Page, session_id: str) -> Locator:
    """A session in the side list."""
    return page.locator(f".term-sessions li[data-session='{session_id}']")


async def shown_session(page: Page) -> str:
    """The id of the session the page shows (the current item of the list)."""
    current = page.locator(".term-sessions li:has(.item[aria-current='true'])")
    await expect(current).to_have_count(1)
    session_id = await current.get_attribute("data-session")
    assert session_id
    return session_id


async def open_local(page: Page, title: str = "") -> str:
    """A new local shell through the dialog; its id once attached."""
    await page.get_by_role("button", name="New session").first.click()
    dialog = page.get_by_role("dialog", name="New session")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("A local shell").check()
    await dialog.get_by_label("Title (optional)").fill(title)
    await dialog.get_by_role("button", name="Open").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#term-state")).to_have_text("attached (driver)")
    await expect(page.locator(".xterm-helper-textarea")).to_be_focused()
    return await shown_session(page)


async def check(page: Page, name: str | None = None) -> None:
    """Accessible, and fitting at the desktop's size and a phone's (a screenshot of each)."""
    await accessible(page)
    await fits(page)
    if name:
        await shot(page, name)
    await page.set_viewport_size(PHONE)
    await fits(page)
    await accessible(page)
    if name:
        await shot(page, f"{name}-phone")
    await page.set_viewport_size(DESKTOP)


async def commands_of(site: Site, token: str, session_id: str, count: int) -> list[dict[str, Any]]:
    """The session's command log once it holds `count` commands (oldest first)."""
    for _ in range(100):
        found = await site.api.call(
            "GET", "/terminal/commands", token, params={"session_id": session_id}
        )
        items: list[dict[str, Any]] = found.json()["items"]
        if len(items) >= count:
            return items[::-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} commands logged")


async def test_a_shell_runs_commands_finds_text_and_follows_the_window(page: Page) -> None:
    await login(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Terminal").click()
    await expect(page.locator(".term-empty")).to_be_visible()
    await check(page)
    session_id = await open_local(page, "first shell")
    await expect(item(page, session_id).locator(".term-status")).to_have_text("attached here")
    await expect(page.locator("#term-title")).to_have_text("first shell")
    await run(page, "echo ok-$((20+22))", r"ok-42")

    # The window's size reaches the shell.
    before = (await run(page, "stty size", r"(\d+) (\d+)")).groups()
    await page.set_viewport_size({"width": 900, "height": 600})
    for attempt in range(40):  # the fit and the resize frame follow the window's event
        after = (await run(page, f"echo size-{attempt}; stty size", r"(\d+) (\d+)")).groups()
        if after != before:
            break
        await page.wait_for_timeout(100)
    assert int(after[1]) < int(before[1]) and int(after[0]) < int(before[0])
    await page.set_viewport_size(DESKTOP)

    # Find in the scrollback: Ctrl+Shift+F from the terminal, Escape back to it.
    await page.keyboard.press("Control+Shift+F")
    finder = page.get_by_role("search", name="Find in the terminal")
    await expect(finder.get_by_label("Find")).to_be_focused()
    await page.keyboard.type("ok-42")
    await expect(finder.locator(".term-find-count")).to_have_text(re.compile(r"^\d+ of \d+$"))
    await finder.get_by_role("button", name="Next").click()
    await page.get_by_label("Find", exact=True).fill("no-such-text-anywhere")
    await expect(finder.locator(".term-find-count")).to_have_text("no matches")
    await page.keyboard.press("Escape")
    await expect(finder).to_be_hidden()
    await expect(page.locator(".xterm-helper-textarea")).to_be_focused()

    # Escape twice leaves the terminal for the list; Tab goes on from there.
    await expect(page.locator("#term-hint")).to_contain_text("leaves the terminal")
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await expect(item(page, session_id).locator(".item")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator(".xterm-helper-textarea")).not_to_be_focused()
    await run(page, "echo back-$((1+1))", r"back-2")  # and nothing typed was lost to the shell
    await check(page, "terminal")

    # The terminal follows the app's theme, both ways.
    background = page.locator(".xterm-scrollable-element")
    await expect(background).to_have_css("background-color", "rgb(255, 255, 255)")
    await page.get_by_role("button", name="Dark theme").click()
    await expect(background).to_have_css("background-color", "rgb(13, 17, 23)")
    await accessible(page)
    await shot(page, "terminal-dark")
    await page.get_by_role("button", name="Dark theme").click()
    await expect(background).to_have_css("background-color", "rgb(255, 255, 255)")


async def test_a_reload_reattaches_the_same_shell_and_the_list_says_so(page: Page) -> None:
    await login(page)
    await page.goto(page.url.split("#")[0] + "#/terminal")
    session_id = await open_local(page, "kept shell")
    await run(page, "export KEPT_WORD=persimmon", r"\$")
    await run(page, "echo set-$KEPT_WORD", r"set-persimmon")  # short: no wrapped line
    await page.reload()
    await expect(page.locator("#term-state")).to_have_text("attached (driver)", timeout=15_000)
    await expect(item(page, session_id).locator(".item")).to_have_attribute("aria-current", "true")
    await expect(item(page, session_id).locator(".term-status")).to_have_text("attached here")
    await run(page, "echo still-$KEPT_WORD", r"still-persimmon")
    assert "set-persimmon" in await rows(page)  # the scrollback came back too
    await check(page)

    # The owner watches read-only, drives again, renames, and terminates (once sure).
    read_only = page.get_by_role("button", name="Read-only")
    await read_only.click()
    await expect(page.locator("#term-state")).to_have_text("observing (read-only)")
    await expect(read_only).to_have_attribute("aria-pressed", "true")
    await read_only.click()
    await expect(page.locator("#term-state")).to_have_text("attached (driver)")
    await run(page, "echo driving-$((3*3))", r"driving-9")
    await page.get_by_role("button", name="Rename").click()
    renaming = page.get_by_role("dialog", name="Rename the session")
    await renaming.get_by_label("Title").fill("renamed shell")
    await renaming.get_by_role("button", name="Rename").click()
    await expect(page.locator("#term-title")).to_have_text("renamed shell")
    await expect(item(page, session_id)).to_contain_text("renamed shell")
    await page.get_by_role("button", name="Terminate").click()
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    await expect(page.locator("#term-state")).to_have_text("attached (driver)")
    await page.get_by_role("button", name="Terminate").click()
    await page.get_by_role("dialog").get_by_role("button", name="Terminate").click()
    await expect(page.locator("#term-state")).to_have_text(re.compile(r"^exited \(\d+\)$"))
    ended = page.get_by_role("list", name="Ended sessions")
    await page.get_by_text(re.compile(r"^Ended \(\d+\)$")).click()
    await expect(ended.locator(f"li[data-session='{session_id}']")).to_contain_text("ended")
    await expect(item(page, session_id).locator("a")).to_have_attribute(
        "href", f"#/replay/{session_id}"
    )


def fingerprint(public_key: str) -> str:
    return str(asyncssh.import_public_key(public_key).get_fingerprint("sha256"))


async def test_ssh_asks_to_confirm_an_unknown_host_key_and_alarms_on_a_changed_one(
    site: Site, page: Page, sshd: SshServer
) -> None:
    name = f"ssh{uuid.uuid4().hex[:8]}"
    await site.user(name)
    token = await site.api.token(name, STRONG)
    await login(page, name, STRONG)
    await page.goto(page.url.split("#")[0] + "#/terminal")
    await page.get_by_role("button", name="New session").first.click()
    dialog = page.get_by_role("dialog", name="New session")
    await dialog.get_by_label("An SSH host").check()
    await dialog.get_by_label("Host", exact=True).fill("127.0.0.1")
    await dialog.get_by_label("Port").fill(str(sshd.port))
    await dialog.get_by_label("Username", exact=True).fill(current_user())
    await dialog.get_by_label("Password", exact=True).fill("not-the-password")
    await check(page)
    await dialog.get_by_role("button", name="Open").click()

    # The first connection: the key is shown, with its fingerprint, to be trusted.
    confirm = page.get_by_role("dialog", name="Unknown host key")
    await expect(confirm).to_contain_text(f"127.0.0.1:{sshd.port}")
    await expect(confirm).to_contain_text("ssh-ed25519")
    await expect(confirm.locator(".term-fingerprint")).to_have_text(
        fingerprint(sshd.host_public_key)
    )
    await accessible(page)
    await confirm.get_by_role("button", name="Trust and connect").click()

    # Trusted, then refused: sshd takes keys only. The server's words, nothing lost.
    problem = dialog.get_by_role("alert")
    await expect(problem).to_contain_text("authentication failed")
    await expect(dialog.get_by_label("Host", exact=True)).to_have_value("127.0.0.1")
    await expect(dialog.get_by_label("Username", exact=True)).to_have_value(current_user())
    await expect(dialog.get_by_label("Password", exact=True)).to_have_value("not-the-password")
    known = (await site.api.call("GET", "/terminal/known-hosts", token)).json()["items"]
    assert [k["fingerprint_sha256"] for k in known] == [fingerprint(sshd.host_public_key)]

    # An unreachable port: its message, and the form as it was.
    await dialog.get_by_label("Port").fill(str(free_port()))
    await dialog.get_by_role("button", name="Open").click()
    await expect(problem).to_contain_text("cannot reach")
    await expect(dialog.get_by_label("Username", exact=True)).to_have_value(current_user())
    await accessible(page)

    # The right port and a key: connected, and a command runs on the target (in a
    # terminal opened wide enough that the command does not wrap).
    await page.set_viewport_size(DESKTOP)
    await dialog.get_by_label("Port").fill(str(sshd.port))
    await dialog.get_by_label("A private key").check()
    await dialog.get_by_label("Private key (OpenSSH or PEM)").fill(sshd.client_key)
    await dialog.get_by_role("button", name="Open").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#term-state")).to_have_text("attached (driver)", timeout=15_000)
    session_id = await shown_session(page)
    await expect(item(page, session_id)).to_contain_text(f"{current_user()}@127.0.0.1:{sshd.port}")
    await prompted(page)  # typed before the remote prompt, the line would be echoed twice
    await run(page, "echo over-ssh-$((6*7)) $SSH_CONNECTION", r"over-ssh-42 127\.0\.0\.1")
    await check(page)

    # Another key stored for the host (as if it changed): an alarm, and nothing connects.
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    stored = await site.api.call(
        "POST",
        "/terminal/known-hosts",
        token,
        json={"host": "127.0.0.1", "port": sshd.port, "public_key": other},
    )
    assert stored.status_code == 201, stored.text
    before = (await site.api.call("GET", "/terminal/sessions", token)).json()["total"]
    await page.get_by_role("button", name="New session").first.click()
    await dialog.get_by_label("Private key (OpenSSH or PEM)").fill(sshd.client_key)
    await dialog.get_by_role("button", name="Open").click()
    alarm = page.get_by_role("alertdialog", name="Warning: the host key has changed")
    await expect(alarm).to_contain_text("attack")
    await expect(alarm).to_contain_text(fingerprint(other))  # the one trusted
    await expect(alarm.locator(".term-fingerprint-new")).to_have_text(
        fingerprint(sshd.host_public_key)
    )
    assert await alarm.get_by_role("button").all_inner_texts() == ["Close"]  # no trusting here
    await accessible(page)
    await shot(page, "terminal-host-key-changed")
    await alarm.get_by_role("button", name="Close").click()
    await expect(problem).to_contain_text("changed")
    after = (await site.api.call("GET", "/terminal/sessions", token)).json()["total"]
    assert after == before
    known = (await site.api.call("GET", "/terminal/known-hosts", token)).json()["items"]
    assert [k["fingerprint_sha256"] for k in known] == [fingerprint(other)]

    # Removing the old key is a step of its own, under Known hosts.
    await dialog.get_by_role("button", name="Cancel").click()
    await page.get_by_role("button", name="Known hosts").click()
    hosts = page.get_by_role("dialog", name="Known hosts")
    await expect(hosts).to_contain_text(fingerprint(other))
    await hosts.get_by_role(
        "button", name=f"Remove the ssh-ed25519 key of 127.0.0.1:{sshd.port}"
    ).click()
    await page.get_by_role("dialog").get_by_role("button", name="Remove").last.click()
    await expect(hosts).to_contain_text("No host keys are trusted yet.")
    assert (await site.api.call("GET", "/terminal/known-hosts", token)).json()["items"] == []


async def test_a_shared_session_is_watched_read_only(
    site: Site, page: Page, browser: Browser
) -> None:
    name = f"bob{uuid.uuid4().hex[:6]}"
    await site.user(name)
    await login(page)
    await page.goto(page.url.split("#")[0] + "#/terminal")
    session_id = await open_local(page, "shared shell")
    await run(page, "echo before-$((2+3))", r"before-5")

    await page.get_by_role("button", name="Share", exact=True).click()
    sharing = page.get_by_role("dialog", name="Share “shared shell”")
    await expect(sharing).to_contain_text("Nobody yet")
    await sharing.get_by_label("Username", exact=True).fill("nobody-by-this-name")
    await sharing.get_by_role("button", name="Share", exact=True).click()
    await expect(sharing.get_by_role("alert")).to_contain_text("no such user")
    await sharing.get_by_label("Username", exact=True).fill(name)
    await sharing.get_by_role("button", name="Share", exact=True).click()
    await expect(sharing.get_by_role("list", name="Shared with")).to_contain_text(name)
    await accessible(page)
    await sharing.get_by_role("button", name="Close").click()

    async with watched(browser, f"{site.url}/#/terminal") as bob:
        await login(bob, name, STRONG)
        theirs = bob.locator(".term-sessions ul[aria-labelledby='term-shared']")
        await expect(theirs.locator(f"li[data-session='{session_id}']")).to_contain_text(
            "shared shell"
        )
        await expect(theirs).to_contain_text("from admin")
        await theirs.locator(f"li[data-session='{session_id}'] .item").click()
        await expect(bob.locator("#term-state")).to_have_text("observing (read-only)")
        await expect(bob.get_by_text("Read-only: you are watching")).to_be_visible()
        await expect(item(bob, session_id).locator(".term-status")).to_have_text("observing here")
        for tool in ("Share", "Rename", "Terminate", "Read-only"):
            await expect(bob.get_by_role("button", name=tool, exact=True)).to_be_disabled()
        await expect(bob.locator(".xterm-accessibility-tree")).to_contain_text("before-5")
        await check(bob, "terminal-observer")

        # What the observer types never reaches the shell; what the owner does, they see.
        await bob.locator(".xterm-helper-textarea").focus()
        await bob.keyboard.type("echo intruder-$((3+4))")
        await bob.keyboard.press("Enter")
        await run(page, "echo owner-$((4+4))", r"owner-8")
        await expect(bob.locator(".xterm-accessibility-tree")).to_contain_text("owner-8")
        assert "intruder" not in await rows(page)
        assert "intruder" not in await rows(bob)

        # Taken back: it leaves their list.
        await page.get_by_role("button", name="Share", exact=True).click()
        await sharing.get_by_role("button", name=f"Remove {name}").click()
        await expect(sharing).to_contain_text("Nobody yet")
        await sharing.get_by_role("button", name="Close").click()
        await bob.reload()
        await expect(theirs.locator(f"li[data-session='{session_id}']")).to_have_count(0)
        await expect(theirs).to_contain_text("Nothing shared with you.")


async def test_the_command_log_finds_a_command_and_replays_from_its_time(
    site: Site, page: Page
) -> None:
    await login(page)
    await page.goto(page.url.split("#")[0] + "#/terminal")
    session_id = await open_local(page, "replayed shell")
    await run(page, "echo alpha-$((0+1))", r"alpha-1")
    # The screen is cleared three seconds into the second command.
    await page.keyboard.type("sleep 3; clear; echo omega-$((1+1))")
    await page.keyboard.press("Enter")
    await expect(page.locator(".xterm-accessibility-tree")).to_contain_text(
        "omega-2", timeout=15_000
    )
    admin = await site.admin()
    first, second = (await commands_of(site, admin, session_id, 2))[:2]
    assert second["command"].startswith("sleep 3")

    # Search the log from the terminal page; a command opens the replay at its time.
    await page.get_by_role("button", name="Commands").click()
    panel = page.get_by_role("region", name="Command log")
    await expect(panel.get_by_label("Search commands")).to_be_focused()
    await page.keyboard.type("omega")
    entries = panel.locator(".term-commands li")
    await expect(entries).to_have_count(1)
    await expect(entries.first).to_contain_text("sleep 3; clear; echo omega-$((1+1))")
    await expect(entries.first).to_contain_text("exit 0")
    await expect(entries.first).to_contain_text("replayed shell")
    await panel.get_by_label("Search commands").fill("alpha")
    await expect(entries).to_have_count(1)
    await expect(entries.first).to_contain_text("echo alpha-$((0+1))")
    await panel.get_by_label("Search commands").fill("omega")
    await expect(entries.first).to_contain_text("omega")
    await check(page)
    await entries.first.get_by_role("link").click()

    # At the command's start: alpha's output on the screen, omega's not yet.
    await expect(page).to_have_url(re.compile(rf"#/replay/{session_id}\?t=\d+(\.\d)?$"))
    player = page.locator("#player")
    await expect(player).to_contain_text("alpha-1", timeout=15_000)
    await expect(player).not_to_contain_text("omega-2")
    await expect(page.get_by_role("heading", name="Replay: replayed shell")).to_be_visible()

    # Later moments, straight from the address. 2.5 s into the sleep, past the 2 s that
    # the player shortens pauses to: still alpha's screen.
    created = await session_created(site, admin, session_id)
    since = "([a, b]) => (Date.parse(b) - Date.parse(a)) / 1000"
    slept = await page.evaluate(since, [created, second["started_at"]]) + 2.5
    await page.goto(f"{site.url}/#/replay/{session_id}?t={slept:.1f}")
    await expect(player).to_have_attribute("data-start", f"{slept:.1f}")
    await expect(page.locator("#player .ap-term")).to_contain_text("alpha-1", timeout=15_000)
    await expect(player).not_to_contain_text("omega-2")
    # After the second command: the cleared screen with omega's output.
    ended = await page.evaluate(since, [created, second["ended_at"]]) + 0.5
    await page.goto(f"{site.url}/#/replay/{session_id}?t={ended:.1f}")
    await expect(player).to_have_attribute("data-start", f"{ended:.1f}")
    await expect(player).to_contain_text("omega-2", timeout=15_000)
    await expect(player).not_to_contain_text("alpha-1")
    assert first["command"] == "echo alpha-$((0+1))"
    await expect(page.get_by_role("list", name="Commands in this session")).to_contain_text(
        "sleep 3; clear"
    )
    await check(page, "replay")


async def session_created(site: Site, token: str, session_id: str) -> str:
    found = await site.api.call("GET", f"/terminal/sessions/{session_id}", token)
    return str(found.json()["created_at"])


async def test_a_question_is_answered_beside_the_terminal(site: Site, page: Page) -> None:
    admin = await site.admin()
    accepted = await upload(site.api, admin, FACT.encode(), "crane.txt", title="Crane duty")
    assert accepted.status_code == 202, accepted.text
    assert (await ready(site.api, admin, accepted.json()["id"]))["status"] == "ready"
    await login(page)
    await page.goto(page.url.split("#")[0] + "#/terminal")
    await open_local(page, "asking shell")
    await page.keyboard.press("Control+Shift+K")
    panel = page.get_by_role("region", name="Ask the knowledge base")
    await expect(panel.get_by_label("Question", exact=True)).to_be_focused()
    await page.keyboard.type("Who inspects the harbour crane?")
    await page.keyboard.press("Enter")
    await expect(panel.locator(".term-answer")).to_contain_text("Margit Olsen", timeout=20_000)
    await expect(panel.locator(".term-answer .term-cite").first).to_have_text("[1]")
    await expect(panel.get_by_role("list", name="Sources")).to_contain_text("Crane duty")
    await expect(page.locator(".xterm-helper-textarea")).to_be_focused()  # back to the shell
    await run(page, "echo after-$((5+5))", r"after-10")
    await check(page, "terminal-ask")
    await panel.get_by_role("button", name="Close the question panel").click()
    await expect(panel).to_be_hidden()
