from __future__ import annotations

import actors


def test_public_surface_is_pinned() -> None:
    assert actors.__all__ == [
        "UP",
        "Actor",
        "ActorDead",
        "ActorError",
        "ActorMetrics",
        "ActorRef",
        "ActorSpec",
        "AskTimeout",
        "ChildSpec",
        "DynamicSupervisor",
        "MailboxFull",
        "Node",
        "Request",
        "Restart",
        "RestartIntensityExceeded",
        "Service",
        "Status",
        "Strategy",
        "Supervisor",
        "TooManyChildren",
        "running",
    ]
    for name in actors.__all__:
        assert getattr(actors, name) is not None


def test_the_runtime_depends_on_anyio_only() -> None:
    import ast
    import sys
    from pathlib import Path

    allowed = {"anyio", *sys.stdlib_module_names}
    for path in Path(actors.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert node.module.split(".")[0] in allowed, (path.name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in allowed, (path.name, alias.name)
