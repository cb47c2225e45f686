"""Commands as knowledge: a finished command, redacted, becomes its owner's document."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import anyio.to_thread

from ..documents.library import Upload
from .redact import redact

if TYPE_CHECKING:
    from terminal.commands import Command

    from ..documents.library import Library
    from ..users.views import Principal


async def learn(
    library: Library,
    session_id: str,
    host: str,
    command: Command,
    owner: Principal,
    began: float,
) -> None:
    """A personal document `$ command` citing the session's recording at its time."""
    code = "unknown" if command.exit_code is None else str(command.exit_code)
    # Regular expressions over a whole command's output: off the event loop.
    text = await anyio.to_thread.run_sync(
        redact,
        f"$ {command.command}\n\nHost: {host}\nDirectory: {command.cwd or '?'}\n"
        f"Exit code: {code}\n\nOutput:\n{command.output}\n",
    )
    at = max(0.0, command.started_at - began)
    meta = Upload(
        title=redact(f"$ {command.command}")[:200],
        description=f"a command run in terminal session {session_id}",
        tags=["terminal"],
        scope="personal",
        area_id="",
        link=f"/api/v1/terminal/sessions/{session_id}/recording?t={at:.1f}",
    )
    await library.upload(owner, meta, io.BytesIO(text.encode()), "command.txt")
