"""The legacy upload endpoint as twine and uv use it: the multipart reader, the form's validation, the handler."""
