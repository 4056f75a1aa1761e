"""AIGER 1.9 files, ASCII (``.aag``) and binary (``.aig``), combinational only.

Layout written (``M = I + A``, no latches)::

    aag M I 0 O A          (or "aig ...")
    <I input literals>     (ASCII only; implicit 2, 4, ..., 2I in binary)
    <O output literals>
    <A AND gates>          (ASCII "lhs rhs0 rhs1"; binary two 7-bit varint deltas)
    i<k> <bit name>        symbol table: x[i][j] for bit (i, j) of bus x
    o<k> <bit name>
    c
    nandc {json}           metadata: buses, shapes, signedness, layer runs

Only the output cone is written; AND ``k`` has lhs ``2 (I + 1 + k)`` and
``lhs > rhs0 >= rhs1``.  The binary AND section is encoded and decoded with
numpy, without a Python loop per gate.

Reading accepts any combinational AIGER 1.9 file (header with optional zero
B C J F counts, ASCII gates in any acyclic order, optional symbols and
comments) and returns a :class:`~nandc.ir.Circuit` whose inputs are in file
order, each in a bus: named bits are grouped by their names, unnamed inputs
go to a bus ``in`` and unnamed outputs to a bus ``out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nandc.errors import ParseError
from nandc.files.fsutil import atomic_write
from nandc.ir.circuit import Circuit
from nandc.ir.io.common import (
    CycleFound,
    Metadata,
    NumberedCircuit,
    layer_tags,
    number_circuit,
    parse_metadata,
    paused_gc,
    read_bytes,
    set_outputs,
    start_circuit,
    topological_order,
)
from nandc.ir.io.limits import check_memory, is_uint, parse_uint, split_tokens
from nandc.ir.netlist import NandNetlist

__all__ = ["aiger_bytes", "write_aiger", "read_aiger", "parse_aiger", "encode_deltas", "decode_deltas"]

_MAX_VAR = (1 << 31) - 1
_MAX_VARINT_BYTES = 5  # 35 bits: enough for any literal below 2**32
# Fewest bytes each declared item takes in a file: ASCII "2\n" per input or
# output, "2 0 0\n" per AND gate; binary: "0\n" per output, two one-byte
# deltas per AND gate, nothing per input (inputs are implicit).
_MIN_ASCII_BYTES = {"i": 2, "o": 2, "a": 6}
_MIN_BINARY_BYTES = {"i": 0, "o": 2, "a": 2}
_MAX_UNUSED_INPUTS = 1 << 20  # implicit binary inputs beyond those the gates and outputs can read
# Memory a reader needs per declared item (measured: about 300-400 bytes per
# AND gate, 180 per input on CPython 3.11), with some margin.
_BYTES_PER_AND = 450
_BYTES_PER_INPUT = 250
_BYTES_PER_OUTPUT = 150
_BYTES_PER_FILE_BYTE = 12  # symbol names and comments, split into lines
# Below this estimate, the readers (which allocate nothing per declared item
# before reading it) find a too-short file themselves and name the line.
_LAZY_CHECK_BYTES = 64 << 20


# ====================================================================== writing
def aiger_bytes(obj: Circuit | NandNetlist, binary: bool = True, layers: bool = True) -> bytes:
    """The AIGER file of ``obj``'s output cone (binary ``aig`` or ASCII ``aag``).

    Requires: a valid Circuit or NandNetlist (a netlist is converted with
    ``to_circuit``).  Ensures: a file every AIGER 1.9 reader accepts, with a
    symbol for every input and output bit and a ``nandc`` metadata comment
    (layer runs only if ``layers`` and some node is tagged).
    """
    nc = number_circuit(obj)
    out_lits = [b for bus in nc.outputs for b in bus.bits]
    magic = "aig" if binary else "aag"
    header = f"{magic} {nc.num_inputs + nc.num_ands} {nc.num_inputs} 0 {len(out_lits)} {nc.num_ands}\n"
    parts = [header.encode()]
    if not binary:
        parts.append("".join(f"{2 * v}\n" for v in range(1, nc.num_inputs + 1)).encode())
    parts.append("".join(f"{lit}\n" for lit in out_lits).encode())
    if binary:
        parts.append(encode_deltas(nc.lhs, nc.rhs0, nc.rhs1))
    else:
        rows = zip(nc.lhs.tolist(), nc.rhs0.tolist(), nc.rhs1.tolist())
        parts.append("".join(f"{a} {b} {c}\n" for a, b, c in rows).encode())
    parts.append(_symbols_and_comments(nc, layers).encode())
    return b"".join(parts)


def _symbols_and_comments(nc: NumberedCircuit, layers: bool) -> str:
    lines = []
    k = 0
    for bus in nc.inputs:
        for name in bus.bit_names():
            lines.append(f"i{k} {name}\n")
            k += 1
    k = 0
    for bus in nc.outputs:
        for name in bus.bit_names():
            lines.append(f"o{k} {name}\n")
            k += 1
    lines.append("c\n")
    lines.append(nc.metadata(layers).to_comment() + "\n")
    return "".join(lines)


def write_aiger(obj: Circuit | NandNetlist, path, binary: bool | None = None, layers: bool = True) -> None:
    """Write ``obj`` to ``path`` atomically; ``binary`` defaults to ``path`` ending in ``.aig``."""
    if binary is None:
        binary = Path(path).suffix.lower() != ".aag"
    data = aiger_bytes(obj, binary=binary, layers=layers)
    with atomic_write(path, "wb") as f:
        f.write(data)


def encode_deltas(lhs: np.ndarray, rhs0: np.ndarray, rhs1: np.ndarray) -> bytes:
    """The binary AIGER AND section: ``lhs - rhs0`` and ``rhs0 - rhs1`` as 7-bit varints.

    Requires ``lhs > rhs0 >= rhs1 >= 0`` element-wise (int64 arrays).
    """
    deltas = np.empty(2 * len(lhs), dtype=np.uint64)
    deltas[0::2] = np.asarray(lhs, dtype=np.int64) - np.asarray(rhs0, dtype=np.int64)
    deltas[1::2] = np.asarray(rhs0, dtype=np.int64) - np.asarray(rhs1, dtype=np.int64)
    if len(deltas) == 0:
        return b""
    nbytes = np.ones(len(deltas), dtype=np.int64)
    rest = deltas >> np.uint64(7)
    while rest.any():
        nbytes += rest != 0
        rest >>= np.uint64(7)
    ends = np.cumsum(nbytes)
    starts = ends - nbytes
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    for k in range(int(nbytes.max())):
        sel = nbytes > k
        chunk = (deltas[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[sel] + k] = (chunk | more).astype(np.uint8)
    return out.tobytes()


def decode_deltas(data: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """The first ``count`` 7-bit varints of ``data`` (uint8) and the bytes they use.

    Raises ValueError ``("truncated", found)`` if fewer than ``count`` varints
    are complete, ``("long", index, offset)`` if one is longer than 5 bytes.
    """
    if count == 0:
        return np.zeros(0, dtype=np.int64), 0
    window = data[: count * _MAX_VARINT_BYTES]
    ends = np.flatnonzero(window < 0x80)
    if len(ends) < count:
        raise ValueError("truncated", len(ends))
    ends = ends[:count]
    used = int(ends[-1]) + 1
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > _MAX_VARINT_BYTES:
        k = int(np.argmax(lengths > _MAX_VARINT_BYTES))
        raise ValueError("long", k, int(starts[k]))
    shift = (np.arange(used) - np.repeat(starts, lengths)) * 7
    parts = (window[:used] & 0x7F).astype(np.int64) << shift
    return np.bitwise_or.reduceat(parts, starts), used


# ====================================================================== reading
@dataclass(frozen=True)
class _Header:
    binary: bool
    m: int
    i: int
    o: int
    a: int

    def describe(self) -> str:
        return f"M={self.m} I={self.i} L=0 O={self.o} A={self.a}"


@dataclass(frozen=True)
class _Body:
    """A parsed AIGER file before it becomes a circuit (ANDs in file order)."""

    header: _Header
    inputs: np.ndarray  # input literals, file order
    outputs: np.ndarray  # output literals
    lhs: np.ndarray
    rhs0: np.ndarray
    rhs1: np.ndarray
    first_and_line: int | None  # line of the first AND gate (ASCII only)
    in_names: list[str | None]
    out_names: list[str | None]
    symbol_lines: tuple[list[int | None], list[int | None]]
    metadata: Metadata | None
    metadata_line: int | None


def read_aiger(path) -> Circuit:
    """Read an ASCII or binary AIGER file (the header decides which)."""
    return parse_aiger(read_bytes(path), str(path))


def parse_aiger(data: bytes, path: str = "<aiger>") -> Circuit:
    """A :class:`Circuit` from the bytes of an AIGER file; ``path`` is used in errors.

    Ensures: inputs in file order, every input and output in a bus (see
    module docs), AND nodes built through ``Circuit.and_`` in a topological
    order, layer tags restored from nandc metadata when present.
    """
    header = _parse_header(data, path)
    reader = _BinaryReader if header.binary else _AsciiReader
    with paused_gc():
        body = reader(data, path, header).read()
        return _build(body, path)


def _parse_header(data: bytes, path: str) -> _Header:
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).decode("latin-1")
    tokens = split_tokens(first)
    expected = "expected a header 'aag M I L O A' or 'aig M I L O A'"
    if not tokens or tokens[0] not in ("aag", "aig"):
        raise ParseError(f"{expected}, found {first[:40]!r}", path, 1)
    if not 6 <= len(tokens) <= 10 or not all(is_uint(t) for t in tokens[1:]):
        raise ParseError(f"{expected} with 5 to 9 unsigned integers, found {first[:80]!r}", path, 1)
    m, i, latches, o, a, *extra = (parse_uint(t, "a header count", path, 1) for t in tokens[1:])
    if latches:
        raise ParseError(f"the header declares L={latches} latches; nandc reads combinational AIGER only (L = 0)",
                         path, 1)
    for name, value in zip(("B (bad states)", "C (constraints)", "J (justice)", "F (fairness)"), extra):
        if value:
            raise ParseError(f"the header declares {name} = {value}; nandc supports only B = C = J = F = 0",
                             path, 1)
    if m > _MAX_VAR:
        raise ParseError(f"M = {m} is too large: nandc supports at most {_MAX_VAR} variables", path, 1)
    binary = tokens[0] == "aig"
    if binary and m != i + a:
        raise ParseError(f"binary header: expected M = I + L + A = {i + a}, found M = {m}", path, 1)
    if not binary and m < i + a:
        raise ParseError(f"header: expected M >= I + L + A = {i + a}, found M = {m}", path, 1)
    header = _Header(binary, m, i, o, a)
    estimate = _BYTES_PER_AND * a + _BYTES_PER_INPUT * i + _BYTES_PER_OUTPUT * o + _BYTES_PER_FILE_BYTE * len(data)
    if estimate > _LAZY_CHECK_BYTES:
        # small declared sizes are checked by the reader itself, line by line, with a precise message
        _check_declared_sizes(header, len(data) - (len(data) if end < 0 else end + 1), path)
    _check_unused_inputs(header, path)
    check_memory(estimate, f"the circuit the header declares ({header.describe()})", path, 1)
    return header


def _check_declared_sizes(h: _Header, body_bytes: int, path: str) -> None:
    """A ParseError if the rest of the file (``body_bytes``) cannot hold what the header declares."""
    per = _MIN_BINARY_BYTES if h.binary else _MIN_ASCII_BYTES
    counts = {"i": h.i, "o": h.o, "a": h.a}
    needed = sum(per[k] * counts[k] for k in per)
    if not h.binary and needed:
        needed -= 1  # the last line may lack its newline
    if body_bytes < needed:
        parts = ", ".join(f"{counts[k]} {what}" for k, what in (("i", "inputs"), ("o", "outputs"), ("a", "AND gates"))
                          if per[k] and counts[k])
        raise ParseError(
            f"the header declares {parts}, which take at least {needed} bytes, but only {body_bytes} bytes "
            "follow the header (truncated file or wrong header)",
            path, 1,
        )


def _check_unused_inputs(h: _Header, path: str) -> None:
    """Binary inputs take no bytes: refuse millions that no gate or output could read."""
    readable = 2 * h.a + h.o
    if h.binary and h.i > readable + _MAX_UNUSED_INPUTS:
        raise ParseError(
            f"the header declares I = {h.i} inputs, but its {h.a} AND gates and {h.o} outputs can read at most "
            f"{readable} of them; nandc accepts at most {_MAX_UNUSED_INPUTS} inputs that nothing reads",
            path, 1,
        )


class _TextLines:
    """Text lines of one region of the file with their 1-based line numbers."""

    def __init__(self, text: str, first_line: int):
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.first_line = first_line
        self.pos = 0

    def line_no(self) -> int:
        return self.first_line + self.pos

    def next(self, what: str, path: str) -> str:
        if self.pos >= len(self.lines):
            raise ParseError(f"unexpected end of file: expected {what}", path, self.line_no())
        text = self.lines[self.pos]
        self.pos += 1
        return text

    def rest(self) -> list[tuple[int, str]]:
        return [(self.first_line + k, t) for k, t in enumerate(self.lines[self.pos:], start=self.pos)]


def _literals(text: str, count: int, what: str, path: str, line: int, max_lit: int) -> list[int]:
    tokens = split_tokens(text)
    if len(tokens) != count or not all(is_uint(t) for t in tokens):
        plural = "literal" if count == 1 else f"{count} literals"
        raise ParseError(f"expected {what} as {plural} (unsigned integers), found {text[:80]!r}", path, line)
    lits = [parse_uint(t, f"a literal of {what}", path, line) for t in tokens]
    for lit in lits:
        if lit > max_lit:
            raise ParseError(
                f"literal {lit} is out of range: the header declares M = {(max_lit - 1) // 2}, "
                f"so literals must be at most {max_lit}",
                path, line,
            )
    return lits


_NOT_CANONICAL = str.maketrans("", "", "0123456789 \n")
_MAX_DIGITS = 10


def _canonical_rows(lines: list[str], k: int) -> np.ndarray | None:
    """Lines of exactly ``k`` integers separated by single spaces, as a ``(n, k)``
    array; None if any line is written any other way (then parse line by line)."""
    if not lines:
        return np.zeros((0, k), dtype=np.int64)
    joined = "\n".join(lines)
    if not joined or (joined.translate(_NOT_CANONICAL) or not is_uint(joined[0]) or not is_uint(joined[-1])
            or "  " in joined or " \n" in joined or "\n " in joined or "\n\n" in joined):
        return None
    if set(map(str.count, lines, [" "] * len(lines))) != {k - 1}:
        return None
    tokens = joined.split()
    if max(map(len, tokens)) > _MAX_DIGITS:
        return None
    return np.array(tokens, dtype=np.int64).reshape(-1, k)


class _AsciiReader:
    """ASCII AIGER: a vectorized pass for well-formed files; the line-by-line
    pass (:meth:`_checked`) runs when that fails and reports the first error."""

    def __init__(self, data: bytes, path: str, header: _Header):
        self.text = _TextLines(data.decode("utf-8", errors="replace"), 1)
        self.path = path
        self.h = header
        self.max_lit = 2 * header.m + 1

    def read(self) -> _Body:
        h, text = self.h, self.text
        text.next("the header", self.path)
        rows = self._fast(text.lines[text.pos: text.pos + h.i + h.o + h.a])
        if rows is None:
            rows = self._checked()
        else:
            text.pos += h.i + h.o + h.a
        inputs, outputs, gates = rows
        symbols = _parse_symbols(text.rest(), h, self.path)
        return _Body(h, inputs, outputs, gates[:, 0], gates[:, 1], gates[:, 2], 2 + h.i + h.o, *symbols)

    def _fast(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        h = self.h
        if len(lines) != h.i + h.o + h.a:
            return None
        ins = _canonical_rows(lines[: h.i], 1)
        outs = _canonical_rows(lines[h.i: h.i + h.o], 1)
        gates = _canonical_rows(lines[h.i + h.o:], 3)
        if ins is None or outs is None or gates is None:
            return None
        ins, outs = ins.ravel(), outs.ravel()
        defined = np.concatenate((ins, gates[:, 0]))
        if len(defined) and (defined.max() > self.max_lit or defined.min() < 2 or np.any(defined & 1)):
            return None
        if h.m > 4 * len(defined) + 1024:
            return None  # sparse variables: rare, checked line by line
        count = np.bincount(defined >> 1, minlength=h.m + 1)
        count[0] = 1
        used = np.concatenate((outs, gates[:, 1], gates[:, 2])) >> 1
        if np.any(count > 1) or (len(used) and (used.max() > h.m or np.any(count[used] == 0))):
            return None
        return ins, outs, gates

    def _checked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, path, text = self.h, self.path, self.text
        defined: dict[int, int] = {}  # variable -> defining line
        inputs = []
        for k in range(h.i):
            line = text.line_no()
            (lit,) = _literals(text.next(f"input {k} of {h.i}", path), 1, f"input {k}", path, line, self.max_lit)
            if lit < 2 or lit & 1:
                raise ParseError(f"input {k}: expected an even literal >= 2, found {lit}", path, line)
            self._define(lit >> 1, line, defined)
            inputs.append(lit)
        outputs = []
        for k in range(h.o):
            line = text.line_no()
            (lit,) = _literals(text.next(f"output {k} of {h.o}", path), 1, f"output {k}", path, line, self.max_lit)
            outputs.append(lit)
        gates = []
        for k in range(h.a):
            line = text.line_no()
            row = _literals(text.next(f"AND gate {k} of {h.a} ('lhs rhs0 rhs1')", path), 3,
                            f"AND gate {k} ('lhs rhs0 rhs1')", path, line, self.max_lit)
            if row[0] < 2 or row[0] & 1:
                raise ParseError(f"AND gate {k}: expected an even lhs literal >= 2, found {row[0]}", path, line)
            self._define(row[0] >> 1, line, defined)
            gates.append(row)
        first_and = 2 + h.i + h.o
        for k, row in enumerate(gates):
            for lit in row[1:]:
                if lit >= 2 and (lit >> 1) not in defined:
                    raise ParseError(
                        f"literal {lit} refers to variable {lit >> 1}, which is neither an input nor an AND gate",
                        path, first_and + k,
                    )
        for k, lit in enumerate(outputs):
            if lit >= 2 and (lit >> 1) not in defined:
                raise ParseError(
                    f"output {k}: literal {lit} refers to variable {lit >> 1}, which is neither an input "
                    "nor an AND gate",
                    path, 2 + h.i + k,
                )
        return (np.array(inputs, dtype=np.int64), np.array(outputs, dtype=np.int64),
                np.array(gates, dtype=np.int64).reshape(-1, 3))

    def _define(self, var: int, line: int, defined: dict[int, int]) -> None:
        first = defined.get(var)
        if first is not None:
            raise ParseError(f"variable {var} (literal {2 * var}) is defined twice: here and at line {first}",
                             self.path, line)
        defined[var] = line


class _BinaryReader:
    def __init__(self, data: bytes, path: str, header: _Header):
        self.data = data
        self.path = path
        self.h = header

    def read(self) -> _Body:
        h, path, data = self.h, self.path, self.data
        # header and output lines are text; find where they end
        offset = 0
        lines_before = 0
        out_text = []
        for k in range(h.o + 1):
            end = data.find(b"\n", offset)
            if end < 0:
                what = "the header's end of line" if k == 0 else f"output {k - 1} of {h.o}"
                raise ParseError(f"unexpected end of file: expected {what}", path, lines_before + 1)
            if k:
                out_text.append(data[offset:end].decode("ascii", errors="replace"))
            offset = end + 1
            lines_before += 1
        outputs = []
        for k, text in enumerate(out_text):
            (lit,) = _literals(text, 1, f"output {k}", path, 2 + k, 2 * h.m + 1)
            outputs.append(lit)
        buf = np.frombuffer(data, dtype=np.uint8, offset=offset)
        try:
            deltas, used = decode_deltas(buf, 2 * h.a)
        except ValueError as e:
            if e.args[0] == "truncated":
                raise ParseError(
                    f"unexpected end of file in the binary AND section: expected {2 * h.a} delta values "
                    f"for {h.a} AND gates, found {e.args[1]} complete ones",
                    path,
                ) from None
            gate = e.args[1] // 2
            raise ParseError(
                f"binary AND gate {gate}: a delta at byte offset {offset + e.args[2]} is longer than "
                f"{_MAX_VARINT_BYTES} bytes",
                path,
            ) from None
        lhs = 2 * (h.i + 1 + np.arange(h.a, dtype=np.int64))
        rhs0 = lhs - deltas[0::2]
        rhs1 = rhs0 - deltas[1::2]
        bad = (rhs0 >= lhs) | (rhs0 < 0)
        if bad.any():
            k = int(np.argmax(bad))
            raise ParseError(
                f"binary AND gate {k} (lhs {lhs[k]}): expected 0 <= rhs0 < lhs, found rhs0 = {rhs0[k]}", path
            )
        if (rhs1 < 0).any():
            k = int(np.argmax(rhs1 < 0))
            raise ParseError(
                f"binary AND gate {k} (lhs {lhs[k]}): expected 0 <= rhs1 <= rhs0 = {rhs0[k]}, "
                f"found rhs1 = {rhs1[k]}",
                path,
            )
        tail_start = offset + used
        first_line = lines_before + 1 + int(np.count_nonzero(buf[:used] == 0x0A))
        text = _TextLines(data[tail_start:].decode("utf-8", errors="replace"), first_line)
        symbols = _parse_symbols(text.rest(), h, path)
        inputs = 2 * np.arange(1, h.i + 1, dtype=np.int64)
        return _Body(h, inputs, np.array(outputs, dtype=np.int64), lhs, rhs0, rhs1, None, *symbols)


def _parse_symbols(lines: list[tuple[int, str]], h: _Header, path: str):
    """Symbol table and comments: names per input/output, their lines, metadata."""
    in_names: list[str | None] = [None] * h.i
    out_names: list[str | None] = [None] * h.o
    in_lines: list[int | None] = [None] * h.i
    out_lines: list[int | None] = [None] * h.o
    counts = {"i": h.i, "o": h.o, "l": 0, "b": 0, "c": 0, "j": 0, "f": 0}
    kinds = {"i": "inputs", "o": "outputs", "l": "latches", "b": "bad states", "c": "constraints",
             "j": "justice properties", "f": "fairness properties"}
    metadata = metadata_line = None
    for k, (line, text) in enumerate(lines):
        if text.rstrip("\r") == "c":
            for cline, ctext in lines[k + 1:]:
                meta = parse_metadata(ctext.rstrip("\r"), path, cline)
                if meta is not None:
                    metadata, metadata_line = meta, cline
            break
        if not split_tokens(text):
            continue
        if all(is_uint(t) for t in split_tokens(text)):
            raise ParseError(
                f"unexpected line {text[:60]!r} after the {h.o} outputs and {h.a} AND gates the header "
                "declares (expected a symbol table or 'c')",
                path, line,
            )
        kind, _, rest = text.partition(" ")
        if not (kind[:1] in counts and is_uint(kind[1:]) and rest):
            raise ParseError(
                f"expected a symbol ('i<k> name', 'o<k> name') or 'c' starting the comments, found {text[:60]!r}",
                path, line,
            )
        pos = parse_uint(kind[1:], f"the position of symbol {kind[:30]!r}", path, line)
        letter = kind[0]
        if pos >= counts[letter]:
            raise ParseError(
                f"symbol {kind!r} is out of range: the header declares {counts[letter]} {kinds[letter]}",
                path, line,
            )
        names, where = (in_names, in_lines) if letter == "i" else (out_names, out_lines)
        if names[pos] is not None:
            raise ParseError(f"symbol {kind!r} is given twice (first at line {where[pos]})", path, line)
        names[pos] = rest.rstrip("\r")
        where[pos] = line
    return in_names, out_names, (in_lines, out_lines), metadata, metadata_line


def _and_order(body: _Body, path: str) -> np.ndarray:
    """Indices of the AND gates in a topological order (file order when it is one)."""
    lhs_var = body.lhs >> 1
    deps0, deps1 = body.rhs0 >> 1, body.rhs1 >> 1
    if len(lhs_var) == 0 or (np.all(deps0 < lhs_var) and np.all(deps1 < lhs_var)):
        return np.argsort(lhs_var, kind="stable")
    index = {v: k for k, v in enumerate(lhs_var.tolist())}
    deps = {v: (a, b) for v, a, b in zip(lhs_var.tolist(), deps0.tolist(), deps1.tolist())}
    try:
        order = topological_order(lhs_var.tolist(), deps)
    except CycleFound as cyc:
        chain = " -> ".join(str(v) for v in cyc.cycle)
        line = body.first_and_line + index[cyc.cycle[0]] if body.first_and_line else None
        raise ParseError(f"the AND gates form a cycle through variables {chain}", path, line) from None
    return np.array([index[v] for v in order], dtype=np.int64)


def _build(body: _Body, path: str) -> Circuit:
    h = body.header
    meta = body.metadata
    in_lines, out_lines = body.symbol_lines
    circuit, in_lits, out_groups = start_circuit(Path(path).stem, body.in_names, in_lines, body.out_names,
                                                 out_lines, meta, path)
    # a dict when the header's M is far larger than the variables actually defined
    dense = h.m <= 2 * (h.i + h.a) + 1024
    lit_of_var: list[int] | dict[int, int] = [0] * (h.m + 1) if dense else {0: 0}
    for lit, new in zip(body.inputs.tolist(), in_lits):
        lit_of_var[lit >> 1] = new
    order = _and_order(body, path)
    tags, names = layer_tags(meta, order, "AND gates", path, body.metadata_line)
    lhs_var = (body.lhs[order] >> 1).tolist()
    a, b = body.rhs0[order], body.rhs1[order]
    a_var, a_neg, b_var, b_neg = (a >> 1).tolist(), (a & 1).tolist(), (b >> 1).tolist(), (b & 1).tolist()
    current = 0
    and_ = circuit.and_
    for v, x, xn, y, yn, tag in zip(lhs_var, a_var, a_neg, b_var, b_neg, tags):
        if tag != current:
            current = tag
            circuit.current_layer = names[tag]
        lit_of_var[v] = and_(lit_of_var[x] ^ xn, lit_of_var[y] ^ yn)
    circuit.current_layer = ""
    out_lits = [lit_of_var[lit >> 1] ^ (lit & 1) for lit in body.outputs.tolist()]
    set_outputs(circuit, out_groups, out_lits)
    return circuit
