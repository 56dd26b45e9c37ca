"""RubyGems version semantics: a port of ``Gem::Version`` and ``Gem::Requirement``.

RubyGems versions are not PEP 440: segments are split on dots and letter runs,
any letter makes a version a prerelease, string segments sort before numeric
ones, and trailing zeros are insignificant (``1.0 == 1.0.0``). The behaviour
follows ``rubygems/version.rb`` and ``rubygems/requirement.rb`` (RubyGems 3.3);
the unit tests check it against Ruby itself.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Union

VERSION_PATTERN = r"[0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
_ANCHORED_VERSION = re.compile(rf"\A\s*({VERSION_PATTERN})?\s*\Z", re.ASCII)
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE | re.ASCII)
_LETTER = re.compile(r"[a-zA-Z]")
# Ruby's String#strip set (NUL is only stripped at the end, but NUL never passes
# the version pattern anyway).
_RUBY_WHITESPACE = " \t\n\v\f\r\0"

Segment = Union[int, str]


class InvalidVersion(ValueError):
    """A string that ``Gem::Version.correct?`` rejects."""


def is_correct(version: str | int) -> bool:
    """``Gem::Version.correct?``: may this string be used as a gem version?"""
    return _ANCHORED_VERSION.match(str(version)) is not None


def _compare_segments(lhs: list[Segment], rhs: list[Segment]) -> int:
    for i in range(max(len(lhs), len(rhs))):
        a = lhs[i] if i < len(lhs) else 0
        b = rhs[i] if i < len(rhs) else 0
        if a == b:
            continue
        if isinstance(a, str) and isinstance(b, int):
            return -1
        if isinstance(a, int) and isinstance(b, str):
            return 1
        return -1 if a < b else 1  # type: ignore[operator]
    return 0


@functools.total_ordering
class GemVersion:
    """An immutable ``Gem::Version``.

    ``str(v)`` is the normalized version string Ruby keeps (stripped, ``-``
    replaced by ``.pre.``), which is what indexes and Marshal dumps carry.
    """

    __slots__ = ("_version", "_segments", "_canonical")

    def __init__(self, version: str | int | "GemVersion"):
        if isinstance(version, GemVersion):
            version = version._version
        if not is_correct(version):
            raise InvalidVersion(f"Malformed version number string {version}")
        text = str(version)
        if isinstance(version, str) and text.strip(_RUBY_WHITESPACE) == "":
            text = "0"
        self._version = text.strip(_RUBY_WHITESPACE).replace("-", ".pre.")
        self._segments: tuple[Segment, ...] = tuple(
            int(s) if s.isdigit() else s for s in _SEGMENT.findall(self._version)
        )
        self._canonical: tuple[Segment, ...] | None = None

    @classmethod
    def from_yaml(cls, raw: str) -> "GemVersion":
        """A version exactly as a YAML ``!ruby/object:Gem::Version`` holds it.

        Ruby's ``yaml_initialize`` stores the string without normalizing it; we
        validate it (a gem with a malformed version must be refused) but keep it.
        """
        version = cls(raw)
        version._version = str(raw)
        version._segments = tuple(
            int(s) if s.isdigit() else s for s in _SEGMENT.findall(version._version)
        )
        return version

    # -- accessors -------------------------------------------------------
    def __str__(self) -> str:
        return self._version

    def __repr__(self) -> str:
        return f"GemVersion({self._version!r})"

    @property
    def version(self) -> str:
        return self._version

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    @property
    def is_prerelease(self) -> bool:
        return _LETTER.search(self._version) is not None

    @property
    def canonical_segments(self) -> tuple[Segment, ...]:
        if self._canonical is None:
            segs = list(self._segments)
            first_str = next((i for i, s in enumerate(segs) if isinstance(s, str)), len(segs))
            parts = []
            for part in (segs[:first_str], segs[first_str:]):
                while part and part[-1] == 0:
                    part.pop()
                parts.extend(part)
            self._canonical = tuple(parts)
        return self._canonical

    # -- derived versions ------------------------------------------------
    def release(self) -> "GemVersion":
        """The version without its prerelease (string) segments and what follows."""
        if not self.is_prerelease:
            return self
        segs = self.segments
        while any(isinstance(s, str) for s in segs):
            segs.pop()
        return GemVersion(".".join(str(s) for s in segs))

    def bump(self) -> "GemVersion":
        """``Gem::Version#bump``: the upper bound of a ``~>`` requirement."""
        segs = self.segments
        while any(isinstance(s, str) for s in segs):
            segs.pop()
        if len(segs) > 1:
            segs.pop()
        segs[-1] = int(segs[-1]) + 1
        return GemVersion(".".join(str(s) for s in segs))

    def approximate_recommendation(self) -> str:
        segs = self.segments
        while any(isinstance(s, str) for s in segs):
            segs.pop()
        while len(segs) > 2:
            segs.pop()
        while len(segs) < 2:
            segs.append(0)
        text = "~> " + ".".join(str(s) for s in segs)
        return text + ".a" if self.is_prerelease else text

    # -- ordering --------------------------------------------------------
    def compare(self, other: "GemVersion") -> int:
        """``Gem::Version#<=>``: -1, 0 or 1."""
        if self._version == other._version or self.canonical_segments == other.canonical_segments:
            return 0
        return _compare_segments(list(self.canonical_segments), list(other.canonical_segments))

    def sort_key(self) -> tuple:
        """A plain tuple that orders exactly as ``<=>`` does (usable in ``sorted``).

        Ruby pads the shorter segment list with zeros. Each maximal run of zeros is
        folded into the segment that ends it, and the list ends with a terminator
        standing for "zeros forever", which sorts above every string item and
        below every number item.
        """
        items: list[tuple] = []
        zeros = 0
        for seg in self.canonical_segments:
            if seg == 0:
                zeros += 1
            elif isinstance(seg, str):
                items.append((0, zeros, seg))
                zeros = 0
            else:
                items.append((2, -zeros, seg))
                zeros = 0
        items.append((1,))
        return tuple(items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) and is_correct(other):
            other = GemVersion(other)
        if not isinstance(other, GemVersion):
            return NotImplemented
        return self.compare(other) == 0

    def __lt__(self, other: object) -> bool:
        if isinstance(other, str) and is_correct(other):
            other = GemVersion(other)
        if not isinstance(other, GemVersion):
            return NotImplemented
        return self.compare(other) < 0

    def __hash__(self) -> int:
        return hash(self.canonical_segments)


