"""What operators see of a running server: Prometheus metrics (`metrics.py`, exposed at `/metrics`)
and one JSON access-log line per request (`access_log.py`), both fed by `observer.py` from the
answer packyard's uvicorn protocol saw (`http/protocol.py`) and what the request noted about itself
(`request_context.py`)."""
