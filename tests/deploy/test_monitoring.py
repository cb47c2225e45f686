"""Prometheus finds every role; the Grafana dashboard asks only for metrics AISS serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from aiss.app import create_app
from aiss.config import ROLE_PORTS
from tests.aiss.routes.conftest import app_settings
from tests.servers import serving

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\baiss_[a-z_]+")
SUFFIX = re.compile(r"_(bucket|count|sum)$")  # counters keep _total in their TYPE line


def test_prometheus_scrapes_every_role_of_compose_on_its_port() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    found = {
        entry["names"][0]: entry["port"] for entry in config["scrape_configs"][0]["dns_sd_configs"]
    }
    compose = yaml.safe_load((ROOT / "compose.yml").read_text())
    roles = {
        service["command"][2]: name
        for name, service in compose["services"].items()
        if service.get("command", [])[:2] == ["serve", "--role"] and not service.get("profiles")
    }
    assert found == {roles[role]: port for role, port in ROLE_PORTS.items()}


@pytest.mark.anyio
async def test_the_dashboard_asks_for_metrics_that_exist(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "aiss.json").read_text())
    wanted = {
        SUFFIX.sub("", name)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in METRIC.findall(target["expr"])
    }
    settings = app_settings(tmp_path_factory.mktemp("metrics"))
    async with serving(create_app(settings)) as client:
        text = (await client.get("/metrics")).text
    served = set(re.findall(r"^# TYPE (aiss_[a-z_]+) ", text, re.MULTILINE))
    assert wanted <= served, f"the dashboard asks for {sorted(wanted - served)}"
    assert len(wanted) >= 12  # requests, embeddings, terminals, LLM and actors
