"""Chunks by the embedding model's tokens, within pages and heading sections."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from aiss.documents.chunking import chunk
from aiss.documents.extract import Block
from aiss.embedding.model import describe

TOKENIZER = Tokenizer.from_file(
    str(describe("all-MiniLM-L6-v2", __import__("pathlib").Path("/")).directory / "tokenizer.json")
)
TOKENIZER.no_padding()
TOKENIZER.no_truncation()

words = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "supervisor", "x", "restart."]),
    min_size=1,
    max_size=120,
).map(" ".join)
blocks = st.lists(
    st.builds(
        Block, words, st.sampled_from([None, 1, 2]), st.sampled_from([(), ("A",), ("A", "B")])
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=60, deadline=None)
@given(blocks=blocks, size=st.integers(16, 128), overlap=st.integers(0, 8))
def test_chunks_fit_cover_and_keep_their_place(
    blocks: list[Block], size: int, overlap: int
) -> None:
    document = "\n\n".join(b.text for b in blocks)
    chunks = chunk(blocks, TOKENIZER, size=size, overlap=overlap)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for piece in chunks:
        assert piece.tokens <= size
        assert len(TOKENIZER.encode(piece.text, add_special_tokens=False).ids) <= size + 2
        # Offsets point at the chunk's text in the extracted document.
        assert (
            document[piece.start : piece.end].replace("\n\n", " ").split()
            == piece.text.replace("\n\n", " ").split()
        )
    # Every word of every block lands in some chunk of the same page and headings.
    for block in blocks:
        homes = [c for c in chunks if c.page == block.page and c.headings == block.headings]
        joined = " ".join(c.text for c in homes).split()
        assert set(block.text.split()) <= set(joined)


def test_long_paragraphs_are_cut_with_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(600))
    chunks = chunk([Block(text)], TOKENIZER, size=100, overlap=20)
    assert len(chunks) > 1
    first = TOKENIZER.encode(chunks[0].text, add_special_tokens=False).ids
    second = TOKENIZER.encode(chunks[1].text, add_special_tokens=False).ids
    assert first[-20:] == second[:20]
