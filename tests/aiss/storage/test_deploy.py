"""The manual-init files under deploy/ stay in step with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from aiss.config import Settings
from aiss.storage.models import DOCUMENT_MODELS
from aiss.storage.vectors import KEYWORD_FIELDS, collection_name

if TYPE_CHECKING:
    from pymongo import IndexModel

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _declared(index: IndexModel) -> list[dict[str, object]]:
    document = index.document
    options = {"name": document["name"]} | ({"unique": True} if document.get("unique") else {})
    return [dict(document["key"]), options]


def test_mongodb_init_creates_the_collections_and_indexes_of_the_models() -> None:
    script = (DEPLOY / "mongodb" / "init.js").read_text()
    declared = {
        name: json.loads(indexes)
        for name, indexes in re.findall(r'^ensure\("(\w+)", (\[.*?\])\);', script, re.S | re.M)
    }
    expected = {
        model.Settings.name: [_declared(index) for index in model.Settings.indexes]
        for model in DOCUMENT_MODELS
    }
    assert declared == expected


def test_qdrant_collections_match_the_default_model_and_filter_fields() -> None:
    spec = json.loads((DEPLOY / "qdrant" / "collections.json").read_text())
    defaults = Settings()
    names = [
        collection_name("shared", defaults.general_embedding_model, 384),
        collection_name("personal", defaults.personal_embedding_model, 384),
    ]
    assert [c["name"] for c in spec["collections"]] == names
    for collection in spec["collections"]:
        assert collection["create"] == {"vectors": {"size": 384, "distance": "Cosine"}}
        assert [i["field_name"] for i in collection["payload_indexes"]] == list(KEYWORD_FIELDS)
    aliases = {
        a["create_alias"]["alias_name"]: a["create_alias"]["collection_name"]
        for a in spec["aliases"]["actions"]
    }
    assert aliases == {"shared": names[0], "personal": names[1]}
