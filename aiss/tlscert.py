"""`aiss tls-cert DIR`: a self-signed certificate for a first start behind nginx.

Replace it with a real one (tls.crt, tls.key) before users arrive; an
existing pair is never overwritten.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

DAYS = 397  # what browsers accept for a server certificate


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cert = commands.add_parser("tls-cert", help="write a self-signed tls.crt and tls.key")
    cert.add_argument("directory", help="where to write them (kept if both exist)")
    cert.add_argument("--host", action="append", default=[], help="a name or address (repeat)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    written = write(Path(args.directory), args.host or ["localhost"])
    print("wrote a self-signed certificate" if written else "kept the existing certificate")
    return 0


def write(directory: Path, hosts: list[str]) -> bool:
    crt, key_file = directory / "tls.crt", directory / "tls.key"
    if crt.is_file() and key_file.is_file():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True
