"""The web UI: files built from web/ by `npm run build`, served at `/`; the API docs at `/docs`."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse
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
    if not (built / "index.html").is_file():
        return [Route(path, _not_built, methods=["GET"]) for path in ("/", "/docs", "/docs/")]
    docs = built / "docs.html"

    async def api_docs(request: object) -> FileResponse:
        return FileResponse(docs, media_type="text/html")

    # Both spellings: StaticFiles would answer /docs with a 404, having no docs/ folder.
    page = api_docs if docs.is_file() else _not_built
    return [
        Route("/docs", page, methods=["GET"]),
        Route("/docs/", page, methods=["GET"]),
        Mount("/", StaticFiles(directory=built, html=True), name="web"),
    ]
