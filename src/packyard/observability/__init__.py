"""What operators see of a running server: Prometheus metrics (`metrics.py`, exposed at `/metrics`)
and one JSON access-log line per request (`access_log.py`), both fed by one ASGI wrapper
(`middleware.py`) from what the request noted about itself (`request_context.py`)."""
