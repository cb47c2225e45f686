from __future__ import annotations

import ssl
import stat
from typing import TYPE_CHECKING

from cryptography import x509

from aiss.tlscert import write

if TYPE_CHECKING:
    from pathlib import Path


def test_a_self_signed_pair_is_written_once(tmp_path: Path) -> None:
    assert write(tmp_path / "certs", ["aiss.example.org", "10.0.0.5"])
    crt, key = tmp_path / "certs" / "tls.crt", tmp_path / "certs" / "tls.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["aiss.example.org"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    # The pair is usable as a server certificate.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    before = crt.read_bytes()
    assert not write(tmp_path / "certs", ["other"])  # an existing pair is kept
    assert crt.read_bytes() == before
