"""The web interface: server-rendered HTML pages (Jinja2) for people, no JavaScript needed."""
