from __future__ import annotations

import pytest

from aiss.config import Settings


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # uvicorn serves on asyncio; the actor runtime itself is tested on trio too.
    return "asyncio"


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return Settings.from_env({"AISS_DATA_DIR": str(tmp_path), "AISS_SSH_PORT": "0"}, env_file=None)
