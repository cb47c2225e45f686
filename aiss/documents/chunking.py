"""Chunks by tokens of the embedding model's tokenizer, aware of structure.

Blocks (paragraphs, table rows) are packed into chunks of at most `size`
tokens; a chunk never spans two pages or two heading sections, so that its
page and heading path are exact. A block longer than a chunk is cut by token
offsets, each piece overlapping the previous by `overlap` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from .extract import Block


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    text: str
    start: int  # character offsets in the document's extracted text
    end: int
    page: int | None
    headings: tuple[str, ...]
    tokens: int


def chunk(
    blocks: list[Block], tokenizer: Tokenizer, *, size: int = 256, overlap: int = 32
) -> list[Chunk]:
    if not 0 <= overlap < size:
        raise ValueError("overlap must be below the chunk size")
    chunks: list[Chunk] = []
    offset = 0
    spans: list[tuple[int, Block]] = []
    for block in blocks:
        spans.append((offset, block))
        offset += len(block.text) + 2  # blocks are joined by a blank line
    counts = (
        [
            len(e.ids)
            for e in tokenizer.encode_batch([b.text for _, b in spans], add_special_tokens=False)
        ]
        if spans
        else []
    )

    pending: list[tuple[int, Block, int]] = []

    def emit() -> None:
        if not pending:
            return
        start, first, _ = pending[0]
        last_start, last, _ = pending[-1]
        text = "\n\n".join(block.text for _, block, _ in pending)
        chunks.append(
            Chunk(
                len(chunks),
                text,
                start,
                last_start + len(last.text),
                first.page,
                first.headings,
                sum(n for _, _, n in pending),
            )
        )
        pending.clear()

    for (start, block), count in zip(spans, counts, strict=True):
        if pending and (
            pending[0][1].page != block.page
            or pending[0][1].headings != block.headings
            or sum(n for _, _, n in pending) + count > size
        ):
            emit()
        if count <= size:
            pending.append((start, block, count))
            continue
        emit()
        encoding = tokenizer.encode(block.text, add_special_tokens=False)
        offsets, total = encoding.offsets, len(encoding.ids)
        first = 0
        while True:
            last = min(first + size, total) - 1
            # End between words (a gap in the text), not inside one ("restart" | "."),
            # unless the window is a single run without a gap.
            cut = last
            while last + 1 < total and cut > first and offsets[cut + 1][0] == offsets[cut][1]:
                cut -= 1
            if cut > first:
                last = cut
            begin, end = offsets[first][0], offsets[last][1]
            chunks.append(
                Chunk(
                    len(chunks),
                    block.text[begin:end],
                    start + begin,
                    start + end,
                    block.page,
                    block.headings,
                    last + 1 - first,
                )
            )
            if last + 1 >= total:
                break
            first = max(last + 1 - overlap, first + 1)
    emit()
    return chunks
