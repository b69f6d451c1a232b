"""A small Prometheus text-format registry for the HTTP front (counters and latency histograms)."""

from __future__ import annotations

from collections import defaultdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HttpMetrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(LATENCY_BUCKETS))
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.stream_errors = 0  # event streams that ended with an error event after their 200

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests[(route, status)] += 1
        self.sums[route] += seconds
        self.counts[route] += 1
        for i, edge in enumerate(LATENCY_BUCKETS):
            if seconds <= edge:
                self.buckets[route][i] += 1

    def render(self, extra: dict[str, list[tuple[dict[str, str], float]]] | None = None) -> str:
        """Prometheus exposition text; `extra` adds gauges: name -> [(labels, value), ...]."""
        lines = ["# HELP bookgpt_http_requests_total HTTP requests by route and status",
                 "# TYPE bookgpt_http_requests_total counter"]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'bookgpt_http_requests_total{{route="{route}",status="{status}"}} {n}')
        lines += ["# HELP bookgpt_http_latency_seconds HTTP request latency",
                  "# TYPE bookgpt_http_latency_seconds histogram"]
        for route in sorted(self.counts):
            for edge, n in zip(LATENCY_BUCKETS, self.buckets[route]):
                lines.append(f'bookgpt_http_latency_seconds_bucket{{route="{route}",le="{edge}"}} {n}')
            lines.append(f'bookgpt_http_latency_seconds_bucket{{route="{route}",le="+Inf"}} '
                         f'{self.counts[route]}')
            lines.append(f'bookgpt_http_latency_seconds_sum{{route="{route}"}} {self.sums[route]:.6f}')
            lines.append(f'bookgpt_http_latency_seconds_count{{route="{route}"}} {self.counts[route]}')
        lines += ["# HELP bookgpt_http_stream_errors_total event streams ended by an error event",
                  "# TYPE bookgpt_http_stream_errors_total counter",
                  f"bookgpt_http_stream_errors_total {self.stream_errors}"]
        for name, samples in sorted((extra or {}).items()):
            lines.append(f"# TYPE {name} gauge")
            for labels, value in samples:
                lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                lines.append(f"{name}{{{lab}}} {value}" if lab else f"{name} {value}")
        return "\n".join(lines) + "\n"
