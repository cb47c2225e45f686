"""One conformance suite, run on Qdrant's engine in-process and on qdrant-client's local mode."""

from __future__ import annotations

import functools
import math
import os
import signal
import time
import uuid
from typing import TYPE_CHECKING

import anyio
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from qdrant_client import AsyncQdrantClient, QdrantClient

from actors import Supervisor, running
from aiss.errors import ServiceUnavailable
from aiss.storage.vectors import (
    CollectionMismatch,
    Fusion,
    Keywords,
    Point,
    Query,
    VectorFilter,
    VectorStore,
    collection_name,
)
from aiss.storage.vectors.edge import DataDirInUse, EdgeShards, EdgeVectors
from aiss.storage.vectors.qdrant import QdrantVectors
from aiss.storage.vectors.service import VectorService
from aiss.workers.process import Worker

from ..workers.procs import wait_gone, workers_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.anyio
DIM = 8


def unit(i: int) -> list[float]:
    """Distinct directions, so that the nearest point to unit(i) is point i."""
    vector = [math.sin((i + 1) * (k + 1) * 0.7) + 0.1 * k for k in range(DIM)]
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def point(i: int, **payload: str) -> Point:
    return Point(str(uuid.UUID(int=i + 1)), unit(i), payload)


@pytest.fixture(params=["edge-process", "edge", "qdrant-local", "qdrant-async-local"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    vectors: EdgeVectors | QdrantVectors
    if request.param == "edge-process":
        # As the server runs it: the engine in its worker process.
        path = tmp_path / "vectors"
        engine = Worker("engine", functools.partial(EdgeShards.opened, path))
        async with running(Supervisor("root", [engine])):
            yield EdgeVectors(path, engine)
        return
    if request.param == "edge":
        vectors = EdgeVectors(tmp_path / "vectors")
        await vectors.open()
    elif request.param == "qdrant-local":
        # The sync local client, run in worker threads.
        vectors = QdrantVectors(QdrantClient(location=":memory:"), payload_indexes=False)
    else:
        # The async client, as used against a server; in local mode it blocks the loop.
        vectors = QdrantVectors(AsyncQdrantClient(location=":memory:"), payload_indexes=False)
    yield vectors
    await vectors.close()


async def seeded(store: VectorStore) -> str:
    await store.create_collection("c", DIM)
    await store.upsert(
        "c",
        [
            point(0, owner_id="u1", scope="personal", document_id="d1"),
            point(1, owner_id="u1", scope="personal", document_id="d2"),
            point(2, owner_id="u2", scope="personal", document_id="d3"),
            point(3, area_id="a1", scope="area", document_id="d4"),
            point(4, area_id="a2", scope="area", document_id="d5"),
        ],
    )
    return "c"


async def test_nearest_point_comes_first_with_its_payload(store: VectorStore) -> None:
    await seeded(store)
    hits = await store.search("c", unit(2), limit=3)
    assert hits[0].id == str(uuid.UUID(int=3))
    assert hits[0].payload == {"owner_id": "u2", "scope": "personal", "document_id": "d3"}
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_filters_keep_only_what_a_reader_may_see(store: VectorStore) -> None:
    await seeded(store)
    readable = VectorFilter(any=({"owner_id": "u1", "scope": "personal"}, {"area_id": ("a2",)}))
    hits = await store.search("c", unit(2), limit=10, filter=readable)
    assert {h.payload["document_id"] for h in hits} == {"d1", "d2", "d5"}
    only = VectorFilter(all={"document_id": ("d4", "d5"), "scope": "area"})
    assert await store.count("c", only) == 2


async def test_score_threshold_drops_weak_matches(store: VectorStore) -> None:
    await seeded(store)
    hits = await store.search("c", unit(0), limit=10, score_threshold=0.999)
    assert [h.id for h in hits] == [str(uuid.UUID(int=1))]


async def test_upsert_replaces_and_delete_by_filter_removes(store: VectorStore) -> None:
    await seeded(store)
    await store.upsert("c", [point(0, owner_id="u9", document_id="d1")])
    assert await store.count("c") == 5
    assert await store.count("c", VectorFilter(all={"owner_id": "u9"})) == 1
    await store.delete("c", VectorFilter(all={"document_id": ("d1", "d2")}))
    assert await store.count("c") == 3
    assert await store.count("c", VectorFilter(all={"owner_id": "u1"})) == 0


async def test_collections_are_created_once_and_checked(store: VectorStore) -> None:
    name = collection_name("shared", "sentence-transformers/all-MiniLM-L6-v2", 384)
    assert name == "chunks__shared__sentence-transformers-all-minilm-l6-v2__384"
    await store.create_collection(name, 384)
    await store.create_collection(name, 384)
    with pytest.raises(CollectionMismatch):
        await store.create_collection(name, 768)
    assert await store.collections() == [name]
    await store.delete_collection(name)
    assert await store.collections() == []


async def test_an_alias_switches_to_a_new_collection(store: VectorStore) -> None:
    await store.create_collection("old", DIM)
    await store.create_collection("new", DIM)
    await store.upsert("old", [point(0, scope="personal")])
    await store.upsert("new", [point(1, scope="personal"), point(2, scope="personal")])
    await store.point_alias("general", "old")
    assert await store.resolve("general") == "old"
    assert await store.count("general") == 1
    await store.point_alias("general", "new")
    assert await store.resolve("general") == "new"
    assert await store.count("general") == 2
    assert (await store.search("general", unit(2), limit=1))[0].id == str(uuid.UUID(int=3))
    with pytest.raises(KeyError):
        await store.point_alias("general", "missing")


def test_filters_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="not a filterable field"):
        VectorFilter(all={"password": "x"})
    with pytest.raises(ValueError, match="matches nothing"):
        VectorFilter(any=({"area_id": ()},))


async def test_edge_data_survives_a_reopen(tmp_path: Path) -> None:
    first = EdgeVectors(tmp_path)
    await first.open()
    await seeded(first)
    await first.point_alias("general", "c")
    await first.close()
    again = EdgeVectors(tmp_path)
    await again.open()
    assert await again.count("general") == 5
    await again.close()


async def test_edge_indexes_are_built_past_a_threshold_and_keep_answers(tmp_path: Path) -> None:
    # Big enough (384 dimensions, past qdrant's 10 MB indexing threshold) to be indexed.
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((8000, 384)).astype(np.float32)
    store = EdgeVectors(tmp_path)
    await store.open()
    await store.create_collection("c", 384)
    for start in range(0, len(vectors), 1000):
        await store.upsert(
            "c",
            [
                Point(str(uuid.UUID(int=i + 1)), vectors[i].tolist(), {"owner_id": f"u{i % 2}"})
                for i in range(start, start + 1000)
            ],
        )
    owner = VectorFilter(all={"owner_id": "u1"})
    exact = [h.id for h in await store.search("c", vectors[7].tolist(), limit=1, filter=owner)]
    assert await store.build_indexes(threshold=8001) == {}
    assert await store.build_indexes(threshold=8000) == {"c": 8000}
    assert await store.build_indexes(threshold=1) == {}  # nothing left to index
    indexed = [h.id for h in await store.search("c", vectors[7].tolist(), limit=1, filter=owner)]
    assert indexed == exact == [str(uuid.UUID(int=8))]
    await store.upsert("c", [Point(str(uuid.UUID(int=9000)), vectors[0].tolist(), {})])
    assert await store.count("c") == 8001  # new points land beside the index
    await store.close()


async def test_one_process_owns_an_edge_data_dir(tmp_path: Path) -> None:
    owner = EdgeVectors(tmp_path)
    await owner.open()
    with pytest.raises(DataDirInUse):
        await EdgeVectors(tmp_path).open()
    await owner.close()
    again = EdgeVectors(tmp_path)
    await again.open()
    await again.close()


keyword = st.sampled_from(["u1", "u2", "a1", "a2", "d1", "d2"])
fields = st.sampled_from(["owner_id", "area_id", "document_id"])
groups = st.dictionaries(fields, keyword, max_size=2)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads=st.lists(
        st.dictionaries(st.sampled_from(["owner_id", "area_id", "document_id"]), keyword),
        min_size=1,
        max_size=12,
    ),
    all_of=groups,
    any_of=st.lists(st.dictionaries(fields, keyword, min_size=1, max_size=2), max_size=2),
)
async def test_filtered_count_matches_a_plain_evaluation(
    tmp_path: Path,
    payloads: list[dict[str, str]],
    all_of: dict[str, str],
    any_of: list[dict[str, str]],
) -> None:
    store = EdgeVectors(tmp_path / uuid.uuid4().hex)
    await store.open()
    try:
        await store.create_collection("p", DIM)
        await store.upsert(
            "p", [Point(str(uuid.UUID(int=i + 1)), unit(i), p) for i, p in enumerate(payloads)]
        )
        f = VectorFilter(all=all_of, any=tuple(any_of))

        def matches(payload: dict[str, str]) -> bool:
            def holds(group: dict[str, str]) -> bool:
                return all(payload.get(k) == v for k, v in group.items())

            return holds(all_of) and (not any_of or any(holds(g) for g in any_of))

        assert await store.count("p", f) == sum(matches(p) for p in payloads)
    finally:
        await store.close()


