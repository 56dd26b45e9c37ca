"""Safe loading of a gem's ``metadata.gz`` YAML (a ``Gem::Specification`` dump).

RubyGems writes the spec with Ruby tags (``!ruby/object:Gem::Specification``,
``Gem::Version``, ``Gem::Requirement``, ``Gem::Dependency``, ``Gem::Platform``) and
symbols such as ``:runtime``. RubyGems' own loader (``Gem::SafeYAML``) permits
exactly those classes plus timestamps and the symbols ``:runtime`` and
``:development``. This loader is a ``yaml.SafeLoader`` that knows the same set and
refuses everything else. Like rubygems.org it also refuses every anchor and
alias, so an alias bomb never expands, and it caps the text size and nesting.

The result is plain Python data: dicts, lists, strings, numbers, datetimes, plus
``RubyObject`` (a dict remembering its Ruby class), ``RubySymbol`` (a str),
``GemVersion`` and ``GemRequirement``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode

from packyard.models.limits import unstorable_reason

from packyard_rubygems.formats.gem_version import OPERATORS, GemRequirement, GemVersion, InvalidVersion

DEFAULT_MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 64
PERMITTED_SYMBOLS = ("runtime", "development")
_OBJECT_PREFIX = "!ruby/object:"
_PLAIN_OBJECT_CLASSES = ("Gem::Specification", "Gem::Dependency", "Gem::Platform")
_REQUIREMENT_CLASSES = ("Gem::Requirement", "Gem::Version::Requirement")


class GemYamlError(ValueError):
    """The YAML is not a gem specification RubyGems would load safely."""


class RubyObject(dict):
    """The instance variables of a Ruby object, in YAML (= Ruby ivar) order."""

    def __init__(self, ruby_class: str, ivars: dict[str, Any]):
        super().__init__(ivars)
        self.ruby_class = ruby_class

    def __repr__(self) -> str:
        return f"RubyObject({self.ruby_class!r}, {dict.__repr__(self)})"


class RubySymbol(str):
    """A Ruby Symbol such as ``:runtime`` (the value is the name without the colon)."""

    def __repr__(self) -> str:
        return f":{str(self)}"


def _where(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


class GemYamlLoader(yaml.SafeLoader):
    """SafeLoader that knows only the Ruby tags RubyGems' safe loader permits."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    # -- structure limits ---------------------------------------------------
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise GemYamlError(
                f"YAML aliases are not allowed in gem metadata (alias *{event.anchor} at "
                f"line {event.start_mark.line + 1}); rebuild the gem with a current `gem build`"
            )
        if getattr(event, "anchor", None) is not None:
            raise GemYamlError(
                f"YAML anchors are not allowed in gem metadata (anchor &{event.anchor} at "
                f"line {event.start_mark.line + 1}); rebuild the gem with a current `gem build`"
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise GemYamlError(f"gem metadata is nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_scalar(self, node):
        value = super().construct_scalar(node)
        if isinstance(value, str) and unstorable_reason(value.replace("\x00", "")) is not None:
            raise GemYamlError(f"the text at {_where(node)} is not valid Unicode (it contains a lone surrogate)")
        return value

    # -- Ruby tags ----------------------------------------------------------
    def construct_ruby_object(self, tag_suffix: str, node: yaml.Node) -> Any:
        if not isinstance(node, MappingNode):
            raise GemYamlError(f"!ruby/object:{tag_suffix} at {_where(node)} must be a mapping")
        if tag_suffix == "Gem::Version":
            return self._construct_version(node)
        if tag_suffix in _REQUIREMENT_CLASSES:
            return self._construct_requirement(node)
        if tag_suffix in _PLAIN_OBJECT_CLASSES:
            ivars = self.construct_mapping(node, deep=True)
            for key in ivars:
                if not isinstance(key, str):
                    raise GemYamlError(f"!ruby/object:{tag_suffix} at {_where(node)} has a non-string key")
            return RubyObject(tag_suffix, ivars)
        return self.construct_refused(node)

    def _construct_version(self, node: MappingNode) -> GemVersion:
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "version":
                if not isinstance(value_node, ScalarNode):
                    break
                # Ruby keeps the scalar's text; take it raw so `1.10` is not read as a float.
                try:
                    return GemVersion.from_yaml(value_node.value)
                except InvalidVersion:
                    raise GemYamlError(
                        f"malformed version number {value_node.value!r} at {_where(value_node)}"
                    ) from None
        raise GemYamlError(f"!ruby/object:Gem::Version at {_where(node)} has no version string")

    def _construct_requirement(self, node: MappingNode) -> GemRequirement:
        raw = None
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "requirements":
                raw = self.construct_object(value_node, deep=True)
        if not isinstance(raw, list):
            raise GemYamlError(f"!ruby/object:Gem::Requirement at {_where(node)} has no requirements list")
        pairs = []
        for pair in raw:
            if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in OPERATORS):
                raise GemYamlError(f"malformed requirement {pair!r} at {_where(node)}")
            version = pair[1]
            if not isinstance(version, GemVersion):
                try:
                    version = GemVersion(str(version))
                except InvalidVersion:
                    raise GemYamlError(f"malformed version {version!r} in requirement at {_where(node)}") from None
            pairs.append((pair[0], version))
        return GemRequirement.from_pairs(pairs)

    def construct_symbol(self, node: yaml.Node) -> RubySymbol:
        if not isinstance(node, ScalarNode):
            raise GemYamlError(f"symbol at {_where(node)} must be a scalar")
        name = node.value
        if node.tag == "!ruby/symbol:plain":
            name = name[1:]
            if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
                name = name[1:-1]
        if name not in PERMITTED_SYMBOLS:
            raise GemYamlError(
                f"the symbol :{name} at {_where(node)} is not allowed in gem metadata "
                f"(only {', '.join(':' + s for s in PERMITTED_SYMBOLS)})"
            )
        return RubySymbol(name)

    def construct_refused(self, node: yaml.Node) -> Any:
        raise GemYamlError(
            f"the YAML tag {node.tag} at {_where(node)} is not allowed in gem metadata; "
            "RubyGems only loads Gem::Specification, Gem::Version, Gem::Requirement, "
            "Gem::Dependency, Gem::Platform, timestamps and the symbols :runtime/:development"
        )


# Plain scalars like `:runtime` are symbols in Psych; quoted ones stay strings.
GemYamlLoader.add_implicit_resolver("!ruby/symbol:plain", re.compile(r"^:."), [":"])
GemYamlLoader.add_constructor("!ruby/symbol:plain", GemYamlLoader.construct_symbol)
GemYamlLoader.add_constructor("!ruby/symbol", GemYamlLoader.construct_symbol)
GemYamlLoader.add_constructor("!ruby/sym", GemYamlLoader.construct_symbol)
GemYamlLoader.add_multi_constructor(_OBJECT_PREFIX, GemYamlLoader.construct_ruby_object)
# Everything else is refused, including the Python-only set/omap/pairs types.
for _tag in (None, "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
    GemYamlLoader.add_constructor(_tag, GemYamlLoader.construct_refused)


def load(text: bytes | str, *, max_bytes: int = DEFAULT_MAX_YAML_BYTES) -> Any:
    """Parse gem metadata YAML safely; raises ``GemYamlError`` with a readable message."""
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise GemYamlError(f"gem metadata is {size} bytes; the limit is {max_bytes} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GemYamlError(f"gem metadata is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    loader = None
    try:
        loader = GemYamlLoader(text)  # the reader refuses control characters here already
        return loader.get_single_data()
    except GemYamlError:
        raise
    except yaml.YAMLError as exc:
        raise GemYamlError(f"gem metadata is not valid YAML: {exc}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp like 2024-02-30
        raise GemYamlError(f"gem metadata has an invalid value: {exc}") from None
    except RecursionError:
        raise GemYamlError("gem metadata is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
