"""Defensive parsing shared by every reader of untrusted files.

A file nandc reads may have been damaged or written by someone hostile.  The
helpers here turn everything such a file can hold into a
:class:`~nandc.errors.ParseError` that says what was expected, what was found
and where, before anything large is allocated:

* :func:`parse_uint` accepts ASCII digits only (``str.isdigit`` also accepts
  ``"²"`` and ``"①"``) and bounds their number;
* :func:`load_json` parses JSON with a bounded size and nesting depth
  (``json.loads`` raises ``RecursionError`` on deep nesting and
  ``ValueError`` on integers of thousands of digits);
* :func:`check_memory` compares what a file declares with the memory this
  machine has, so a small file that declares a huge circuit fails at once
  with an estimate instead of after minutes.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np

from nandc.errors import ParseError

__all__ = [
    "MAX_JSON_DEPTH",
    "available_memory",
    "check_memory",
    "describe_bytes",
    "is_uint",
    "json_depth",
    "load_json",
    "parse_uint",
    "split_tokens",
]

MAX_UINT_DIGITS = 20
"""Longest decimal number a header or literal may have (2**64 has 20 digits)."""

MAX_JSON_DEPTH = 16
"""Deepest nesting of lists and objects in any JSON nandc reads (its own use 4)."""

MEMORY_ENV = "NANDC_MAX_MEMORY"
"""Environment variable: the memory (bytes, or with a K/M/G suffix) a reader may plan to use."""


def is_uint(token: str) -> bool:
    """Whether ``token`` is a non-empty run of ASCII digits ``0-9``."""
    return token.isascii() and token.isdigit()


_ASCII_SPACE_RE = re.compile(r"[ \t\n\r\f\v]+")
_OTHER_SPACE = re.compile(r"[^\x21-\x7e \t\n\r\f\v]")  # what str.split also splits on, among others


def split_tokens(text: str) -> list[str]:
    """``text`` split at ASCII whitespace only (``str.split`` also splits at ``\\x1c``, ``\\xa0``, ``\\u2028`` ...)."""
    if not _OTHER_SPACE.search(text):
        return text.split()
    return [t for t in _ASCII_SPACE_RE.split(text) if t]


def parse_uint(token: str, what: str, path: str | None, line: int | None = None) -> int:
    """``int(token)`` for a token of ASCII digits, else a ParseError naming ``what``."""
    if not is_uint(token):
        raise ParseError(f"expected {what} as an unsigned decimal integer (digits 0-9), found {token[:40]!r}",
                         path, line)
    if len(token) > MAX_UINT_DIGITS:
        raise ParseError(f"{what} has {len(token)} digits; nandc reads numbers of at most "
                         f"{MAX_UINT_DIGITS} digits", path, line)
    return int(token)


_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text (brackets inside strings ignored)."""
    brackets = _NOT_BRACKET_RE.sub("", _JSON_STRING_RE.sub("", text)).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(text: str | bytes, what: str, path: str | None, line: int | None = None,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON (no ``NaN``/``Infinity``) nested at most ``max_depth`` deep.

    Any malformation, including bytes that are not UTF-8 and integers too long
    for Python to convert, is a ParseError naming ``what``.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError(f"{what} is not UTF-8 text (byte offset {e.start})", path, line) from None
    if "[" in text or "{" in text:
        depth = json_depth(text)
        if depth > max_depth:
            raise ParseError(f"{what} is nested {depth} levels deep; at most {max_depth} are allowed",
                             path, line)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ParseError(f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}",
                         path, line) from None
    except ValueError as e:  # a constant like NaN, or an integer too long to convert
        found = "an integer with thousands of digits" if "digits" in str(e) else str(e)
        raise ParseError(f"{what} is not valid JSON: {found}", path, line) from None
    except RecursionError:  # cannot happen below max_depth; kept as a last guard
        raise ParseError(f"{what} is nested too deeply", path, line) from None


def describe_bytes(n: float) -> str:
    """``1.5 GB``, ``320 MB``, ``12 kB``."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def _parse_size(text: str) -> int | None:
    text = text.strip().upper()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    digits = text[:-1] if scale > 1 else text
    return int(digits) * scale if is_uint(digits) else None


def available_memory() -> int | None:
    """Bytes a reader may plan to use: ``$NANDC_MAX_MEMORY`` if set, else the memory
    available on this machine (Linux ``MemAvailable``), else None (unknown)."""
    env = os.environ.get(MEMORY_ENV)
    if env:
        size = _parse_size(env)
        if size is not None:
            return size
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(estimate: int, what: str, path: str | None, line: int | None = None) -> None:
    """A ParseError if building ``what`` needs more than :func:`available_memory`."""
    budget = available_memory()
    if budget is not None and estimate > budget:
        raise ParseError(
            f"{what} would need about {describe_bytes(estimate)} of memory to build, but only "
            f"{describe_bytes(budget)} are available (set ${MEMORY_ENV} to change the limit)",
            path, line,
        )
