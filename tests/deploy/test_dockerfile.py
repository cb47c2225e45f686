"""deploy/Dockerfile, read without a Docker engine: what it copies exists, and the
image runs every role as a non-root user under an init."""

from __future__ import annotations

import json
import re
import shlex
from fnmatch import fnmatch
from pathlib import Path

from aiss.config import ROLE_PORTS

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> dict[str, list[tuple[str, str]]]:
    named: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            current = []
            named[rest.split()[-1]] = current
        else:
            current.append((keyword, rest))
    return named


def test_the_stages_build_the_ui_the_model_and_a_small_runtime() -> None:
    assert list(stages()) == ["ui", "model", "build", "runtime"]
    runtime = stages()["runtime"]
    copies = " ".join(rest for keyword, rest in runtime if keyword == "COPY")
    copied_from = set(re.findall(r"--from=(\w+)", copies))
    assert copied_from == {"build", "model"}  # no compilers, node or torch in the runtime
    model = " ".join(rest for _, rest in stages()["model"])
    assert "optimum-cli export onnx" in model and "fp16.py" in model


def test_what_it_copies_is_in_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for keyword, rest in instructions():
        if keyword != "COPY" or "--from" in rest:
            continue
        *sources, _ = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not any(fnmatch(source.rstrip("/"), pattern) for pattern in ignored), source


def test_the_runtime_runs_as_a_user_under_tini_with_every_port() -> None:
    runtime = stages()["runtime"]
    user = [rest for keyword, rest in runtime if keyword == "USER"]
    assert user == ["aiss"]
    entrypoint = json.loads(next(rest for keyword, rest in runtime if keyword == "ENTRYPOINT"))
    assert entrypoint[:2] == ["tini", "-s"] and entrypoint[-1] == "aiss"
    exposed = {int(p) for keyword, rest in runtime if keyword == "EXPOSE" for p in rest.split()}
    assert exposed == {*ROLE_PORTS.values(), 2222}
