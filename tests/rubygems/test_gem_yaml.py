"""The safe gem-metadata YAML loader: Ruby tags RubyGems permits, nothing else, no aliases."""

import datetime as dt

import pytest

from packyard_rubygems.formats import gem_yaml
from packyard_rubygems.formats.gem_version import GemRequirement, GemVersion

SPEC = """\
--- !ruby/object:Gem::Specification
name: demo
version: !ruby/object:Gem::Version
  version: '1.10'
platform: ruby
authors:
- Ann
date: 2024-07-09 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: dep
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0.1'
    - - "<"
      - !ruby/object:Gem::Version
        version: '2'
  type: :runtime
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0.1'
    - - "<"
      - !ruby/object:Gem::Version
        version: '2'
metadata:
  source_code_uri: https://example.invalid
required_ruby_version: !ruby/object:Gem::Version::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: 2.7.0
  version:
summary: ":not a symbol"
"""


def test_loads_a_gem_specification_as_plain_data():
    spec = gem_yaml.load(SPEC.encode())
    assert isinstance(spec, gem_yaml.RubyObject) and spec.ruby_class == "Gem::Specification"
    assert spec["name"] == "demo"
    assert isinstance(spec["version"], GemVersion) and str(spec["version"]) == "1.10"
    assert spec["date"] == dt.datetime(2024, 7, 9, tzinfo=dt.timezone.utc)
    dep = spec["dependencies"][0]
    assert dep.ruby_class == "Gem::Dependency"
    assert list(dep) == ["name", "requirement", "type", "prerelease", "version_requirements"]
    assert isinstance(dep["type"], gem_yaml.RubySymbol) and dep["type"] == "runtime"
    assert isinstance(dep["requirement"], GemRequirement) and str(dep["requirement"]) == ">= 0.1, < 2"
    assert str(spec["required_ruby_version"]) == ">= 2.7.0"
    assert spec["summary"] == ":not a symbol" and not isinstance(spec["summary"], gem_yaml.RubySymbol)
    assert spec["metadata"] == {"source_code_uri": "https://example.invalid"}


def test_unquoted_version_keeps_its_text():
    spec = gem_yaml.load("--- !ruby/object:Gem::Version\nversion: 1.10\n")
    assert str(spec) == "1.10"


@pytest.mark.parametrize("doc, needle", [
    ("--- !ruby/object:Kernel\nname: x\n", "!ruby/object:Kernel"),
    ("--- !ruby/object:Gem::Installer\nname: x\n", "!ruby/object:Gem::Installer"),
    ("--- !ruby/hash:Gem::Specification\nname: x\n", "!ruby/hash:Gem::Specification"),
    ("--- !ruby/regexp /a/\n", "!ruby/regexp"),
    ("--- !ruby/class String\n", "!ruby/class"),
    ("--- !!python/object/apply:os.system ['true']\n", "python/object/apply"),
    ("--- !!set {a: null}\n", "set"),
    ("--- !ruby/object:Gem::Version\nversion: not-a-version!\n", "malformed version"),
    ("--- !ruby/object:Gem::Requirement\nrequirements:\n- - '=>'\n  - '1'\n", "malformed requirement"),
    ("--- :kernel\n", ":kernel"),
    ("--- !ruby/symbol system\n", ":system"),
])
def test_refuses_what_rubygems_refuses(doc, needle):
    with pytest.raises(gem_yaml.GemYamlError) as exc:
        gem_yaml.load(doc)
    assert needle in str(exc.value)


def test_refuses_alias_bombs_and_any_anchor():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(gem_yaml.GemYamlError, match="anchor"):
        gem_yaml.load(bomb)
    with pytest.raises(gem_yaml.GemYamlError, match="anchors are not allowed"):
        gem_yaml.load("a: &x 1\n")
    with pytest.raises(gem_yaml.GemYamlError, match="alias"):
        gem_yaml.load("a: *x\n")


def test_size_and_depth_limits():
    with pytest.raises(gem_yaml.GemYamlError, match="limit is 100 bytes"):
        gem_yaml.load("x: " + "y" * 200, max_bytes=100)
    with pytest.raises(gem_yaml.GemYamlError, match="nested"):
        gem_yaml.load("[" * 200 + "]" * 200)


def test_bad_yaml_is_a_clear_error():
    with pytest.raises(gem_yaml.GemYamlError, match="not valid YAML"):
        gem_yaml.load("a: [1, 2\n")
    with pytest.raises(gem_yaml.GemYamlError, match="UTF-8"):
        gem_yaml.load(b"name: \xff\xfe\n")
