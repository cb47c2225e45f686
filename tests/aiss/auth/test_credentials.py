from __future__ import annotations

import asyncssh
import pytest

from aiss.auth.credentials import digest, new_api_key, parse_api_key, parse_ssh_key
from aiss.errors import ValidationFailed


def test_api_keys_are_random_and_recognisable() -> None:
    first, second = new_api_key(), new_api_key()
    assert first.secret != second.secret
    assert parse_api_key(first.secret) == first.lookup
    assert first.digest == digest(first.secret)
    assert first.secret not in first.digest
    for other in ("eyJhbGciOi.x.y", "aiss_short_x", "aiss_0123456789ab", ""):
        assert parse_api_key(other) is None


@pytest.mark.parametrize("algorithm", ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"])
def test_openssh_keys_are_validated_and_fingerprinted(algorithm: str) -> None:
    key = asyncssh.generate_private_key(algorithm, comment="me@laptop")
    line = key.export_public_key("openssh").decode()
    parsed = parse_ssh_key(line)
    assert parsed.fingerprint == key.get_fingerprint("sha256")
    assert parsed.fingerprint.startswith("SHA256:")
    assert parsed.comment == "me@laptop"
    assert parsed.openssh.split() == line.split()[:2]


@pytest.mark.parametrize(
    "text", ["", "ssh-ed25519 AAAA", "not a key", "ssh-ed25519 AAAAC3Nza\nssh-rsa AAAA"]
)
def test_anything_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_ssh_key(text)
