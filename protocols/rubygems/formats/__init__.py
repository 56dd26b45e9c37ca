"""The byte formats of a gem: the ``.gem`` archive, its YAML spec, versions, platforms, Ruby's Marshal."""
