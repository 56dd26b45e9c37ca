"""``Gem::Platform`` parsing: how RubyGems normalizes a gem's platform string.

A spec's YAML keeps the *original* platform string (``original_platform``); Ruby
then builds ``Gem::Platform.new(original)``, whose ``to_s`` is the platform used
in ``full_name``, the compact index and the ``/gems/`` file name. For the usual
platforms (``x86_64-linux``, ``java``, ``x86-mingw32``, ``arm64-darwin``) both are
the same; odd spellings such as ``i686-linux`` or ``x86_64-linux-gnu`` are not.
Port of ``Gem::Platform#initialize`` (RubyGems 3.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

RUBY = "ruby"


class InvalidPlatform(ValueError):
    pass


@dataclass(frozen=True)
class GemPlatform:
    cpu: Optional[str]
    os: str
    version: Optional[str]

    def __str__(self) -> str:
        return "-".join(p for p in (self.cpu, self.os, self.version) if p is not None)


_OS_RULES: list[tuple[str, object]] = [
    (r"aix(\d+)?", lambda m: ("aix", m.group(1))),
    (r"cygwin", lambda m: ("cygwin", None)),
    (r"darwin(\d+)?", lambda m: ("darwin", m.group(1))),
    (r"^macruby$", lambda m: ("macruby", None)),
    (r"freebsd(\d+)?", lambda m: ("freebsd", m.group(1))),
    (r"hpux(\d+)?", lambda m: ("hpux", m.group(1))),
    (r"^java$|^jruby$", lambda m: ("java", None)),
    (r"^java([\d.]*)", lambda m: ("java", m.group(1))),
    (r"^dalvik(\d+)?$", lambda m: ("dalvik", m.group(1))),
    (r"^dotnet$", lambda m: ("dotnet", None)),
    (r"^dotnet([\d.]*)", lambda m: ("dotnet", m.group(1))),
    (r"linux-?((?!gnu)\w+)?", lambda m: ("linux", m.group(1))),
    (r"mingw32", lambda m: ("mingw32", None)),
    (r"mingw-?(\w+)?", lambda m: ("mingw", m.group(1))),
    (r"(mswin\d+)(_(\d+))?", None),  # handled specially (may set the cpu)
    (r"netbsdelf", lambda m: ("netbsdelf", None)),
    (r"openbsd(\d+\.\d+)?", lambda m: ("openbsd", m.group(1))),
    (r"bitrig(\d+\.\d+)?", lambda m: ("bitrig", m.group(1))),
    (r"solaris(\d+\.\d+)?", lambda m: ("solaris", m.group(1))),
    (r"^(\w+_platform)(\d+)?", lambda m: (m.group(1), m.group(2))),
]
_OS_RULES_COMPILED = [(re.compile(p, re.ASCII | re.MULTILINE), f) for p, f in _OS_RULES]


def parse_platform(text: Optional[str]) -> Optional[GemPlatform]:
    """``Gem::Platform.new(text)``; None stands for the pure-Ruby platform ``ruby``."""
    if text is None or text in ("", RUBY):
        return None
    if text == "current":
        raise InvalidPlatform("the platform 'current' must be resolved by `gem build`, not stored in a gem")
    arch = text.split("-")
    # Ruby's String#split drops trailing empty fields.
    while arch and arch[-1] == "":
        arch.pop()
    if not arch:
        raise InvalidPlatform(f"invalid platform {text!r}")
    if len(arch) > 2 and not re.search(r"\d", arch[-1]):
        extra = arch.pop()
        arch[-1] = f"{arch[-1]}-{extra}"
    cpu: Optional[str] = arch.pop(0)
    if re.search(r"i\d86", cpu or "", re.ASCII):
        cpu = "x86"
    if len(arch) == 2 and re.search(r"^\d+(\.\d+)?$", arch[-1], re.ASCII | re.MULTILINE):
        return GemPlatform(cpu, arch[0], arch[1])
    os_name = arch[0] if arch else None
    if os_name is None:  # legacy jruby: a single word is the os
        cpu, os_name = None, cpu
    for pattern, build in _OS_RULES_COMPILED:
        m = pattern.search(os_name or "")
        if m is None:
            continue
        if build is None:
            os_value, version = m.group(1), m.group(3)
            if cpu is None and os_value.endswith("32"):
                cpu = "x86"
            return GemPlatform(cpu, os_value, version)
        os_value, version = build(m)
        return GemPlatform(cpu, os_value, version)
    return GemPlatform(cpu, "unknown", None)


def normalize_platform(text: Optional[str]) -> str:
    """``Gem::Platform.new(text).to_s``, with ``ruby`` for the pure-Ruby platform."""
    platform = parse_platform(text)
    return RUBY if platform is None else str(platform)


def canonical_platform(text: Optional[str]) -> str:
    """``normalize_platform(text)`` for a platform RubyGems recognises; InvalidPlatform otherwise.

    A platform whose operating system ``Gem::Platform`` does not know becomes ``<cpu>-unknown``,
    and one whose ``to_s`` parses to something else again would name its file differently in the
    indexes; both are refused with the reason rather than stored rewritten.
    """
    platform = parse_platform(text)
    if platform is None:
        return RUBY
    result = str(platform)
    if platform.os == "unknown" or normalize_platform(result) != result:
        raise InvalidPlatform(
            f"invalid platform {text!r}: RubyGems does not recognise it (Gem::Platform reads it as {result!r}); "
            "use a platform such as x86_64-linux, aarch64-linux, arm64-darwin, x64-mingw-ucrt or java"
        )
    return result
