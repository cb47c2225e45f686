"""The compose files: valid Compose, passing only what AISS reads, documented in .env.example."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aiss.config import ROLE_PORTS, variable_names
from aiss.proxy import ROUTES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["compose.yml", "compose.prod.yml", "compose.monitoring.yml"]
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?+][^}]*)?\}")


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return document


def aiss_services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services running the AISS image (each a role, the all-in-one, or a helper)."""
    return {
        name: service
        for name, service in document["services"].items()
        if "aiss" in str(service.get("image", "")) and "nginx" not in name
    }


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_files_follow_the_compose_specification(name: str) -> None:
    schema = json.loads(
        (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    )
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(load(name)), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_variable_passed_to_aiss_is_one_it_reads(name: str) -> None:
    known = set(variable_names())
    for service_name, service in aiss_services(load(name)).items():
        environment = service.get("environment") or {}
        passed = (
            set(environment)
            if isinstance(environment, dict)
            else {entry.split("=", 1)[0] for entry in environment}
        )
        assert passed <= known, (
            f"{service_name} passes {sorted(passed - known)}, which AISS never reads"
        )


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_interpolated_variable_is_documented_in_env_example(name: str) -> None:
    example = set(re.findall(r"^#? ?([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    used = set(INTERPOLATION.findall((ROOT / name).read_text()))
    assert used <= example, f"{name} uses {sorted(used - example)}, missing from .env.example"


def test_the_roles_run_on_their_classic_ports_with_no_fixed_names() -> None:
    document = load("compose.yml")
    roles: dict[str, str] = {}
    for name, service in aiss_services(document).items():
        command = service.get("command") or []
        if command[:2] == ["serve", "--role"]:
            roles.setdefault(command[2], name)
        assert "container_name" not in service, f"{name} could not be scaled"
        if name not in ("aiss",):  # only the edge (and the all-in-one profile) publish ports
            assert "ports" not in service, f"{name} publishes a port"
    assert set(roles) == set(ROLE_PORTS)
    environment = document["x-aiss-environment"]
    for role, port in ROLE_PORTS.items():
        if role != "gateway":
            variable = f"AISS_{role.upper().replace('-', '_')}_URL"
            assert environment[variable] == f"http://{roles[role]}:{port}"
    # The gateway forwards to roles that exist.
    assert {role for _, role in ROUTES} <= set(ROLE_PORTS)


def test_env_example_placeholders_are_refused_in_production() -> None:
    from aiss.config import ConfigError, Settings

    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert values["ENVIRONMENT"] == "production"
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(values, env_file=None)
    named = {problem.split(":")[0] for problem in refused.value.problems}
    secrets = {"JWT_SECRET", "MONGODB_PASSWORD", "MINIO_ROOT_PASSWORD", "QDRANT_API_KEY"}
    assert secrets | {"ADMIN_INITIAL_PASSWORD", "AISS_ENCRYPTION_KEY"} <= named
