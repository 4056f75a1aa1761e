"""BLIF files (Berkeley Logic Interchange Format), combinational only.

Writing:

* a :class:`~nandc.ir.Circuit` becomes one ``.names`` cover per AND node of
  the output cone (complemented fanins are ``0`` in the cover), then one
  buffer or inverter per output bit; a constant output is ``.names y`` with
  the row ``1`` (true) or no row (false);
* a :class:`~nandc.ir.NandNetlist` becomes either ``.names`` NAND covers
  (``style="names"``) or ``.gate`` instances of the cells in
  ``nandc/data/nand.genlib`` (``style="gates"``): ``nand2``, ``inv`` for
  ``NAND(x, x)``, and the zero-area ``zero``/``one``/``buf`` for constants and
  output bits.  A gate-level file uses no ``.names`` at all, since ABC
  cannot read a file that mixes both.

Signals are named after bus bits (``x[2][0]``); internal signals are ``n<k>``
(``k`` = AIGER variable for circuits, signal id for netlists).  A
``# nandc {json}`` comment records buses and layer tags (see
:mod:`nandc.ir.io.common`).

Reading accepts ``.model``, ``.inputs``, ``.outputs``, ``.names`` (any
ON-set or OFF-set cover with ``0 1 -``), ``.gate``/``.subckt`` of the cells
``nand2 and2 or2 inv buf zero one`` (pins ``A B Y``) and ``.end``, with ``\\``
line continuation and ``#`` comments.  Signals may be defined in any order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nandc.errors import CircuitError, NandcError, ParseError
from nandc.files.fsutil import atomic_write
from nandc.ir.circuit import Bus, Circuit
from nandc.ir.io.common import (
    CycleFound,
    Metadata,
    complete_input_buses,
    layer_tags,
    metadata_of,
    number_circuit,
    parse_metadata,
    paused_gc,
    read_bytes,
    set_outputs,
    start_circuit,
    topological_order,
)
from nandc.ir.io.limits import check_memory, is_uint, split_tokens
from nandc.ir.netlist import NandNetlist

__all__ = ["blif_text", "write_blif", "read_blif", "parse_blif", "genlib_path", "CELLS", "STYLES"]

STYLES = ("names", "gates")
_NAMES_PER_LINE = 8
_BYTES_PER_FILE_BYTE = 45  # memory reading needs per byte of BLIF text (measured: about 36)


def genlib_path() -> Path:
    """Path of the cell library that gate-level BLIF files refer to."""
    return Path(str(resources.files("nandc") / "data" / "nand.genlib"))


# ====================================================================== writing
@dataclass(frozen=True)
class _Statement:
    """One definition in the file: its text and the layer id it records."""

    text: str
    layer: int = 0


def _wrap(keyword: str, names: Sequence[str]) -> str:
    if not names:
        return keyword + "\n"
    chunks = [" ".join(names[k:k + _NAMES_PER_LINE]) for k in range(0, len(names), _NAMES_PER_LINE)]
    return keyword + " " + " \\\n    ".join(chunks) + "\n"


def _internal_prefix(bit_names: set[str]) -> str:
    """``n``, or ``n_``, ``n__`` ... so that no ``<prefix><digits>`` is a bus bit name."""
    prefix = "n"
    while any(name.startswith(prefix) and is_uint(name[len(prefix):]) for name in bit_names):
        prefix += "_"
    return prefix


def _bit_names(buses: Sequence[Bus]) -> list[str]:
    return [name for bus in buses for name in bus.bit_names()]


def _check_namespace(in_names: list[str], out_names: list[str], in_bits: list[int], out_bits: list[int]) -> None:
    """BLIF has one namespace: an output bit may share a name with an input only if it is that input."""
    where = dict(zip(in_names, in_bits))
    for name, bit in zip(out_names, out_bits):
        if name in where and where[name] != bit:
            raise CircuitError(
                f"cannot write BLIF: output bit {name!r} has the name of an input bit but another value "
                "(BLIF has one namespace for signals); rename the input or the output bus"
            )


def _output_statement(source: str | None, value: int | None, inverted: bool, name: str, gates: bool) -> str:
    """An output bit: a constant (``value``), or a buffer/inverter of ``source``."""
    if source is None:
        if gates:
            return f".gate {'one' if value else 'zero'} Y={name}\n"
        return f".names {name}\n" + ("1\n" if value else "")
    if source == name:
        return ""
    if gates:
        return f".gate {'inv' if inverted else 'buf'} A={source} Y={name}\n"
    return f".names {source} {name}\n{'0' if inverted else '1'} 1\n"


@dataclass(frozen=True)
class _Listing:
    """Everything a BLIF file holds, before formatting."""

    name: str
    inputs: list[Bus]
    outputs: list[Bus]
    statements: list[_Statement]
    layers: tuple[str, ...]


def _document(listing: _Listing, layers: bool, gates: bool) -> str:
    statements = [s for s in listing.statements if s.text]
    ids = np.array([s.layer for s in statements], dtype=np.int64) if layers else None
    meta = metadata_of(listing.name, listing.inputs, listing.outputs, listing.layers, ids)
    head = "# written by nandc"
    if gates:
        head += f"; gates are cells of {genlib_path().name} (ABC: read_library {genlib_path().name})"
    model = re.sub(r"[\s#]+", "_", listing.name) or "circuit"
    parts = [
        head + "\n",
        f"# {meta.to_comment()}\n",
        f".model {model}\n",
        _wrap(".inputs", _bit_names(listing.inputs)),
        _wrap(".outputs", _bit_names(listing.outputs)),
    ]
    parts.extend(s.text for s in statements)
    parts.append(".end\n")
    return "".join(parts)


def _interface_names(inputs: list[Bus], outputs: list[Bus]) -> tuple[list[str], list[str], list[int], str]:
    """Input and output bit names, output bits, and the prefix of internal names."""
    in_names, out_names = _bit_names(inputs), _bit_names(outputs)
    in_bits = [b for bus in inputs for b in bus.bits]
    out_bits = [b for bus in outputs for b in bus.bits]
    _check_namespace(in_names, out_names, in_bits, out_bits)
    return in_names, out_names, out_bits, _internal_prefix(set(in_names) | set(out_names))


def _circuit_listing(obj: Circuit | NandNetlist) -> _Listing:
    nc = number_circuit(obj)
    in_names, out_names, out_bits, prefix = _interface_names(list(nc.inputs), list(nc.outputs))
    first_and = nc.num_inputs + 1
    var_name = ["0"] + in_names + [f"{prefix}{v}" for v in range(first_and, first_and + nc.num_ands)]
    statements = []
    rows = zip(nc.lhs.tolist(), nc.rhs0.tolist(), nc.rhs1.tolist(), nc.and_layers.tolist())
    for lhs, a, b, layer in rows:
        text = (f".names {var_name[b >> 1]} {var_name[a >> 1]} {var_name[lhs >> 1]}\n"
                f"{1 - (b & 1)}{1 - (a & 1)} 1\n")
        statements.append(_Statement(text, layer))
    for name, lit in zip(out_names, out_bits):
        source = var_name[lit >> 1] if lit >= 2 else None
        statements.append(_Statement(_output_statement(source, lit, bool(lit & 1), name, False)))
    return _Listing(nc.name, list(nc.inputs), list(nc.outputs), statements, nc.layers)


def _netlist_listing(net: NandNetlist, gates: bool) -> _Listing:
    inputs = complete_input_buses(net)
    outputs = list(net.output_buses.values())
    in_names, out_names, out_bits, prefix = _interface_names(inputs, outputs)
    name = [f"{prefix}{s}" for s in range(net.num_signals)]
    for n, s in zip(in_names, (b for bus in inputs for b in bus.bits)):
        name[s] = n
    a, b = net.gate_arrays()
    used = set(a.tolist()) | set(b.tolist()) | set(out_bits)
    statements = [_Statement(_output_statement(None, const, False, name[const], gates))
                  for const in (0, 1) if const in used]
    base = net.first_gate
    for k, (x, y, layer) in enumerate(zip(a.tolist(), b.tolist(), net.gate_layers().tolist())):
        out = name[base + k]
        if x == y:
            text = f".gate inv A={name[x]} Y={out}\n" if gates else f".names {name[x]} {out}\n0 1\n"
        elif gates:
            text = f".gate nand2 A={name[x]} B={name[y]} Y={out}\n"
        else:
            text = f".names {name[x]} {name[y]} {out}\n0- 1\n-0 1\n"
        statements.append(_Statement(text, layer))
    for bit_name, s in zip(out_names, out_bits):
        statements.append(_Statement(_output_statement(name[s], None, False, bit_name, gates)))
    return _Listing(net.name, inputs, outputs, statements, tuple(net.layer_names))


def blif_text(obj: Circuit | NandNetlist, style: str = "names", layers: bool = True) -> str:
    """The BLIF text of ``obj``.

    Requires: a valid Circuit (``style="names"`` only) or NandNetlist, whose
    output bit names differ from its input bit names unless they are that
    input.  Ensures: a file ABC and SIS read, computing the same function,
    with the circuit's output cone (a netlist is written gate for gate).
    """
    if style not in STYLES:
        raise NandcError(f"BLIF style must be one of {', '.join(STYLES)}, found {style!r}")
    if isinstance(obj, NandNetlist):
        listing = _netlist_listing(obj, style == "gates")
    elif isinstance(obj, Circuit):
        if style == "gates":
            raise CircuitError("BLIF style 'gates' needs a NandNetlist; lower the circuit first (pass 'nand')")
        listing = _circuit_listing(obj)
    else:
        raise CircuitError(f"expected a Circuit or NandNetlist, found {type(obj).__name__}")
    return _document(listing, layers, style == "gates")


def write_blif(obj: Circuit | NandNetlist, path, style: str = "names", layers: bool = True) -> None:
    """Write :func:`blif_text` of ``obj`` to ``path`` atomically."""
    text = blif_text(obj, style=style, layers=layers)
    with atomic_write(path, "w") as f:
        f.write(text)


# ====================================================================== reading
@dataclass(frozen=True)
class Cell:
    """A library cell BLIF files may instantiate: input pins, output pin, function."""

    inputs: tuple[str, ...]
    output: str
    build: Callable[[Circuit, Sequence[int]], int]


CELLS: dict[str, Cell] = {
    "nand2": Cell(("A", "B"), "Y", lambda c, x: c.nand(x[0], x[1])),
    "and2": Cell(("A", "B"), "Y", lambda c, x: c.and_(x[0], x[1])),
    "or2": Cell(("A", "B"), "Y", lambda c, x: c.or_(x[0], x[1])),
    "inv": Cell(("A",), "Y", lambda c, x: x[0] ^ 1),
    "buf": Cell(("A",), "Y", lambda c, x: x[0]),
    "zero": Cell((), "Y", lambda c, x: 0),
    "one": Cell((), "Y", lambda c, x: 1),
}

_DIRECTIVES = (".model", ".inputs", ".outputs", ".names", ".gate", ".subckt", ".end")


@dataclass(slots=True)
class _Definition:
    """A signal's driver: fanin signal names, where it is, and how to build it."""

    output: str
    fanins: tuple[str, ...]
    line: int
    cell: Cell | None = None  # None: a .names cover
    rows: list[str] | None = None  # cover rows: input pattern ("" if no fanins)
    phase: str | None = None  # "1" ON-set, "0" OFF-set, None: no rows yet

    def build(self, circuit: Circuit, lits: list[int]) -> int:
        if self.cell is not None:
            return self.cell.build(circuit, lits)
        rows = self.rows
        if not rows:
            return 0
        if len(rows) == 1:
            f = _cube(circuit, lits, rows[0])
        else:
            f = circuit.or_many([_cube(circuit, lits, row) for row in rows])
        return f if self.phase == "1" else f ^ 1


