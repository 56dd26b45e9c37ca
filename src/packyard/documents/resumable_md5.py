"""MD5 that can stop and go on later: the state after a prefix is kept as bytes, so the MD5 of an
append-only document after one more line costs O(line), not O(document).

`hashlib` cannot export its state, hence this small pure-Python MD5 (RFC 1321). It is only ever
fed the appended lines (a ~100-byte line is two 64-byte blocks: microseconds); a whole body is
fed through it only when an append-only document is rewritten (a compaction).
"""

from __future__ import annotations

import math
import struct

_S = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_K = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_INIT = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
_MASK = 0xFFFFFFFF
_STATE = struct.Struct("<4IQ")  # a, b, c, d, bytes processed so far; then the unprocessed tail (< 64 bytes)


def _compress(state: tuple[int, int, int, int], block: bytes) -> tuple[int, int, int, int]:
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | (~d & _MASK)), (7 * i) % 16
        rotated = (a + f + _K[i] + words[g]) & _MASK
        a, d, c = d, c, b
        b = (b + ((rotated << _S[i]) | (rotated >> (32 - _S[i])))) & _MASK
    return ((state[0] + a) & _MASK, (state[1] + b) & _MASK, (state[2] + c) & _MASK, (state[3] + d) & _MASK)


class ResumableMD5:
    def __init__(self, state: bytes | None = None):
        if state:
            *words, self._length = _STATE.unpack_from(state)
            self._words = tuple(words)
            self._tail = state[_STATE.size:]
        else:
            self._words, self._length, self._tail = _INIT, 0, b""

    def update(self, data: bytes) -> ResumableMD5:
        data = self._tail + data
        whole = len(data) - len(data) % 64
        words = self._words
        for start in range(0, whole, 64):
            words = _compress(words, data[start:start + 64])
        self._words, self._tail = words, data[whole:]
        self._length += whole
        return self

    def state(self) -> bytes:
        """Everything needed to go on: 24 bytes plus the unprocessed tail."""
        return _STATE.pack(*self._words, self._length) + self._tail

    def hexdigest(self) -> str:
        total_bits = (self._length + len(self._tail)) * 8
        padding = b"\x80" + b"\x00" * ((55 - len(self._tail)) % 64) + struct.pack("<Q", total_bits & 0xFFFFFFFFFFFFFFFF)
        words = self._words
        data = self._tail + padding
        for start in range(0, len(data), 64):
            words = _compress(words, data[start:start + 64])
        return struct.pack("<4I", *words).hex()
