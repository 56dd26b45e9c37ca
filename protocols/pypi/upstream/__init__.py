"""The PyPI proxy: project pages of names not published here, fetched from the configured upstream
(`PACKYARD_PYPI_UPSTREAM`) through the core's toolkit (`packyard.upstream`), served in the format
each client negotiated, with file URLs pointing at packyard (`/pypi/files/<project>/<file>`)."""