def _cube(circuit: Circuit, lits: Sequence[int], row: str) -> int:
    """The AND of the literals a cover row selects (``1`` plain, ``0`` complemented)."""
    picked = [lit if ch == "1" else lit ^ 1 for lit, ch in zip(lits, row) if ch != "-"]
    if len(picked) == 2:
        return circuit.and_(picked[0], picked[1])
    return circuit.and_many(picked)


def _logical_lines(text: str, path: str) -> tuple[list[tuple[int, list[str]]], Metadata | None, int | None]:
    """Token lists of logical lines (comments removed, ``\\`` joined) with their first line.

    Also returns the nandc metadata comment (``# nandc {...}``) and its line, if any.
    """
    out: list[tuple[int, list[str]]] = []
    meta = meta_line = None
    pending: tuple[int, list[str]] | None = None
    for no, raw in enumerate(text.split("\n"), start=1):
        if "#" in raw:
            if raw.startswith("#"):
                found = parse_metadata(raw[1:].strip(), path, no)
                if found is not None:
                    meta, meta_line = found, no
            raw = raw[: raw.index("#")]
        tokens = split_tokens(raw)
        if tokens and tokens[-1].endswith("\\"):
            last = tokens.pop()[:-1]
            if last:
                tokens.append(last)
            if pending is None:
                pending = (no, tokens)
            else:
                pending[1].extend(tokens)
            continue
        if pending is not None:
            pending[1].extend(tokens)
            tokens, no, pending = pending[1], pending[0], None
        if tokens:
            out.append((no, tokens))
    if pending is not None and pending[1]:
        out.append(pending)
    return out, meta, meta_line