async def test_a_crashed_engine_fails_its_call_and_the_service_starts_again(
    tmp_path: Path,
) -> None:
    service = VectorService(url=None, api_key=None, path=tmp_path / "vectors")
    async with running(Supervisor("root", [service], max_restarts=5)):
        store = service.store
        await seeded(store)
        (engine,) = workers_of(os.getpid(), "vectors.engine")
        os.kill(engine, signal.SIGKILL)
        with pytest.raises(ServiceUnavailable):
            await store.count("c")
        with anyio.fail_after(30):
            while service.metrics.restarts == 0 or service._store is None:
                await anyio.sleep(0.05)
        assert await service.store.count("c") == 5  # what was written is still there
        await wait_gone(engine)


async def test_a_long_engine_call_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """An index build holds the engine for seconds; the loop keeps ticking beside it
    (in this process, qdrant-edge would hold the interpreter throughout)."""
    path = tmp_path / "vectors"
    engine = Worker("engine", functools.partial(EdgeShards.opened, path))
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((8000, 384)).astype(np.float32)
    async with running(Supervisor("root", [engine])):
        store = EdgeVectors(path, engine)
        await store.create_collection("c", 384)
        points = [Point(str(uuid.UUID(int=i + 1)), vectors[i], {}) for i in range(len(vectors))]
        await store.upsert("c", points)
        gaps: list[float] = []
        done = anyio.Event()

        async def tick() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await anyio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async with anyio.create_task_group() as tg:
            tg.start_soon(tick)
            started = time.perf_counter()
            assert await store.build_indexes(threshold=1) == {"c": 8000}
            took = time.perf_counter() - started
            done.set()
    assert took > 0.5, took  # long enough to see a stall
    assert max(gaps) < took / 4, (max(gaps), took)


