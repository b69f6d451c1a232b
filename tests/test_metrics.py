"""The HTTP front's metrics registry: Prometheus text that a Prometheus parser reads back."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bookgpt.serving.metrics import HttpMetrics


def samples(text: bytes) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def test_label_values_are_escaped_and_read_back_whole():
    m = HttpMetrics()
    odd = 'a "quoted" \\ back\nslash'
    m.observe(odd, 200, 0.02)
    m.observe(odd, 200, 7.0)
    m.stream_errors.inc()
    got = samples(m.render({"bookgpt_book_up": [({"book_id": odd}, 1.0), ({"book_id": "b"}, 0.0)],
                            "bookgpt_models_loaded": [({}, 2.0)]}))
    assert got[("bookgpt_http_requests_total", (("route", odd), ("status", "200")))] == 2
    assert got[("bookgpt_http_latency_seconds_count", (("route", odd),))] == 2
    assert got[("bookgpt_http_latency_seconds_bucket", (("le", "0.025"), ("route", odd)))] == 1
    assert got[("bookgpt_http_latency_seconds_bucket", (("le", "+Inf"), ("route", odd)))] == 2
    assert got[("bookgpt_http_stream_errors_total", ())] == 1
    assert got[("bookgpt_book_up", (("book_id", odd),))] == 1.0
    assert got[("bookgpt_book_up", (("book_id", "b"),))] == 0.0
    assert got[("bookgpt_models_loaded", ())] == 2.0


def test_each_app_counts_in_its_own_registry():
    one, two = HttpMetrics(), HttpMetrics()  # two servers in one process
    one.observe("/v1/ask", 200, 0.1)
    assert ("bookgpt_http_requests_total", (("route", "/v1/ask"), ("status", "200"))) \
        in samples(one.render())
    assert not [k for k in samples(two.render()) if k[0] == "bookgpt_http_requests_total"]