def sort_key(version: str) -> tuple:
    """Sort key for a version string, for ``sorted(..., key=sort_key)``."""
    return GemVersion(version).sort_key()


# ---------------------------------------------------------------------------
# Gem::Requirement

OPERATORS = ("=", "!=", ">", "<", ">=", "<=", "~>")
_OPS_RE = "|".join(re.escape(op) for op in OPERATORS)
_REQUIREMENT = re.compile(rf"\A\s*({_OPS_RE})?\s*({VERSION_PATTERN})\s*\Z", re.ASCII)


class InvalidRequirement(ValueError):
    """``Gem::Requirement::BadRequirementError``."""


def parse_constraint(text: str | GemVersion) -> tuple[str, GemVersion]:
    """``Gem::Requirement.parse``: ``">= 1.0"`` -> ``(">=", GemVersion("1.0"))``."""
    if isinstance(text, GemVersion):
        return ("=", text)
    match = _REQUIREMENT.match(str(text))
    if match is None:
        raise InvalidRequirement(f"Illformed requirement [{text!r}]")
    return (match.group(1) or "=", GemVersion(match.group(2)))


class GemRequirement:
    """``Gem::Requirement``: a list of ``(operator, GemVersion)`` constraints, all of which must hold."""

    __slots__ = ("constraints",)

    def __init__(self, *requirements: str | GemVersion | Iterable):
        flat: list = []

        def flatten(items: Iterable) -> None:
            for item in items:
                if isinstance(item, (list, tuple)):
                    flatten(item)
                elif item is not None and item not in flat:
                    flat.append(item)

        flatten(requirements)
        if not flat:
            self.constraints: list[tuple[str, GemVersion]] = [(">=", GemVersion("0"))]
        else:
            self.constraints = [parse_constraint(r) for r in flat]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, GemVersion]]) -> "GemRequirement":
        """A requirement exactly as stored (YAML ``requirements:`` list), no de-duplication."""
        req = cls()
        req.constraints = [(op, v) for op, v in pairs]
        if not req.constraints:
            req.constraints = [(">=", GemVersion("0"))]
        return req

    @classmethod
    def default(cls) -> "GemRequirement":
        return cls()

    def as_list(self) -> list[str]:
        return [f"{op} {version}" for op, version in self.constraints]

    def __str__(self) -> str:
        """``Gem::Requirement#to_s``: ``">= 0.1, < 2"``."""
        return ", ".join(self.as_list())

    def __repr__(self) -> str:
        return f"GemRequirement({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GemRequirement):
            return NotImplemented
        return sorted(self.as_list()) == sorted(other.as_list())

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.as_list())))

    @property
    def is_none(self) -> bool:
        """True for the default ``>= 0``."""
        return len(self.constraints) == 1 and self.constraints[0][0] == ">=" and \
            self.constraints[0][1].canonical_segments == ()

    @property
    def is_prerelease(self) -> bool:
        return any(v.is_prerelease for _, v in self.constraints)

    def is_satisfied_by(self, version: GemVersion | str) -> bool:
        if not isinstance(version, GemVersion):
            version = GemVersion(version)
        return all(_satisfies(version, op, req) for op, req in self.constraints)


def _satisfies(version: GemVersion, op: str, req: GemVersion) -> bool:
    c = version.compare(req)
    if op == "=":
        return c == 0
    if op == "!=":
        return c != 0
    if op == ">":
        return c > 0
    if op == "<":
        return c < 0
    if op == ">=":
        return c >= 0
    if op == "<=":
        return c <= 0
    # "~>"
    return c >= 0 and version.release() < req.bump()
