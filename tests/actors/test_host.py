from __future__ import annotations

import pytest

from actors import Status, Supervisor, running

from .helpers import Journal, probe

pytestmark = pytest.mark.anyio


async def test_an_error_in_the_block_propagates_unwrapped_after_a_clean_stop() -> None:
    journal = Journal()
    root = Supervisor("root", [probe("a", journal)])
    with pytest.raises(KeyError):
        async with running(root):
            assert root.metrics.status is Status.RUNNING
            raise KeyError("from the block")
    assert journal.stops() == ["a"]
    assert root.metrics.status is Status.STOPPED
