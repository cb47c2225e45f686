"""The Settings page: the account and password, API keys, SSH keys, trusted host keys."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import asyncssh
import httpx
import pytest
from playwright.async_api import expect

from .conftest import PHONE, STRONG, accessible, fits, login, shot

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

    from .conftest import Site

pytestmark = pytest.mark.anyio
NEW_PASSWORD = "An0ther-Passw0rd-y"


def public_key(comment: str = "") -> tuple[str, str]:
    """A fresh ed25519 public key line and its SHA256 fingerprint."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment or None)
    line = key.export_public_key("openssh").decode().strip()
    return line, key.get_fingerprint("sha256")


async def settings(page: Page, section: str) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    await (
        page.get_by_role("navigation", name="Settings sections")
        .get_by_role("link", name=section)
        .click()
    )
    await expect(page.get_by_role("heading", level=2, name=section)).to_be_visible()


async def test_an_api_key_is_shown_once_works_and_is_revoked(site: Site, page: Page) -> None:
    await site.user("keyuser")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await login(page, "keyuser", STRONG)
    await settings(page, "API keys")
    await expect(page.get_by_text("No API keys yet")).to_be_visible()
    await page.get_by_label("Name").fill("backup script")
    await page.get_by_label("Expires").select_option(label="In 30 days")
    await page.get_by_role("button", name="Create key").click()

    dialog = page.get_by_role("dialog", name="Your new API key")
    await expect(dialog).to_contain_text("you will not see it again")
    key = await dialog.get_by_label("API key “backup script”").input_value()
    assert re.fullmatch(r"aiss_[0-9a-f]{12}_\S+", key), key
    await dialog.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == key
    await accessible(page)
    await dialog.get_by_role("button", name="I have copied it").click()
    await expect(dialog).to_be_hidden()
    assert key not in await page.content()  # shown once: nowhere in the page now

    row = page.get_by_role("row").filter(has_text="backup script")
    await expect(row).to_contain_text(key[: len("aiss_") + 12])  # the prefix, not the secret
    async with httpx.AsyncClient(base_url=site.url) as http:
        me = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200 and me.json()["username"] == "keyuser"

        await row.get_by_role("button", name="Revoke backup script").click()
        confirm = page.get_by_role("dialog")
        await expect(confirm).to_contain_text("Revoke the API key “backup script”?")
        await confirm.get_by_role("button", name="Revoke").click()
        await expect(row).to_have_count(0)
        await expect(page.get_by_text("No API keys yet")).to_be_visible()
        refused = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401


async def test_the_password_changes_only_with_the_current_one(site: Site, page: Page) -> None:
    await site.user("pwuser")
    await login(page, "pwuser", STRONG)
    await settings(page, "Account")
    profile = page.locator("dl.profile")
    await expect(profile).to_contain_text("pwuser")
    await expect(profile).to_contain_text("pwuser@example.org")
    await expect(profile).to_contain_text("User")

    password = page.get_by_role("form", name="Change your password")
    await password.get_by_label("Current password").fill("not my password")
    await password.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await password.get_by_label("New password again").fill(NEW_PASSWORD)
    await password.get_by_role("button", name="Change password").click()
    await expect(password.get_by_role("alert")).to_have_text("The current password is wrong")
    # Nothing typed is lost, and nothing changed.
    await expect(password.get_by_label("New password", exact=True)).to_have_value(NEW_PASSWORD)
    await site.api.login("pwuser", STRONG)

    await password.get_by_label("Current password").fill(STRONG)
    await password.get_by_label("New password", exact=True).fill("weakpass")
    await password.get_by_label("New password again").fill("weakpass")
    await password.get_by_role("button", name="Change password").click()
    await expect(password.get_by_role("alert")).to_contain_text("The password is too weak")
    await expect(password.get_by_label("Current password")).to_have_value(STRONG)

    await password.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await password.get_by_label("New password again").fill(NEW_PASSWORD)
    await password.get_by_role("button", name="Change password").click()
    await expect(password.get_by_role("status")).to_have_text("Your password was changed.")
    await expect(password.get_by_role("alert")).to_be_hidden()
    await expect(password.get_by_label("Current password")).to_have_value("")
    old = await site.api.call(
        "POST", "/auth/login", json={"username": "pwuser", "password": STRONG}
    )
    assert old.status_code == 401
    # This tab goes on (logged in again), and the new password logs in from now on.
    await (
        page.get_by_role("navigation", name="Settings sections")
        .get_by_role("link", name="API keys")
        .click()
    )
    await expect(page.get_by_text("No API keys yet")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await login(page, "pwuser", NEW_PASSWORD)


async def test_ssh_keys_are_added_listed_and_deleted(site: Site, page: Page) -> None:
    user = await site.user("sshuser")
    token = await site.api.token("sshuser", STRONG)
    line, fingerprint = public_key("sshuser@laptop")
    await login(page, "sshuser", STRONG)
    await settings(page, "SSH keys")
    add = page.get_by_role("form", name="Add an SSH key")
    await add.get_by_label("Public key").fill("ssh-ed25519 not-a-key")
    await add.get_by_role("button", name="Add key").click()
    await expect(add.get_by_role("alert")).to_contain_text("Not an OpenSSH public key")
    await expect(add.get_by_label("Public key")).to_have_value("ssh-ed25519 not-a-key")

    await add.get_by_label("Public key").fill(line)
    await add.get_by_role("button", name="Add key").click()
    await expect(add.get_by_role("status")).to_contain_text(fingerprint)
    row = page.get_by_role("row").filter(has_text=fingerprint)
    await expect(row).to_contain_text("sshuser@laptop")  # named by its comment
    await expect(row).to_contain_text("ssh-ed25519")
    listed = (await site.api.call("GET", "/users/me/ssh-keys", token)).json()["items"]
    assert [(k["fingerprint"], k["title"]) for k in listed] == [(fingerprint, "sshuser@laptop")]

    await row.get_by_role("button", name="Delete sshuser@laptop").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("No SSH keys yet")).to_be_visible()
    assert (await site.api.call("GET", "/users/me/ssh-keys", token)).json()["items"] == []
    assert user["username"] == "sshuser"


