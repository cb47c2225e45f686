"""Feedback on answers: the asker rates, administrators read counts per area and the downs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from .test_documents import new_area, ready, upload, user

if TYPE_CHECKING:
    from .conftest import Api

pytestmark = pytest.mark.anyio
NOTE = b"The staging database is backed up every night at 02:00 by the pgbackrest timer."
SHARED = b"Area handbook: the printer on floor 3 is called Gutenberg and takes A3 paper."


async def asked(api: Api, token: str, question: str, **options: Any) -> str:
    response = await api.call("POST", "/rag/query", token, json={"question": question, **options})
    assert response.status_code == 200, response.text
    return str(response.json()["query_id"])


async def rate(api: Api, token: str, query_id: str, **body: Any) -> Any:
    return await api.call("POST", f"/rag/history/{query_id}/feedback", token, json=body)


def area_counts(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {a["area_id"]: (a["up"], a["down"]) for a in report["areas"]}


async def test_feedback_is_stored_replaced_counted_per_area_and_listed(api: Api) -> None:
    admin = await api.token()
    area = await new_area(api, admin)
    shared = await upload(api, admin, SHARED, "handbook.txt", scope="shared", area_id=area)
    await ready(api, admin, shared.json()["id"])
    me, token = await user(api, admin, {area: (True, False)})
    personal = (await upload(api, token, NOTE, "note.txt")).json()["id"]
    await ready(api, token, personal)
    before = (await api.call("GET", "/admin/feedback", admin)).json()

    printer = await asked(api, token, "What is the printer on floor 3 called?", area_ids=[area])
    backup = await asked(
        api, token, "When is the staging database backed up?", include_personal=True
    )

    first = await rate(api, token, printer, rating="up")
    assert first.status_code == 200, first.text
    assert first.json()["rating"] == "up" and first.json()["comment"] == ""
    replaced = await rate(api, token, printer, rating="down", comment="Wrong floor.")
    assert replaced.json()["rating"] == "down" and replaced.json()["comment"] == "Wrong floor."
    assert (await rate(api, token, backup, rating="up")).status_code == 200

    stored = (await api.call("GET", f"/rag/history/{printer}", token)).json()
    assert (
        stored["feedback"]["rating"] == "down" and stored["feedback"]["comment"] == "Wrong floor."
    )

    report = (await api.call("GET", "/admin/feedback", admin)).json()
    counts, earlier = area_counts(report), area_counts(before)
    assert counts[area] == (0, 1)  # replaced, not added
    assert report["down"] == before["down"] + 1 and report["up"] == before["up"] + 1
    up, down = earlier.get("personal", (0, 0))
    assert counts["personal"][0] >= up + 1 and counts["personal"][1] == down
    named = {a["area_id"]: a["name"] for a in report["areas"]}
    assert named[area].startswith("area ") and named["personal"] == "Personal documents"

    latest = report["down_voted"]["items"][0]
    assert latest["query_id"] == printer and latest["user_id"] == me["id"]
    assert latest["question"] == "What is the printer on floor 3 called?"
    assert latest["comment"] == "Wrong floor." and "Gutenberg" in latest["answer_excerpt"]
    assert latest["areas"] == [area]
    assert backup not in {i["query_id"] for i in report["down_voted"]["items"]}
    paged = (await api.call("GET", "/admin/feedback?limit=1&offset=0", admin)).json()
    assert len(paged["down_voted"]["items"]) == 1 and paged["down_voted"]["limit"] == 1


async def test_only_the_asker_rates_and_only_administrators_read(api: Api) -> None:
    admin = await api.token()
    _, token = await user(api, admin)
    _, stranger = await user(api, admin)
    query_id = await asked(api, token, "Is anything here?")
    for who in (stranger, admin):
        refused = await rate(api, who, query_id, rating="down")
        assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    forbidden = await api.call("GET", "/admin/feedback", token)
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "forbidden"
    assert (await api.call("GET", "/admin/feedback")).status_code == 401
    assert (await api.call("GET", f"/rag/history/{query_id}", token)).json()["feedback"] is None


@pytest.mark.parametrize(
    ("target", "body", "status"),
    [
        ("{id}", {"rating": "sideways"}, 422),
        ("{id}", {"rating": "up", "comment": "c" * 2001}, 422),
        ("{id}", {"rating": "up", "comment": "\ud800"}, 422),
        ("{id}", {"comment": "no rating"}, 422),
        ("{id}", {"rating": None}, 422),
        ("{id}", [], 422),
        ("000000000000000000000000", {"rating": "up"}, 404),
        ("not-an-id", {"rating": "up"}, 404),
        ("%24where", {"rating": "up"}, 404),
    ],
)
async def test_hostile_feedback_is_4xx_json(api: Api, target: str, body: Any, status: int) -> None:
    _, token = await user(api, await api.token())
    query_id = await asked(api, token, "Anything?")
    response = await api.http.post(
        f"/api/v1/rag/history/{target.format(id=query_id)}/feedback",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] in ("validation_failed", "not_found")