class _BlifParser:
    def __init__(self, path: str):
        self.path = path
        self.model: str | None = None
        self.inputs: list[str] = []
        self.input_lines: list[int] = []
        self.outputs: list[str] = []
        self.output_lines: list[int] = []
        self.defs: dict[str, _Definition] = {}
        self.cover: _Definition | None = None
        self.ended = False

    def error(self, message: str, line: int | None) -> ParseError:
        return ParseError(message, self.path, line)

    def feed(self, line: int, tokens: list[str]) -> None:
        head = tokens[0]
        if self.ended:
            if head == ".model":
                raise self.error("a second .model found: nandc reads one flat model per BLIF file", line)
            raise self.error(f"expected nothing after .end, found {' '.join(tokens)[:60]!r}", line)
        if not head.startswith("."):
            self.cover_row(line, tokens)
            return
        self.cover = None
        if head == ".model":
            if self.model is not None:
                raise self.error("a second .model found: nandc reads one flat model per BLIF file", line)
            self.model = tokens[1] if len(tokens) > 1 else ""
        elif head == ".inputs":
            self.inputs.extend(tokens[1:])
            self.input_lines.extend([line] * (len(tokens) - 1))
        elif head == ".outputs":
            self.outputs.extend(tokens[1:])
            self.output_lines.extend([line] * (len(tokens) - 1))
        elif head == ".names":
            if len(tokens) < 2:
                raise self.error("expected '.names <inputs...> <output>', found '.names' without signals", line)
            self.cover = self.define(_Definition(tokens[-1], tuple(tokens[1:-1]), line, rows=[]))
        elif head in (".gate", ".subckt"):
            self.gate(line, tokens)
        elif head == ".end":
            self.ended = True
        elif head == ".latch":
            raise self.error("'.latch' found: nandc reads combinational BLIF only (sequential circuits "
                             "are not supported)", line)
        else:
            raise self.error(f"unsupported directive {head!r}; expected one of {', '.join(_DIRECTIVES)}", line)

    def define(self, d: _Definition) -> _Definition:
        first = self.defs.get(d.output)
        if first is not None:
            raise self.error(f"signal {d.output!r} is defined twice: here and at line {first.line}", d.line)
        self.defs[d.output] = d
        return d

    def cover_row(self, line: int, tokens: list[str]) -> None:
        d = self.cover
        if d is None:
            raise self.error(f"expected a directive (a line starting with '.'), found {' '.join(tokens)[:60]!r}",
                             line)
        k = len(d.fanins)
        if k == 0:
            pattern, out = "", tokens[0] if len(tokens) == 1 else None
        else:
            pattern, out = (tokens[0], tokens[1]) if len(tokens) == 2 else ("", None)
        expected = f"a cover row of {k} characters from '01-' and an output '0' or '1'" if k else \
            "a cover row '1' or '0' (a constant)"
        if out not in ("0", "1") or len(pattern) != k or pattern.strip("01-"):
            raise self.error(f"cover of {d.output!r}: expected {expected}, found {' '.join(tokens)[:60]!r}", line)
        if d.phase is not None and d.phase != out:
            raise self.error(
                f"cover of {d.output!r} mixes ON-set rows (output 1) and OFF-set rows (output 0)", line
            )
        d.phase = out
        d.rows.append(pattern)

    def gate(self, line: int, tokens: list[str]) -> None:
        if len(tokens) < 2:
            raise self.error(f"expected '{tokens[0]} <cell> <pin>=<signal> ...', found {tokens[0]!r} alone", line)
        cell_name = tokens[1]
        cell = CELLS.get(cell_name)
        if cell is None:
            raise self.error(
                f"unknown gate {cell_name!r}; nandc knows the cells {', '.join(CELLS)} (see nand.genlib)", line
            )
        pins: dict[str, str] = {}
        for tok in tokens[2:]:
            formal, eq, actual = tok.partition("=")
            if not eq or not formal or not actual or formal in pins:
                raise self.error(f"gate {cell_name!r}: expected distinct '<pin>=<signal>' pairs, found {tok!r}",
                                 line)
            pins[formal] = actual
        wanted = set(cell.inputs) | {cell.output}
        if set(pins) != wanted:
            raise self.error(
                f"gate {cell_name!r}: expected pins {', '.join(cell.inputs + (cell.output,))}, "
                f"found {', '.join(pins) or 'none'}",
                line,
            )
        self.define(_Definition(pins[cell.output], tuple(pins[p] for p in cell.inputs), line, cell=cell))

    def check(self, last_line: int) -> None:
        if not self.ended:
            raise self.error("unexpected end of file: expected '.end'", last_line)
        first_input: dict[str, int] = {}
        for name, line in zip(self.inputs, self.input_lines):
            if name in first_input:
                raise self.error(f"input {name!r} is listed twice (first at line {first_input[name]})", line)
            first_input[name] = line
            d = self.defs.get(name)
            if d is not None:
                raise self.error(f"signal {name!r} is a primary input (line {line}) and cannot also be driven",
                                 d.line)
        for name, line in zip(self.outputs, self.output_lines):
            if name not in self.defs and name not in first_input:
                raise self.error(
                    f"output {name!r} is never driven (not an input, no .names or .gate drives it)", line
                )

    def order(self) -> list[_Definition]:
        """The definitions in a topological order (file order when it is one).

        A signal read but never defined is a ParseError at its first reader.
        """
        seen = set(self.inputs)
        defs = self.defs
        in_order = True
        for d in defs.values():
            for s in d.fanins:
                if s not in seen:
                    if s not in defs:
                        raise self.error(
                            f"signal {s!r} is used but never defined (not an input, no .names or .gate drives it)",
                            d.line,
                        )
                    in_order = False
            seen.add(d.output)
        if in_order:
            return list(defs.values())
        deps = {name: d.fanins for name, d in defs.items()}
        try:
            names = topological_order(defs, deps)
        except CycleFound as cyc:
            chain = " -> ".join(repr(s) for s in cyc.cycle)
            raise self.error(f"combinational cycle through signals {chain}", defs[cyc.cycle[0]].line) from None
        return [defs[n] for n in names]


