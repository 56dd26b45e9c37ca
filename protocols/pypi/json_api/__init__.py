"""The legacy JSON API (``/pypi/<project>/json``): its documents and handlers."""