# -- keyword vectors and hybrid search -------------------------------------------------

KEYWORDS = Keywords()
VOCABULARY = [
    "archive",
    "extract",
    "owner",
    "numeric",
    "permission",
    "sparse",
    "link",
    "symbolic",
    "file",
    "directory",
    "compress",
    "verbose",
    "remote",
    "branch",
    "merge",
    "rebase",
    "commit",
    "stash",
    "tag",
    "fetch",
    "push",
]


def corpus(seed: int, size: int = 40) -> list[tuple[str, list[float]]]:
    """Texts of a few words each, of distinct lengths (so that no two keyword scores
    tie, and tie-breaking cannot differ), and random directions."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(size):
        words = rng.choice(VOCABULARY, size=int(rng.integers(3, 9)))
        texts.append(" ".join([*words, *[f"filler{i}"] * i]))
    vectors = rng.normal(size=(size, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [(t, v.tolist()) for t, v in zip(texts, vectors, strict=True)]


async def indexed(store: VectorStore, texts: list[tuple[str, list[float]]]) -> None:
    await store.create_collection("k", DIM)
    await store.upsert(
        "k",
        [
            Point(
                str(uuid.UUID(int=i + 1)), v, {"text": t, "scope": "shared"}, KEYWORDS.document(t)
            )
            for i, (t, v) in enumerate(texts)
        ],
    )


async def test_keyword_search_ranks_rare_terms_first(store: VectorStore) -> None:
    texts = corpus(1)
    texts.append(("how to keep the numeric-owner of files", unit(0)))
    await indexed(store, texts)
    assert await store.has_keywords("k")
    hits = await store.search("k", Query(keywords=KEYWORDS.query("--numeric-owner")), limit=3)
    assert hits[0].payload["text"] == "how to keep the numeric-owner of files"
    # No shared term: nothing, however many points there are.
    assert await store.search("k", Query(keywords=KEYWORDS.query("zebra")), limit=3) == []


async def test_hybrid_search_finds_what_either_side_finds(store: VectorStore) -> None:
    texts = corpus(2)
    await indexed(store, texts)
    needle = "the quagga flag"
    await store.upsert(
        "k", [Point(str(uuid.UUID(int=999)), unit(5), {"text": needle}, KEYWORDS.document(needle))]
    )
    dense_only = unit(7)
    # By keywords alone, the needle; by the vector alone, the point nearest it.
    query = Query(vector=dense_only, keywords=KEYWORDS.query("quagga"))
    found = [h.payload["text"] for h in await store.search("k", query, limit=2)]
    nearest = (await store.search("k", dense_only, limit=1))[0].payload["text"]
    assert set(found) == {needle, nearest}
    weighted = Query(
        vector=dense_only, keywords=KEYWORDS.query("quagga"), fusion=Fusion(keyword_weight=3.0)
    )
    assert (await store.search("k", weighted, limit=1))[0].payload["text"] == needle


async def test_hybrid_search_keeps_to_the_filter(store: VectorStore) -> None:
    await store.create_collection("k", DIM)
    text = "stash the branch"
    await store.upsert(
        "k",
        [
            Point(str(uuid.UUID(int=1)), unit(1), {"owner_id": "u1"}, KEYWORDS.document(text)),
            Point(str(uuid.UUID(int=2)), unit(1), {"owner_id": "u2"}, KEYWORDS.document(text)),
        ],
    )
    mine = VectorFilter(all={"owner_id": "u1"})
    for query in (
        Query(keywords=KEYWORDS.query("stash")),
        Query(vector=unit(1), keywords=KEYWORDS.query("stash")),
        Query(vector=unit(1), keywords=KEYWORDS.query("stash"), fusion=Fusion(method="dbsf")),
    ):
        hits = await store.search("k", query, limit=5, filter=mine)
        assert [h.payload["owner_id"] for h in hits] == ["u1"], query.mode


async def ranked_on_each_backend(
    tmp_path: Path, texts: list[tuple[str, list[float]]], queries: list[Query]
) -> dict[str, list[dict[str, float]]]:
    rankings = {}
    for name, store in (
        ("edge", EdgeVectors(tmp_path / "vectors")),
        ("qdrant-local", QdrantVectors(QdrantClient(location=":memory:"), payload_indexes=False)),
    ):
        if isinstance(store, EdgeVectors):
            await store.open()
        await indexed(store, texts)
        rankings[name] = [
            {h.id: h.score for h in await store.search("k", q, limit=len(texts))} for q in queries
        ]
        await store.close()
    return rankings


def top(scores: dict[str, float], n: int, slack: float) -> tuple[set[str], set[str]]:
    """Of the best `n`: those surely in (above the n-th by more than `slack`), and
    those that may be (within `slack` of the n-th or above: a tie may fall either way)."""
    ranked = sorted(scores.values(), reverse=True)
    cut = ranked[min(n, len(ranked)) - 1]
    sure = {i for i, score in scores.items() if score > cut + slack}
    return sure, {i for i, score in scores.items() if score >= cut - slack}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), picks=st.lists(st.integers(0, 39), min_size=1, max_size=3))
@example(seed=8, picks=[3])  # a near tie at the fifth place
async def test_sparse_and_hybrid_rank_alike_on_both_backends(
    tmp_path_factory: pytest.TempPathFactory, seed: int, picks: list[int]
) -> None:
    """The engine's IDF and fusion, computed by qdrant-edge and by qdrant-client's own
    implementation, give the same top results for the same points and queries."""
    texts = corpus(seed)
    words = " ".join(texts[i][0].split()[0] for i in picks)
    vector = texts[picks[0]][1]
    queries = [
        Query(keywords=KEYWORDS.query(words)),
        Query(vector=vector, keywords=KEYWORDS.query(words)),
        Query(vector=vector, keywords=KEYWORDS.query(words), fusion=Fusion(keyword_weight=2.0)),
    ]
    rankings = await ranked_on_each_backend(tmp_path_factory.mktemp("b"), texts, queries)
    for edge, local in zip(rankings["edge"], rankings["qdrant-local"], strict=True):
        assert edge.keys() == local.keys()
        # Points of equal keyword score may take their ranks in either order, which
        # moves a fused score by a rank's share at most: 2 (1/61 - 1/62) at k=60, weight 2.
        margin = 6e-4
        for i, score in edge.items():
            assert local[i] == pytest.approx(score, rel=1e-4, abs=margin)
        # Scores that far apart cannot swap: what one backend surely ranks in its top 5
        # the other may not leave out.
        slack = margin + 1e-4 * max(map(abs, edge.values()), default=0.0)
        (edge_sure, edge_may), (local_sure, local_may) = top(edge, 5, slack), top(local, 5, slack)
        assert edge_sure <= local_may and local_sure <= edge_may


async def test_a_collection_made_before_keyword_vectors_answers_by_its_vectors(
    store: VectorStore,
) -> None:
    """Until a reindex gives it keyword vectors, hybrid falls back to dense and
    keywords alone find nothing; points written to it keep their vectors."""
    await store.create_collection("old", DIM, keywords=False)
    await store.create_collection("old", DIM)  # kept as it is
    assert not await store.has_keywords("old")
    stash = KEYWORDS.document("stash")
    await store.upsert("old", [Point(str(uuid.UUID(int=1)), unit(1), {"n": "1"}, stash)])
    hybrid = Query(vector=unit(1), keywords=KEYWORDS.query("stash"))
    assert [h.payload for h in await store.search("old", hybrid, limit=3)] == [{"n": "1"}]
    assert await store.search("old", Query(keywords=KEYWORDS.query("stash")), limit=3) == []
    # Answered by its vectors, hybrid keeps the floor of its dense side.
    await store.upsert("old", [Point(str(uuid.UUID(int=2)), unit(9), {"n": "2"}, stash)])
    assert float(np.dot(unit(1), unit(9))) < 0.9
    floored = Query(unit(1), KEYWORDS.query("stash"), Fusion(dense_floor=0.9))
    assert [h.payload for h in await store.search("old", floored, limit=3)] == [{"n": "1"}]
    assert len(await store.search("old", hybrid, limit=3)) == 2


async def test_a_dense_floor_keeps_hybrid_to_what_is_near_or_shares_a_keyword(
    store: VectorStore,
) -> None:
    await store.create_collection("k", DIM)
    near, far, worded = unit(1), unit(9), "the quagga option"
    await store.upsert(
        "k",
        [
            Point(str(uuid.UUID(int=1)), near, {"n": "near"}, KEYWORDS.document("zebra")),
            Point(str(uuid.UUID(int=2)), far, {"n": "far"}, KEYWORDS.document("lion")),
            Point(str(uuid.UUID(int=3)), far, {"n": "worded"}, KEYWORDS.document(worded)),
        ],
    )
    floor = 0.9
    assert float(np.dot(near, far)) < floor
    query = Query(vector=near, keywords=KEYWORDS.query("quagga"), fusion=Fusion(dense_floor=floor))
    assert {h.payload["n"] for h in await store.search("k", query, limit=5)} == {"near", "worded"}