def read_blif(path) -> Circuit:
    """Read a combinational BLIF file into a :class:`Circuit`."""
    return parse_blif(read_bytes(path).decode("utf-8", errors="replace"), str(path))


def parse_blif(text: str, path: str = "<blif>") -> Circuit:
    """A :class:`Circuit` from BLIF text; ``path`` is used in errors.

    Ensures: inputs in ``.inputs`` order grouped into buses by their bit
    names, outputs likewise, every definition built through ``Circuit.and_``
    in a topological order, layer tags restored from nandc metadata.
    """
    with paused_gc():
        return _parse_blif(text, path)


def _parse_blif(text: str, path: str) -> Circuit:
    check_memory(_BYTES_PER_FILE_BYTE * len(text), f"the circuit of this {len(text)}-character BLIF file", path)
    lines, meta, meta_line = _logical_lines(text, path)
    parser = _BlifParser(path)
    for line, tokens in lines:
        parser.feed(line, tokens)
    parser.check(text.count("\n") + 1)
    circuit, in_lits, out_groups = start_circuit(parser.model or Path(path).stem, parser.inputs,
                                                 parser.input_lines, parser.outputs, parser.output_lines,
                                                 meta, path)
    lit_of = dict(zip(parser.inputs, in_lits))
    order = parser.order()
    file_index = {name: k for k, name in enumerate(parser.defs)} if meta and meta.layer_runs else None
    positions = [file_index[d.output] for d in order] if file_index else np.arange(len(order))
    tags, layer_names = layer_tags(meta, positions, "definitions", path, meta_line)
    current = 0
    for d, tag in zip(order, tags):
        if tag != current:
            current = tag
            circuit.current_layer = layer_names[tag]
        lit_of[d.output] = d.build(circuit, [lit_of[s] for s in d.fanins])
    circuit.current_layer = ""
    set_outputs(circuit, out_groups, [lit_of[name] for name in parser.outputs])
    return circuit
