"""Sealing keys: random keys through HKDF, passphrases stretched, old values migrated."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from aiss.app import create_app
from aiss.auth.sealing import Sealer, derive, random_key_bytes
from aiss.storage.models import LlmProvider, SshCredential

from ...servers import serving
from ..routes.conftest import Api, app_settings

if TYPE_CHECKING:
    from pathlib import Path

PASSPHRASE = "tulips in the rain"


def legacy(key: str) -> Fernet:
    """How earlier versions made the sealing key: one SHA-256 of the setting."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(48),
        secrets.token_hex(32),
        Fernet.generate_key().decode(),
    ],
)
def test_generated_keys_are_random_keys(key: str) -> None:
    assert random_key_bytes(key) is not None
    assert derive(key) != base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())


WORDS = st.lists(st.sampled_from(["correct", "horse", "battery", "staple", "tulip"]), max_size=12)


@given(WORDS, st.sampled_from(["", " ", "-", "_"]))
def test_passphrases_are_stretched(words: list[str], sep: str) -> None:
    assert random_key_bytes(sep.join(words)) is None


@given(st.text(max_size=31))
def test_anything_shorter_than_32_bytes_is_a_passphrase(text: str) -> None:
    assert random_key_bytes(text) is None


def test_a_passphrase_costs_a_guesser_real_work() -> None:
    started = time.perf_counter()
    derive(PASSPHRASE)
    assert time.perf_counter() - started > 0.02  # scrypt, not one hash


def test_old_values_open_and_rotate_to_the_derived_key() -> None:
    sealer = Sealer(PASSPHRASE)
    old = legacy(PASSPHRASE).encrypt(b"sk-from-last-year").decode()
    assert not sealer.current(old) and sealer.open(old) == "sk-from-last-year"
    new = sealer.rotate(old)
    assert sealer.current(new) and sealer.open(new) == "sk-from-last-year"
    with pytest.raises(ValueError, match="another key"):
        Sealer("another passphrase").open(new)
    fresh = sealer.seal("x")
    assert sealer.current(fresh)


@pytest.mark.anyio
async def test_stored_secrets_sealed_the_old_way_are_migrated_at_start(tmp_path: Path) -> None:
    settings = app_settings(tmp_path, AISS_ENCRYPTION_KEY=PASSPHRASE)
    old = legacy(PASSPHRASE)
    async with serving(create_app(settings)) as http:
        api = Api(http)
        created = await api.call(
            "POST",
            "/llm/providers",
            await api.token(),
            json={"name": "old", "type": "openai", "model": "gpt-4o-mini", "api_key": "sk-x"},
        )
        assert created.status_code == 201, created.text
        provider = await LlmProvider.find_one(LlmProvider.name == "old")
        assert provider is not None
        provider.api_key_sealed = old.encrypt(b"sk-sealed-long-ago-4321").decode()
        await provider.save()
        credential = SshCredential(
            owner_id="a" * 24,
            host="db.example.org",
            port=22,
            username="ops",
            password_sealed=old.encrypt(b"hunter2-old").decode(),
        )
        await credential.insert()
    async with serving(create_app(settings)):
        sealer = Sealer(PASSPHRASE)
        provider = await LlmProvider.find_one(LlmProvider.name == "old")
        saved = await SshCredential.find_one(SshCredential.host == "db.example.org")
        assert provider is not None and saved is not None
        assert sealer.current(provider.api_key_sealed)
        assert sealer.open(provider.api_key_sealed) == "sk-sealed-long-ago-4321"
        assert sealer.current(saved.password_sealed)
        assert sealer.open(saved.password_sealed) == "hunter2-old"
        assert saved.private_key_sealed == ""  # empty fields stay empty
