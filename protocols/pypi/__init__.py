"""packyard's PyPI adapter: the simple repository API, twine uploads, downloads and the
legacy JSON API, mounted at ``/pypi``.  See ``docs/pypi.md``."""
