"""Gem::Version / Gem::Requirement port, checked against Ruby's own implementation."""

import itertools
import json
import shutil
import subprocess

import pytest

from packyard_rubygems.formats.gem_version import (
    GemRequirement,
    GemVersion,
    InvalidRequirement,
    InvalidVersion,
    is_correct,
    sort_key,
)

TRICKY = [
    "0", "0.0", "0.1", "0.9", "0.10", "0.10.0", "1", "1.0", "1.0.0", "1.0.0.0", "1.0.a", "1.0.b",
    "1.0.a1", "1.0.a10", "1.0.a2", "1.0.b1", "1.0.0.pre", "1.0.0.pre.1", "1.0.0.pre.2", "1.0.0.rc1",
    "1.0.0.rc.1", "2.0.0-rc1", "2.0.0.rc1", "2.0.0", "1.a.2", "1.a", "1.a.0", "1.a.0.b", "1.a.b",
    "1.A", "1.0.0.beta", "1.0.0.Beta", "1.1", "1.01", "1.0.1", "10.0", "9.9.9", "1.0.0.a.0.1",
    "1.0.0.a.1", "1.0.0.1.a", "3.0.0.a", "3.a.b.c", "0.a", "0.0.a", " 1.2 ", "2.0.0-rc-1",
]


def ruby(script: str, *args: str) -> str:
    """Run Ruby (the oracle) and return its stdout."""
    exe = shutil.which("ruby")
    if exe is None:
        pytest.fail("ruby is required for the RubyGems format tests (apt-get install ruby)")
    return subprocess.run(
        [exe, "-rrubygems", "-rjson", "-e", script, *args],
        check=True, capture_output=True, text=True,
    ).stdout


def test_ordering_matches_ruby_pairwise():
    pairs = list(itertools.product(TRICKY, repeat=2))
    out = ruby(
        "vs = JSON.parse(ARGV[0]); puts JSON.dump(vs.map { |a, b| Gem::Version.new(a) <=> Gem::Version.new(b) })",
        json.dumps(pairs),
    )
    expected = json.loads(out)
    for (a, b), want in zip(pairs, expected):
        va, vb = GemVersion(a), GemVersion(b)
        assert va.compare(vb) == want, (a, b)
        key_cmp = (va.sort_key() > vb.sort_key()) - (va.sort_key() < vb.sort_key())
        assert key_cmp == want, (a, b)
        assert (va < vb) == (want < 0) and (va == vb) == (want == 0)


def test_sorted_list_matches_ruby_sort():
    out = ruby("puts JSON.dump(JSON.parse(ARGV[0]).sort_by { |v| Gem::Version.new(v) }.map { |v| Gem::Version.new(v).to_s })",
               json.dumps(TRICKY))
    ours = [str(GemVersion(v)) for v in sorted(TRICKY, key=sort_key)]
    # Equal versions may come in any order; compare the canonical forms.
    assert [GemVersion(v).canonical_segments for v in ours] == \
        [GemVersion(v).canonical_segments for v in json.loads(out)]


def test_attributes_match_ruby():
    script = """
    out = JSON.parse(ARGV[0]).map do |s|
      v = Gem::Version.new(s)
      [v.to_s, v.prerelease?, v.segments.map(&:to_s), v.canonical_segments.map(&:to_s), v.release.to_s,
       v.bump.to_s, v.approximate_recommendation]
    end
    puts JSON.dump(out)
    """
    expected = json.loads(ruby(script, json.dumps(TRICKY)))
    for text, want in zip(TRICKY, expected):
        v = GemVersion(text)
        got = [str(v), v.is_prerelease, [str(s) for s in v.segments],
               [str(s) for s in v.canonical_segments], str(v.release()), str(v.bump()),
               v.approximate_recommendation()]
        assert got == want, text


def test_correct_matches_ruby():
    candidates = ["1.0", "1.0.0-rc1", "1..0", "1.0.", ".1", "a", "1.a", "1 0", "", "  ", "1-", "1.0-",
                  "1.0--1", "1.0.0.pre-1", "01", "1.0\n", "1_0", "1/0", "1.0-a.b-c", "-1", "1.0 "]
    out = ruby("puts JSON.dump(JSON.parse(ARGV[0]).map { |s| Gem::Version.correct?(s) })",
               json.dumps(candidates))
    assert [is_correct(c) for c in candidates] == json.loads(out)
    with pytest.raises(InvalidVersion):
        GemVersion("1..0")


def test_requirement_to_s_and_satisfaction_match_ruby():
    reqs = [[], [">= 0.1", "< 2"], ["~> 1.2"], ["1.0"], ["= 1.0", "= 1.0"], [" >=  1.0.0-rc1 "],
            ["!= 1.5", "> 1"], ["~> 1.0.a"], ["<= 2.0.0.pre"]]
    versions = ["0.0.1", "1.0", "1.2", "1.2.9", "1.3", "1.5", "2", "2.0.0.pre", "1.0.0.rc1", "1.0.b"]
    script = """
    reqs, versions = JSON.parse(ARGV[0])
    puts JSON.dump(reqs.map { |r| q = Gem::Requirement.new(*r); [q.to_s, versions.map { |v| q.satisfied_by?(Gem::Version.new(v)) }] })
    """
    expected = json.loads(ruby(script, json.dumps([reqs, versions])))
    for r, (want_s, want_sat) in zip(reqs, expected):
        q = GemRequirement(*r)
        assert str(q) == want_s, r
        assert [q.is_satisfied_by(v) for v in versions] == want_sat, r


def test_default_requirement_and_bad_input():
    assert str(GemRequirement()) == ">= 0"
    assert GemRequirement().is_none and not GemRequirement(">= 1").is_none
    with pytest.raises(InvalidRequirement):
        GemRequirement("=> 1")
