"""SSH targets of terminal sessions: confirmed host keys, credentials, the connection."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import anyio
from beanie import PydanticObjectId

from terminal.ssh import (
    Credentials,
    HostKey,
    HostKeyProblem,
    SshFailed,
    SshProgram,
    host_key,
    verify,
)

from ..errors import BadRequest, HostKeyChanged, HostKeyUnknown, NotFound, ValidationFailed
from ..storage.models import KnownHost, SshCredential

if TYPE_CHECKING:
    from terminal.session import Program

    from ..auth.sealing import Sealer
    from ..storage.stores import Stores
    from ..users.views import Principal
    from .manager import SshTarget

logger = logging.getLogger("aiss.terminal")


class SshTargets:
    def __init__(self, stores: Stores, sealer: Sealer, connect_timeout: float) -> None:
        self.stores = stores
        self.sealer = sealer
        self.connect_timeout = connect_timeout  # the host key, the login and the shell

    async def prepare(
        self, principal: Principal, target: SshTarget, cols: int, rows: int, term: str
    ) -> tuple[Any, dict[str, Any]]:
        credentials = target.credentials
        if credentials.password is None and credentials.private_key is None:
            credentials = await self._saved(principal, target)
        known = await self._known(principal, target.host, target.port)
        try:
            with anyio.fail_after(self.connect_timeout):
                seen = await host_key(target.host, target.port)
                verify(seen, known)
                # Connected and authenticated now, so that a refusal is this request's answer.
                program = await SshProgram.open(seen, credentials, cols=cols, rows=rows, term=term)
        except HostKeyProblem as problem:
            raise _host_key_error(problem) from None
        except SshFailed as exc:
            raise BadRequest(str(exc)) from None
        except TimeoutError:
            raise BadRequest(
                f"{target.host}:{target.port} gave no shell within {self.connect_timeout:g} s"
                " (AISS_TERMINAL_CONNECT_TIMEOUT)"
            ) from None
        if target.save_credentials:
            await self._save(principal, target)

        async def opener() -> Program:
            return program

        described = {
            "type": "ssh",
            "host": target.host,
            "port": target.port,
            "username": credentials.username,
        }
        return opener, described

    # -- the user's confirmed host keys ---------------------------------------------------

    async def known_hosts(self, principal: Principal) -> list[KnownHost]:
        with self.stores.mongo.breaker.guard():
            return await KnownHost.find(KnownHost.owner_id == principal.user_id).to_list()

    async def trust(self, principal: Principal, host: str, port: int, public_key: str) -> KnownHost:
        """Store a key the user confirmed; it replaces one of the same type for the host."""
        key_type, blob = public_key.split()[:2]
        key = HostKey(host, port, key_type, f"{key_type} {blob}")
        try:
            fingerprint = key.fingerprint_sha256
        except ValueError:
            raise ValidationFailed(
                "public_key: not a valid key", [{"loc": ["public_key"]}]
            ) from None
        with self.stores.mongo.breaker.guard():
            old = await KnownHost.find_one(
                KnownHost.owner_id == principal.user_id,
                KnownHost.host == host,
                KnownHost.port == port,
                KnownHost.key_type == key_type,
            )
            if old is not None:
                await old.delete()
            known = KnownHost(
                owner_id=principal.user_id,
                host=host,
                port=port,
                key_type=key_type,
                public_key=key.public_key,
                fingerprint_sha256=fingerprint,
            )
            await known.insert()
        return known

    async def forget(self, principal: Principal, key_id: str) -> None:
        """Stop trusting one of the user's keys; NotFound for any other."""
        found = None
        if PydanticObjectId.is_valid(key_id):
            with self.stores.mongo.breaker.guard():
                found = await KnownHost.get(PydanticObjectId(key_id))
        if found is None or found.owner_id != principal.user_id:
            raise NotFound("no such known host")
        with self.stores.mongo.breaker.guard():
            await found.delete()

    async def _known(self, principal: Principal, host: str, port: int) -> list[HostKey]:
        with self.stores.mongo.breaker.guard():
            found = await KnownHost.find(
                KnownHost.owner_id == principal.user_id,
                KnownHost.host == host,
                KnownHost.port == port,
            ).to_list()
        return [HostKey(k.host, k.port, k.key_type, k.public_key) for k in found]

    async def _saved(self, principal: Principal, target: SshTarget) -> Credentials:
        with self.stores.mongo.breaker.guard():
            saved = await SshCredential.find_one(
                SshCredential.owner_id == principal.user_id,
                SshCredential.host == target.host,
                SshCredential.port == target.port,
                SshCredential.username == target.credentials.username,
            )
        if saved is None:
            raise ValidationFailed(
                "give a password or a private key (none is saved for this host and user)",
                [{"loc": ["target", "password"]}],
            )
        return Credentials(
            saved.username,
            self.sealer.open(saved.password_sealed) if saved.password_sealed else None,
            self.sealer.open(saved.private_key_sealed) if saved.private_key_sealed else None,
            self.sealer.open(saved.passphrase_sealed) if saved.passphrase_sealed else None,
        )

    async def _save(self, principal: Principal, target: SshTarget) -> None:
        c = target.credentials
        fields = {
            "password_sealed": self.sealer.seal(c.password) if c.password else "",
            "private_key_sealed": self.sealer.seal(c.private_key) if c.private_key else "",
            "passphrase_sealed": self.sealer.seal(c.passphrase) if c.passphrase else "",
        }
        key = {
            "owner_id": principal.user_id,
            "host": target.host,
            "port": target.port,
            "username": c.username,
        }
        with self.stores.mongo.breaker.guard():
            await self.stores.mongo.collection("ssh_credentials").update_one(
                key, {"$set": fields, "$setOnInsert": {"created_at": time.time()}}, upsert=True
            )


def _host_key_error(problem: HostKeyProblem) -> HostKeyUnknown:
    key = problem.key
    fields = {
        "host": key.host,
        "port": key.port,
        "key_type": key.key_type,
        "fingerprint_sha256": key.fingerprint_sha256,
        "public_key": key.public_key,
    }
    if problem.changed:
        logger.warning("host key changed", extra=fields)
        return HostKeyChanged(
            f"the host key of {key.host}:{key.port} changed; it may be an attack", fields
        )
    return HostKeyUnknown(f"the host key of {key.host}:{key.port} is not known; confirm it", fields)
