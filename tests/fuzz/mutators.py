"""Mutations of valid files: byte flips, token edits, line shuffles, splices, truncations.

Every mutation is a pure function of a :class:`random.Random`, so a seed
replays a mutant exactly (the campaign prints seeds of failures).
"""

from __future__ import annotations

import random
import re

INTERESTING = [
    b"0", b"1", b"2", b"9", b"-1", b"00", b"\xc2\xb2", "\u2460".encode(), "\u0661".encode(), b"4294967295",
    b"2147483647", b"18446744073709551616", b"9" * 30, b" ", b"\n", b"\r\n", b"\t", b"\\", b"#", b".", b"[",
    b"]", b"{", b"}", b'"', b"c", b"i0", b"o0", b"NaN", b"1e999", b"true", b"null", b"[" * 50, b"\x00",
    b"\xff", b".end", b".names", b".gate nand2", b".inputs", b".outputs", b"=", b"-", b"aag", b"aig",
]
_NUMBER = re.compile(rb"\d+")


def _flip_bit(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


def _set_byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    i = rng.randrange(len(data))
    return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]


def _insert_token(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(INTERESTING) + data[i:]


def _replace_token(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    j = min(len(data), i + rng.randrange(1, 8))
    return data[:i] + rng.choice(INTERESTING) + data[j:]


def _delete_range(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randrange(1, 32):]


def _edit_number(rng: random.Random, data: bytes) -> bytes:
    found = list(_NUMBER.finditer(data))
    if not found:
        return _insert_token(rng, data)
    m = rng.choice(found)
    value = int(m.group())
    new = rng.choice([value + 1, value - 1, value * 2, value // 2, 0, 1, rng.randrange(1 << rng.randrange(1, 40)),
                      value + 2 ** 31, 10 ** rng.randrange(1, 25)])
    text = str(new).encode() if new >= 0 else b"-" + str(-new).encode()
    return data[:m.start()] + text + data[m.end():]


def _flip_parity(rng: random.Random, data: bytes) -> bytes:
    """Flip the lowest bit of one number: negates an AIGER literal, swaps a BLIF 0/1, keeps most files valid."""
    found = list(_NUMBER.finditer(data))
    if not found:
        return data
    m = rng.choice(found)
    return data[:m.start()] + str(int(m.group()) ^ 1).encode() + data[m.end():]


def _lines(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    if len(lines) < 2:
        return data
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(3)
    if op == 0:
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 1:
        lines.insert(j, lines[i])
    else:
        del lines[i]
    return b"\n".join(lines)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def _splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    i, j = rng.randrange(len(data) + 1), rng.randrange(len(other) + 1)
    return data[:i] + other[j:j + rng.randrange(1, 200)] + data[i:]


MUTATORS = [_flip_bit, _set_byte, _insert_token, _replace_token, _delete_range, _edit_number, _edit_number,
            _flip_parity, _flip_parity, _flip_parity, _lines, _lines, _truncate]


def apply(data: bytes, ops: list[tuple[int, int]]) -> bytes:
    """``data`` after mutations ``(index into MUTATORS, seed)`` (the form hypothesis draws and shrinks)."""
    for index, seed in ops:
        data = MUTATORS[index % len(MUTATORS)](random.Random(seed), data)
    return data


def mutate(rng: random.Random, data: bytes, corpus: list[bytes], rounds: int | None = None) -> bytes:
    """``data`` after 1 to 4 random mutations (a splice with another corpus file among them)."""
    for _ in range(rounds if rounds is not None else rng.choice((1, 1, 1, 2, 3, 4))):
        if corpus and rng.random() < 0.08:
            data = _splice(rng, data, rng.choice(corpus))
        else:
            data = rng.choice(MUTATORS)(rng, data)
    return data
