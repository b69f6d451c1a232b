"""The HTTP front's Prometheus metrics, through prometheus_client: request counts, latency
histograms and stream errors in a registry of the app's own (several servers in one process do not
share counters), plus the backend's gauges, read at each scrape."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# the backend's gauges: name -> [(labels, value), ...]
Gauges = dict[str, list[tuple[dict[str, str], float]]]


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("bookgpt_http_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("bookgpt_http_latency_seconds", "HTTP request latency",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.stream_errors = Counter("bookgpt_http_stream_errors",
                                     "event streams ended by an error event after their 200",
                                     registry=self.registry)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def render(self, extra: Gauges | None = None) -> bytes:
        """Prometheus exposition text of this app's metrics, then the backend's gauges `extra`."""
        out = generate_latest(self.registry)
        if extra:
            snapshot = CollectorRegistry(auto_describe=False)
            snapshot.register(_GaugeSnapshot(extra))
            out += generate_latest(snapshot)
        return out


class _GaugeSnapshot:
    """A collector of gauges read once (prometheus_client collects synchronously; the backend's
    gauges are read with an await before)."""

    def __init__(self, gauges: Gauges):
        self.gauges = gauges

    def collect(self):
        for name, samples in sorted(self.gauges.items()):
            keys = sorted({k for labels, _ in samples for k in labels})
            family = GaugeMetricFamily(name, name.removeprefix("bookgpt_").replace("_", " "),
                                       labels=keys)
            for labels, value in samples:
                family.add_metric([str(labels.get(k, "")) for k in keys], float(value))
            yield family
