"""A small writer for Ruby's Marshal format 4.8, enough for RubyGems' indexes.

Ruby's ``Marshal.dump`` output is what ``gem`` and ``bundler`` load from
``specs.4.8.gz`` and the quick ``.gemspec.rz`` files, and our tests compare our
bytes with Ruby's. Two tables shape those bytes:

- symbols: the first use writes ``:name``, later uses ``;index``;
- objects: every non-immediate object (strings, arrays, hashes, user objects,
  bignums) gets the next index, and writing the *same* object again writes
  ``@index``. Ruby decides "same" by identity. Python identity is not a safe
  stand-in (CPython interns strings and small values), so here only the explicit
  wrapper instances below (``RubyString``, ``UserMarshal``, ``UserDefined``,
  ``RubyObject``, ``RubyTime``) are ever linked, and only when the very same
  instance is written twice. Plain ``str``, ``list`` and ``dict`` are always
  written out in full.

Python values map as: None/True/False, int (fixnum or bignum), ``str`` (a UTF-8
String), ``bytes`` (a binary String), ``Symbol``, ``list`` (Array), ``dict``
(Hash, insertion order).
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field
from typing import Any

MAJOR, MINOR = 4, 8
_FIXNUM_MIN, _FIXNUM_MAX = -(2**30), 2**30 - 1


class Symbol(str):
    """A Ruby Symbol (the name, without the colon)."""


@dataclass(eq=False)
class RubyString:
    """A String with an explicit encoding (``str`` is UTF-8, ``bytes`` is binary)."""

    value: str | bytes
    encoding: str = "UTF-8"

    def data(self) -> bytes:
        if isinstance(self.value, bytes):
            return self.value
        codec = {"US-ASCII": "ascii", "ASCII-8BIT": "latin-1", "BINARY": "latin-1"}.get(self.encoding, self.encoding)
        return self.value.encode(codec)


@dataclass(eq=False)
class UserMarshal:
    """An object with ``marshal_dump`` (type ``U``), e.g. ``Gem::Version`` -> ``["1.0"]``."""

    class_name: str
    data: Any


@dataclass(eq=False)
class UserDefined:
    """An object with ``_dump`` (type ``u``): the class name and the dumped bytes."""

    class_name: str
    payload: bytes


@dataclass(eq=False)
class RubyObject:
    """A plain object (type ``o``): instance variables in order, names with ``@``."""

    class_name: str
    ivars: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class RubyTime:
    """A ``Time`` (Ruby dumps it with ``_dump``); only UTC times with microsecond precision."""

    when: dt.datetime


def _long(n: int) -> bytes:
    """Marshal's packed integer (``w_long``): small values in one byte, else 1-4 bytes LE."""
    if n == 0:
        return b"\x00"
    if 0 < n < 123:
        return bytes([n + 5])
    if -124 < n < 0:
        return bytes([(n - 5) & 0xFF])
    raw = []
    x = n
    for size in range(1, 5):
        raw.append(x & 0xFF)
        x >>= 8
        if x == 0:
            return bytes([size, *raw])
        if x == -1:
            return bytes([256 - size, *raw])
    raise OverflowError(f"{n} does not fit a Marshal long")


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()
        self.symbols: dict[str, int] = {}
        self.objects: dict[int, int] = {}  # id(wrapper) -> index
        self.count = 0
        self._keep: list[Any] = []  # keep linked wrappers alive so ids stay unique

    def remember(self, obj: Any) -> None:
        if isinstance(obj, (RubyString, UserMarshal, UserDefined, RubyObject, RubyTime)):
            self.objects[id(obj)] = self.count
            self._keep.append(obj)
        self.count += 1

    def bytes_(self, data: bytes) -> None:
        self.out += _long(len(data)) + data

    def symbol(self, name: str) -> None:
        if name in self.symbols:
            self.out += b";" + _long(self.symbols[name])
            return
        self.symbols[name] = len(self.symbols)
        raw = name.encode("utf-8")
        if raw.isascii():
            self.out += b":"
            self.bytes_(raw)
        else:
            self.out += b"I:"
            self.bytes_(raw)
            self.out += _long(1)
            self.symbol("E")
            self.out += b"T"

    def encoding_ivars(self, encoding: str) -> list[tuple[str, Any]]:
        if encoding == "UTF-8":
            return [("E", True)]
        if encoding == "US-ASCII":
            return [("E", False)]
        if encoding in ("ASCII-8BIT", "BINARY"):
            return []
        return [("encoding", encoding.encode("ascii"))]

    def string(self, data: bytes, encoding: str, obj: Any) -> None:
        ivars = self.encoding_ivars(encoding)
        self.remember(obj)
        if ivars:
            self.out += b"I"
        self.out += b'"'
        self.bytes_(data)
        self.ivars(ivars)

    def ivars(self, ivars: list[tuple[str, Any]]) -> None:
        if not ivars:
            return
        self.out += _long(len(ivars))
        for name, value in ivars:
            self.symbol(name)
            self.write(value)

    def write(self, obj: Any) -> None:
        if obj is None:
            self.out += b"0"
        elif obj is True:
            self.out += b"T"
        elif obj is False:
            self.out += b"F"
        elif isinstance(obj, Symbol):
            self.symbol(str(obj))
        elif isinstance(obj, int):
            self.integer(obj)
        elif id(obj) in self.objects:
            self.out += b"@" + _long(self.objects[id(obj)])
        elif isinstance(obj, str):
            self.string(obj.encode("utf-8"), "UTF-8", obj)
        elif isinstance(obj, bytes):
            self.string(obj, "ASCII-8BIT", obj)
        elif isinstance(obj, RubyString):
            self.string(obj.data(), obj.encoding, obj)
        elif isinstance(obj, list):
            self.remember(obj)
            self.out += b"[" + _long(len(obj))
            for item in obj:
                self.write(item)
        elif isinstance(obj, dict):
            self.remember(obj)
            self.out += b"{" + _long(len(obj))
            for key, value in obj.items():
                self.write(key)
                self.write(value)
        elif isinstance(obj, UserMarshal):
            self.remember(obj)
            self.out += b"U"
            self.symbol(obj.class_name)
            self.write(obj.data)
        elif isinstance(obj, UserDefined):
            self.out += b"u"
            self.symbol(obj.class_name)
            self.bytes_(obj.payload)
            self.remember(obj)
        elif isinstance(obj, RubyObject):
            self.remember(obj)
            self.out += b"o"
            self.symbol(obj.class_name)
            self.out += _long(len(obj.ivars))
            for name, value in obj.ivars.items():
                self.symbol(name)
                self.write(value)
        elif isinstance(obj, RubyTime):
            self.time(obj)
        else:
            raise TypeError(f"cannot write {type(obj).__name__} as Ruby Marshal")

    def integer(self, n: int) -> None:
        if _FIXNUM_MIN <= n <= _FIXNUM_MAX:
            self.out += b"i" + _long(n)
            return
        self.count += 1  # a Bignum is an object
        magnitude = abs(n)
        size = (magnitude.bit_length() + 15) // 16
        self.out += b"l" + (b"+" if n > 0 else b"-") + _long(size)
        self.out += magnitude.to_bytes(size * 2, "little")

    def time(self, obj: RubyTime) -> None:
        """``Time#_dump`` for a UTC time: two packed little-endian words and a ``zone`` ivar."""
        when = obj.when
        if when.tzinfo is None or when.utcoffset() != dt.timedelta(0):
            raise ValueError("only UTC times can be written")
        if not 1900 <= when.year < 1900 + 0x10000:
            raise ValueError("year out of range for Marshal's Time format")
        high = (1 << 31) | (1 << 30) | ((when.year - 1900) << 14) | ((when.month - 1) << 10) | \
            (when.day << 5) | when.hour
        low = (when.minute << 26) | (when.second << 20) | when.microsecond
        self.out += b"Iu"
        self.symbol("Time")
        self.bytes_(struct.pack("<II", high, low))
        self.out += _long(1)
        self.symbol("zone")
        self.write(RubyString("UTC", "US-ASCII"))
        self.remember(obj)


def dumps(obj: Any) -> bytes:
    """``Marshal.dump(obj)``."""
    writer = _Writer()
    writer.write(obj)
    return bytes([MAJOR, MINOR]) + bytes(writer.out)


def gem_version(version: str) -> UserMarshal:
    """``Gem::Version.new(version)`` as Marshal writes it: ``U`` with ``[version]``."""
    return UserMarshal("Gem::Version", [str(version)])
