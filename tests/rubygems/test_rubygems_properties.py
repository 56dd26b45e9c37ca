"""Property-based tests of the RubyGems push parsers: whatever arrives, the .gem reader, the YAML
loader and the gemspec validator end in a result or their declared error (InvalidGem, GemYamlError:
answered 422), never an unexpected exception; and every spec they accept can be stored and
rendered (the Marshal quick gemspec, the JSON kept on the row) without error."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from packyard.models import limits
from packyard_rubygems.formats import gem_yaml
from packyard_rubygems.formats.gem_package import GemSpec, InvalidGem, read_gem, spec_from_yaml_data
from packyard_rubygems.index.legacy_specs import quick_spec_meta
from packyard_rubygems.formats.ruby_marshal import dumps
from packyard_rubygems.formats.spec_meta import spec_to_meta
from tests.rubygems.gemtools import craft_gem, gem_bytes
from tests.support.properties import PARSER_SETTINGS, outcome

DECLARED = (InvalidGem, gem_yaml.GemYamlError)

# YAML snippets a spec field may hold: well-formed, odd and hostile.
SNIPPETS = st.sampled_from([
    "~", "[]", "{}", "''", "x", "1", "-1", "1e400", ".nan", "true", "2024-01-01", "0001-01-01", "9999-12-31",
    "2024-02-30", "2024-07-09 00:00:00.000000000 Z", "!ruby/object:Gem::Version {version: '1.0'}",
    "!ruby/object:Gem::Version {}", "!ruby/object:Gem::Requirement {requirements: [['>=', !ruby/object:Gem::Version "
    "{version: '0'}]]}", "!ruby/object:Gem::Platform {cpu: x86_64, os: linux, version: ~}", ":sym", "!ruby/sym x",
    "!binary aGk=", "!!binary aGk=", "&a x", "*a", "!ruby/object:Kernel {}", "!ruby/hash:Foo {}", "[[[[[[[[]]]]]]]]",
    "'\\u0000'", '"\\0"', '"\\ud800"', '"\\U0010ffff"', "x86_64-linux", "java", "x86_64-foo", "universal-darwin-22",
    "[!ruby/object:Gem::Dependency {name: a, type: :runtime, requirement: !ruby/object:Gem::Requirement "
    "{requirements: [['~>', !ruby/object:Gem::Version {version: '1'}]]}}]",
])
VALUE = SNIPPETS | st.text(max_size=40).map(json.dumps) | st.lists(st.text(max_size=8), max_size=3).map(json.dumps) | \
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(json.dumps)
# Odd values aimed at one field each (drawn as often as all of VALUE).
AIMED = {
    "date": st.sampled_from(["0001-01-01", "1899-12-31", "2024-02-30", "0001-01-01 00:00:00.0 +05:00",
                             "9999-12-31 23:59:59.0 -01:00", "'2024-07-09'", "2024-07-09"]),
    "platform": st.sampled_from(["x86_64-foo", "amiga", "-", "x86-mswin32-60", "i686-linux-gnu", "ruby", "current",
                                 "a" * 120, "x86_64-linux-" + "9" * 100]),
    "version": st.sampled_from(["!ruby/object:Gem::Version {version: '1." + "0" * 70 + "'}", "'1.0.a-b'", "1.0"]),
    "name": st.sampled_from(["a" * 101, "Gem", "g.e-m_1", "1", "-x", "a..b"]),
}
FIELDS = ["name", "version", "platform", "authors", "email", "summary", "description", "homepage", "licenses",
          "metadata", "dependencies", "required_ruby_version", "required_rubygems_version", "date",
          "rubygems_version", "specification_version", "files", "executables", "post_install_message"]


@st.composite
def spec_yaml(draw) -> str:
    """A spec with one to three odd fields (few enough that many are accepted and go on to be rendered)."""
    values = {"name": "gem", "version": "!ruby/object:Gem::Version {version: '1.0'}"}
    odd = st.sampled_from(sorted(AIMED)) | st.sampled_from(FIELDS)
    for field in draw(st.lists(odd, min_size=1, max_size=3, unique=True)):
        values[field] = draw(AIMED[field] | VALUE if field in AIMED else VALUE)
    lines = ["--- !ruby/object:Gem::Specification"] + [f"{field}: {value}" for field, value in values.items()]
    return "\n".join(lines) + "\n"


def _accepted_spec_is_storable_and_renderable(spec: GemSpec) -> None:
    meta = {**spec_to_meta(spec), **quick_spec_meta(spec)}
    limits.check_json(meta, "gem metadata")
    json.dumps(meta)


@PARSER_SETTINGS
@given(st.text(max_size=300) | spec_yaml())
def test_any_yaml_loads_or_is_refused(text):
    outcome(lambda: gem_yaml.load(text), gem_yaml.GemYamlError)


@settings(PARSER_SETTINGS, max_examples=400)  # pure parsing: cheap examples
@given(spec_yaml())
@example("--- !ruby/object:Gem::Specification\nname: old\nversion: '1'\ndate: 0001-01-01\n")
def test_an_accepted_gemspec_can_be_stored_and_rendered(text):
    result = outcome(lambda: spec_from_yaml_data(gem_yaml.load(text)), DECLARED)
    if isinstance(result, GemSpec):
        _accepted_spec_is_storable_and_renderable(result)


def _read(tmp_path_factory, data: bytes):
    path = tmp_path_factory.mktemp("gem") / "upload.gem"
    path.write_bytes(data)
    result = outcome(lambda: read_gem(str(path)), DECLARED)
    if isinstance(result, GemSpec):
        _accepted_spec_is_storable_and_renderable(result)
    return result


@PARSER_SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_gem_are_refused_cleanly(tmp_path_factory, data):
    _read(tmp_path_factory, data)


@PARSER_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8), st.integers(0, 3000))
def test_damaged_gems_are_refused_cleanly(tmp_path_factory, flips, cut):
    data = bytearray(craft_gem("damaged", "1.0.0"))
    for position, value in flips:
        data[position % len(data)] = value
    _read(tmp_path_factory, bytes(data[: max(1, len(data) - cut)]))


@PARSER_SETTINGS
@given(spec_yaml(), st.dictionaries(st.sampled_from(["lib/a.rb", "../x", "/abs", "lib/../../y", "bin/z"]),
                                    st.binary(max_size=20), max_size=3))
def test_crafted_gems_are_accepted_or_refused_cleanly(tmp_path_factory, text, files):
    result = _read(tmp_path_factory, gem_bytes(text, files))
    if isinstance(result, GemSpec):
        assert not any(name.startswith("/") or ".." in name for name in files)


@PARSER_SETTINGS
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
))
def test_marshal_writes_any_plain_value(value):
    """Text that reached a spec is valid Unicode (the YAML loader refuses lone surrogates)."""
    try:
        json.dumps(value, default=lambda b: b.decode("latin-1")).encode("utf-8")
    except UnicodeEncodeError:
        return
    data = outcome(lambda: dumps(value), ())
    assert data[:2] == b"\x04\x08"
