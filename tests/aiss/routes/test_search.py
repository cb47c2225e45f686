"""Search over HTTP: modes, exact identifiers, and shaped results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from aiss.documents.retrieval import DENSE_FLOOR

from .conftest import STRONG
from .test_documents import ready, upload

if TYPE_CHECKING:
    from .conftest import Api

pytestmark = pytest.mark.anyio

# Documents about owners and numbers, of which only one names the flag.
PAGES = {
    "tar.md": b"# tar\n\n## Restoring\n\nWhen you restore a backup on another machine, pass "
    b"--numeric-owner so that files keep the numbers stored in the archive, not names "
    b"looked up on this machine. The rest of this page is about compression: gzip, bzip2, "
    b"xz and zstd, and how fast each one is.\n",
    "chown.md": b"# chown\n\nchown changes the owner and the group of files. The owner can "
    b"be given as a user name or as a numeric user ID; the group as a name or a numeric "
    b"group ID.\n",
    "id.md": b"# id\n\nid prints the numeric user and group IDs of the current user, and of "
    b"any user named, with the names of the groups they belong to.\n",
    "stat.md": b"# stat\n\nstat shows a file's owner as a number and a name, its permissions, "
    b"its size and when it was last changed, read and modified.\n",
    "rustc.md": b"# Compiler errors\n\n## Mismatched types\n\nE0308 means a value of one type "
    b"was used where another type was expected, for example a string where a number goes.\n",
    "types.md": b"# Types\n\nEvery value has a type: numbers, strings and booleans. A function "
    b"declares the types it expects and the compiler checks every call against them.\n",
}


async def search(api: Api, token: str, query: str, **options: Any) -> list[dict[str, Any]]:
    response = await api.call("POST", "/search", token, json={"query": query, **options})
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()["hits"]
    return hits


async def library(api: Api, token: str, pages: dict[str, bytes] = PAGES) -> dict[str, str]:
    titles = {}
    for name, text in pages.items():
        response = await upload(api, token, text, name)
        assert response.status_code in (200, 201, 202), response.text
        document = await ready(api, token, response.json()["id"])
        assert document["status"] == "ready", document
        titles[document["id"]] = name
    return titles


@pytest.mark.parametrize(("query", "page"), [("--numeric-owner", "tar.md"), ("E0308", "rustc.md")])
async def test_a_document_found_only_by_an_exact_identifier_comes_first_in_hybrid_mode(
    api: Api, query: str, page: str
) -> None:
    token = await api.token()
    titles = await library(api, token)
    for mode in ("hybrid", "sparse", None):
        options = {"mode": mode} if mode else {}
        hits = await search(api, token, query, limit=3, **options)
        assert titles[hits[0]["document_id"]] == page, (mode, hits)
    if query == "--numeric-owner":
        # The pages about owners and numeric ids are nearer in meaning.
        dense = await search(api, token, query, limit=3, mode="dense")
        assert titles[dense[0]["document_id"]] != page


async def test_modes_are_checked(api: Api) -> None:
    token = await api.token()
    response = await api.call("POST", "/search", token, json={"query": "x", "mode": "magic"})
    assert response.status_code == 422
    assert "mode" in response.text


def section(n: int) -> bytes:
    sentence = f"Backup rotation keeps {n} copies on tape and moves the oldest off site. "
    return b"## Part %d\n\n" % n + sentence.encode() * 12 + b"\n\n"


async def test_results_are_shaped_as_asked(api: Api) -> None:
    token = await api.token()
    manual = b"# Backups\n\n" + b"".join(section(n) for n in range(4))
    note = b"Backup rotation: the oldest tape moves off site, keeping the newest copies.\n"
    titles = await library(
        api,
        token,
        # The note twice, as two documents (not the same bytes): one passage is enough.
        {"manual.md": manual, "note.txt": note, "copy.txt": note + b"\n"},
    )
    hits = await search(api, token, "backup rotation tapes off site", limit=10)
    # (The server is the module's: other tests' documents may show too.)
    names = [titles.get(h["document_id"]) for h in hits]
    assert names.count("manual.md") == 4
    assert {"note.txt", "copy.txt"} & set(names) and not {"note.txt", "copy.txt"} <= set(names)
    (repeated,) = [h for h in hits if titles.get(h["document_id"]) in ("note.txt", "copy.txt")]
    assert [titles[d["document_id"]] for d in repeated["also_in"]] == (
        ["copy.txt"] if titles[repeated["document_id"]] == "note.txt" else ["note.txt"]
    )
    capped = await search(api, token, "backup rotation tapes off site", limit=10, per_document=2)
    assert [titles.get(h["document_id"]) for h in capped].count("manual.md") == 2
    merged = await search(api, token, "backup rotation", limit=10, merge_adjacent=True)
    (passage,) = [h for h in merged if titles.get(h["document_id"]) == "manual.md"]
    assert passage["chunks"] == [0, 1, 2, 3] and passage["chunk_index"] == 0
    assert all(f"keeps {n} copies" in passage["text"] for n in range(4))
    response = await api.call("POST", "/search", token, json={"query": "x", "per_document": 0})
    assert response.status_code == 422


async def test_a_question_without_a_keyword_finds_only_what_is_near_in_meaning(api: Api) -> None:
    token = await api.token()
    await library(api, token)
    # Single letters are no keywords: hybrid search answers by its dense side alone.
    dense = await search(api, token, "q z k w", limit=50, mode="dense")
    assert min(h["score"] for h in dense) < DENSE_FLOOR
    hybrid = await search(api, token, "q z k w", limit=50)
    near = [(h["document_id"], h["chunk_index"]) for h in dense if h["score"] >= DENSE_FLOOR]
    assert [(h["document_id"], h["chunk_index"]) for h in hybrid] == near


async def test_personal_among_the_areas_names_ones_own_documents(api: Api) -> None:
    admin = await api.token()
    user = await api.create_user(admin, "chooser")
    other = await api.create_user(admin, "bystander")
    area = (await api.call("POST", "/areas", admin, json={"name": "Kilns"})).json()["id"]
    for who in (user, other):
        granted = await api.call(
            "PUT",
            f"/users/{who['id']}/permissions",
            admin,
            json={"area_id": area, "read": True, "write": False},
        )
        assert granted.status_code == 200, granted.text
    token = await api.token("chooser", STRONG)
    theirs = await api.token("bystander", STRONG)
    kiln = "The kiln glaze fires at 1240 degrees"
    for name, owner, fields in [
        ("mine.md", token, {}),
        ("theirs.md", theirs, {}),
        ("area.md", admin, {"scope": "shared", "area_id": area}),
    ]:
        response = await upload(
            api, owner, f"# {name}\n\n{kiln}, says {name}.\n".encode(), name, **fields
        )
        assert (await ready(api, owner, response.json()["id"]))["status"] == "ready"

    async def found(area_ids: list[str]) -> set[str]:
        return {h["title"] for h in await search(api, token, kiln, area_ids=area_ids, mode="dense")}

    assert await found([]) == {"mine.md", "area.md"}
    assert await found([area]) == {"area.md"}  # only the areas named
    assert await found(["personal"]) == {"mine.md"}
    assert await found(["personal", area]) == {"mine.md", "area.md"}
    # A question asked over the same choice cites the same documents.
    asked = await api.call(
        "POST", "/rag/query", token, json={"question": kiln, "area_ids": ["personal"]}
    )
    assert {s["title"] for s in asked.json()["sources"]} == {"mine.md"}
