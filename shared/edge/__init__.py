"""The edges: HTTP requests in and responses out, strict JSON, queue dead letters."""
