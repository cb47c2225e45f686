"""Prometheus metrics of one app: request latency by route, and the actor tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from prometheus_client.core import Metric

    from actors import Node


class _TreeCollector(Collector):
    """Reads the tree at scrape time, so nothing is copied on the hot path."""

    def __init__(self, nodes: Callable[[], Iterable[Node]]) -> None:
        self._nodes = nodes

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "aiss_actor_mailbox_depth", "Messages waiting in the mailbox", labels=["actor"]
        )
        up = GaugeMetricFamily("aiss_actor_up", "1 when the actor is running", labels=["actor"])
        handled = CounterMetricFamily(
            "aiss_actor_messages_handled", "Messages handled", labels=["actor"]
        )
        failures = CounterMetricFamily("aiss_actor_failures", "Crashes", labels=["actor"])
        restarts = CounterMetricFamily("aiss_actor_restarts", "Restarts", labels=["actor"])
        for node in self._nodes():
            m = node.metrics
            depth.add_metric([node.path], m.mailbox_depth)
            up.add_metric([node.path], 1 if m.up else 0)
            handled.add_metric([node.path], m.handled)
            failures.add_metric([node.path], m.failures)
            restarts.add_metric([node.path], m.restarts)
        yield from (depth, up, handled, failures, restarts)


class _Extra(Collector):
    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families()


class Metrics:
    def __init__(
        self,
        nodes: Callable[[], Iterable[Node]],
        extra: Iterable[Callable[[], Iterable[Metric]]] = (),
    ) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "aiss_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.llm_first_token_seconds = Histogram(
            "aiss_llm_first_token_seconds",
            "From the question to the LLM's first token, by provider",
            ["provider", "model"],
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
        )
        self.llm_calls = Counter(
            "aiss_llm_calls",
            "LLM calls by provider and outcome (ok, failed before output, broke off)",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.registry.register(_TreeCollector(nodes))
        for families in extra:
            self.registry.register(_Extra(families))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_seconds.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
