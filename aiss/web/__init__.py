"""The web UI: files built from web/ by `npm run build`, served at `/`."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

BUILT = Path(__file__).parent / "static"
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>AISS</title>
<p>The web UI is not built. <code>make serve</code> builds it (it needs Node.js and npm);
the API is at <a href="/openapi.json">/openapi.json</a>.</p>"""


async def _not_built(request: object) -> HTMLResponse:
    return HTMLResponse(NOT_BUILT, status_code=503)


def routes(built: Path = BUILT) -> list[BaseRoute]:
    """The UI's files, or one page saying how to build them; after every API route."""
    if (built / "index.html").is_file():
        return [Mount("/", StaticFiles(directory=built, html=True), name="web")]
    return [Route("/", _not_built, methods=["GET"])]
