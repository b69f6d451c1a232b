"""The serving layer without Ray: HTTP front, dynamic batching, metrics."""
