"""packyard: a self-hosted package registry for Python and Ruby packages in one server."""

__version__ = "0.1.0"