async def test_a_trusted_host_key_is_listed_and_removed(site: Site, page: Page) -> None:
    await site.user("hostuser")
    token = await site.api.token("hostuser", STRONG)
    line, fingerprint = public_key()
    trusted = await site.api.call(
        "POST",
        "/terminal/known-hosts",
        token,
        json={"host": "build.example.org", "port": 2222, "public_key": line},
    )
    assert trusted.status_code == 201, trusted.text
    await login(page, "hostuser", STRONG)
    await settings(page, "Known hosts")
    row = page.get_by_role("row").filter(has_text="build.example.org:2222")
    await expect(row).to_contain_text(fingerprint)
    await row.get_by_role("button", name="Remove build.example.org:2222").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("build.example.org:2222")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(row).to_be_visible()  # cancelled: still trusted
    await row.get_by_role("button", name="Remove build.example.org:2222").click()
    await page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    await expect(page.get_by_text("No trusted hosts yet")).to_be_visible()
    assert (await site.api.call("GET", "/terminal/known-hosts", token)).json()["items"] == []


async def test_settings_by_keyboard_alone(site: Site, page: Page) -> None:
    await site.user("kbuser")
    await login(page, "kbuser", STRONG)
    await page.goto(f"{site.url}/#/settings")
    sections = page.get_by_role("navigation", name="Settings sections")
    await sections.get_by_role("link", name="Account").focus()
    await page.keyboard.press("Tab")
    await expect(sections.get_by_role("link", name="API keys")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2, name="API keys")).to_be_visible()
    await page.get_by_label("Name").focus()
    await page.keyboard.type("keyboard key")
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Your new API key")
    await expect(dialog.get_by_label("API key “keyboard key”")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    revoke = page.get_by_role("button", name="Revoke keyboard key")
    await revoke.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog").get_by_role("button", name="Cancel")).to_be_focused()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(revoke).to_have_count(0)


async def test_every_section_fits_a_desktop_and_a_phone(site: Site, page: Page) -> None:
    await site.user("lookuser")
    token = await site.api.token("lookuser", STRONG)
    line, _ = public_key("lookuser@workstation")
    await site.api.call("POST", "/users/me/ssh-keys", token, json={"public_key": line})
    await site.api.call("POST", "/users/me/api-keys", token, json={"name": "deploy pipeline"})
    await site.api.call(
        "POST",
        "/terminal/known-hosts",
        token,
        json={"host": "db-primary.internal.example.org", "port": 22, "public_key": line},
    )
    await login(page, "lookuser", STRONG)
    for size, suffix in ((None, ""), (PHONE, "-phone")):
        if size:
            await page.set_viewport_size(size)
        for section in ("Account", "API keys", "SSH keys", "Known hosts"):
            await settings(page, section)
            await expect(page.locator(".panel-body")).not_to_contain_text("could not be shown")
            await accessible(page)
            await fits(page, pane=True)
            if section == "API keys":
                await expect(
                    page.get_by_role("row").filter(has_text="deploy pipeline")
                ).to_be_visible()
                await shot(page, f"settings{suffix}")


async def test_a_new_api_key_is_shown_even_when_the_list_fails(site: Site, page: Page) -> None:
    await site.user("keyuser2")
    await login(page, "keyuser2", STRONG)
    await settings(page, "API keys")

    async def refused(route: Route) -> None:
        if route.request.method != "GET":
            await route.continue_()
            return
        body = '{"error": "too_many_requests", "message": "too many requests", "details": null}'
        await route.fulfill(status=429, content_type="application/json", body=body)

    await page.route("**/api/v1/users/me/api-keys", refused)
    await page.get_by_label("Name").fill("listless")
    await page.get_by_role("button", name="Create key").click()
    dialog = page.get_by_role("dialog", name="Your new API key")
    key = await dialog.get_by_label("API key “listless”").input_value()
    assert re.fullmatch(r"aiss_[0-9a-f]{12}_\S+", key), key
    await dialog.get_by_role("button", name="I have copied it").click()
    await expect(page.get_by_role("form", name="Create an API key")).to_contain_text(
        "Too many requests"
    )
