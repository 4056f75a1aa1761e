"""Pieces shared by the AIGER and BLIF readers and writers.

* :func:`number_circuit` renumbers a circuit's output cone the way file
  formats want it: inputs first (variables ``1..I``), then the AND nodes in
  topological order, each with its larger fanin first.
* Bus names survive files as bit names (``x[2][0]``); :func:`group_buses`
  turns a list of bit names back into buses.
* A ``nandc {json}`` comment (:class:`Metadata`) records what bit names
  cannot: exact shapes (also of empty buses), signedness, bus order, the
  circuit name and per-node layer tags as runs.
* :func:`topological_order` orders definitions that may appear in any order
  and reports a cycle by its members.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
from dataclasses import dataclass
from typing import Hashable, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np

from nandc.errors import CircuitError, ParseError
from nandc.ir.circuit import Bus, Circuit
from nandc.ir.io.limits import load_json
from nandc.ir.netlist import NandNetlist

__all__ = [
    "BusDecl",
    "BusGroup",
    "CycleFound",
    "Metadata",
    "NumberedCircuit",
    "complete_input_buses",
    "decode_runs",
    "encode_runs",
    "group_buses",
    "layer_tags",
    "metadata_of",
    "number_circuit",
    "parse_metadata",
    "paused_gc",
    "read_bytes",
    "set_outputs",
    "start_circuit",
    "to_circuit",
    "topological_order",
    "unique_name",
]

METADATA_TAG = "nandc"
METADATA_VERSION = 1
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.$]*$")
_BIT_NAME_RE = re.compile(r"^(.*?)((?:\[[0-9]{1,18}\])*)$")
_INDEX_RE = re.compile(r"\[([0-9]{1,18})\]")
MAX_COUNT = 1 << 40
"""Largest count (layer run, shape dimension) metadata may record."""
MAX_DIMS = 32
"""Most dimensions a bus shape may have (numpy's limit)."""


# ---------------------------------------------------------------------- small helpers
def read_bytes(path: str) -> bytes:
    """The content of ``path``; an unreadable file is a :class:`ParseError`."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ParseError(f"cannot read the file: {e.strerror or e}", str(path)) from None


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a parser builds millions of
    acyclic objects (the collector would rescan them over and over)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def unique_name(base: str, taken: Iterable[str]) -> str:
    """``base`` if it is not taken, else ``base_1``, ``base_2``, ..."""
    used = set(taken)
    if base not in used:
        return base
    k = 1
    while f"{base}_{k}" in used:
        k += 1
    return f"{base}_{k}"


def sanitize_identifier(name: str) -> str:
    """A bus name (identifier) close to ``name``: invalid characters become ``_``."""
    if _IDENT_RE.match(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_.$]", "_", name)
    if not cleaned or not (cleaned[0].isalpha() or cleaned[0] == "_"):
        cleaned = "_" + cleaned
    return cleaned


def complete_input_buses(obj: Circuit | NandNetlist) -> list[Bus]:
    """The input buses of ``obj`` plus one bus holding every input in no bus.

    That extra bus is called ``in`` (or ``in_1`` ... if taken), so every input
    has a name in a file.  Bits are literals (circuit) or signals (netlist).
    """
    buses = list(obj.input_buses.values())
    if isinstance(obj, Circuit):
        everything = [2 * n for n in obj.inputs]
    else:
        everything = obj.input_signals()
    covered = {b for bus in buses for b in bus.bits}
    rest = tuple(x for x in everything if x not in covered)
    if rest:
        name = unique_name("in", obj.input_buses)
        buses.append(Bus(name, rest, (len(rest),)))
    return buses


# ---------------------------------------------------------------------- layer runs
def encode_runs(ids: np.ndarray) -> list[int]:
    """Run-length code of a sequence of layer ids: flat ``[id, count, id, count, ...]``."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return []
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1))
    counts = np.diff(np.concatenate((starts, [len(ids)])))
    return np.column_stack((ids[starts], counts)).ravel().tolist()


def decode_runs(runs: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`encode_runs`."""
    pairs = np.asarray(runs, dtype=np.int64).reshape(-1, 2)
    return np.repeat(pairs[:, 0], pairs[:, 1])


# ---------------------------------------------------------------------- metadata comment
@dataclass(frozen=True)
class BusDecl:
    """A bus as recorded in the metadata comment."""

    name: str
    shape: tuple[int, ...]
    signed: bool = False

    @property
    def width(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Metadata:
    """What nandc records about a circuit beyond bit names.

    ``layer_runs`` is the run-length code (:func:`encode_runs`) of the layer
    ids (indices into ``layers``) of the file's nodes in file order, or empty.
    """

    name: str
    inputs: tuple[BusDecl, ...]
    outputs: tuple[BusDecl, ...]
    layers: tuple[str, ...] = ("",)
    layer_runs: tuple[int, ...] = ()

    def to_comment(self) -> str:
        """The one-line text ``nandc {json}``."""
        body = {
            "version": METADATA_VERSION,
            "name": self.name,
            "inputs": [[b.name, list(b.shape), b.signed] for b in self.inputs],
            "outputs": [[b.name, list(b.shape), b.signed] for b in self.outputs],
            "layers": list(self.layers),
            "layer_runs": list(self.layer_runs),
        }
        return f"{METADATA_TAG} " + json.dumps(body, separators=(",", ":"))

    def layer_ids(self, count: int, what: str, path: str, line: int | None) -> np.ndarray | None:
        """Layer id of each of ``count`` nodes, or None when no layers are recorded.

        A recorded run length that does not add up to ``count`` is a ParseError.
        """
        if not self.layer_runs:
            return None
        recorded = sum(self.layer_runs[1::2])  # checked before decoding: counts may be huge
        if recorded != count:
            raise ParseError(
                f"nandc metadata records layer tags for {recorded} {what}, but the file has {count}; "
                f"remove the '{METADATA_TAG}' comment if the file was edited",
                path, line,
            )
        return decode_runs(self.layer_runs)


def metadata_of(name: str, inputs: Sequence[Bus], outputs: Sequence[Bus],
                layers: Sequence[str], layer_ids: np.ndarray | None) -> Metadata:
    """The metadata of a circuit or netlist being written (layer ids in file order)."""
    runs = () if layer_ids is None or not np.any(layer_ids) else tuple(encode_runs(layer_ids))
    return Metadata(
        name=name,
        inputs=tuple(BusDecl(b.name, b.shape, b.signed) for b in inputs),
        outputs=tuple(BusDecl(b.name, b.shape, b.signed) for b in outputs),
        layers=tuple(layers) if runs else ("",),
        layer_runs=runs,
    )


def _decls(value, key: str, path: str, line: int | None) -> tuple[BusDecl, ...]:
    def bad(found) -> ParseError:
        return ParseError(
            f"nandc metadata: expected '{key}' to be a list of [name, shape, signed] (shape: at most "
            f"{MAX_DIMS} dimensions from 0 to {MAX_COUNT}), found {_excerpt(found)}",
            path, line,
        )

    if not isinstance(value, list):
        raise bad(value)
    out = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                and _IDENT_RE.match(item[0]) and isinstance(item[1], list) and len(item[1]) <= MAX_DIMS
                and all(_is_count(d, 0) for d in item[1]) and isinstance(item[2], bool)):
            raise bad(item)
        out.append(BusDecl(item[0], tuple(item[1]), item[2]))
    return tuple(out)


def _excerpt(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _is_count(value, least: int) -> bool:
    """An int (not a bool) in ``least .. MAX_COUNT``."""
    return type(value) is int and least <= value <= MAX_COUNT


def parse_metadata(text: str, path: str, line: int | None) -> Metadata | None:
    """Metadata from a comment line; None if the line is not a nandc comment.

    A line that starts with ``nandc {`` but does not hold valid metadata is a
    ParseError (the file was written by nandc and then damaged).
    """
    if not text.startswith(METADATA_TAG + " {"):
        return None
    body = load_json(text[len(METADATA_TAG) + 1:], "nandc metadata", path, line)
    if not isinstance(body, dict) or type(body.get("version")) is not int or body["version"] != METADATA_VERSION:
        found = body.get("version") if isinstance(body, dict) else body
        raise ParseError(f"nandc metadata: expected version {METADATA_VERSION}, found {_excerpt(found)}",
                         path, line)
    layers = body.get("layers", [""])
    runs = body.get("layer_runs", [])
    if not (isinstance(layers, list) and layers and all(isinstance(x, str) for x in layers)):
        raise ParseError(f"nandc metadata: expected 'layers' to be a list of strings, found {_excerpt(layers)}",
                         path, line)
    if not (isinstance(runs, list) and len(runs) % 2 == 0
            and all(_is_count(x, 0) and x < len(layers) for x in runs[0::2])
            and all(_is_count(x, 1) for x in runs[1::2])):
        raise ParseError("nandc metadata: expected 'layer_runs' to be [layer id, count, ...] pairs "
                         f"with valid layer ids and counts from 1 to {MAX_COUNT}", path, line)
    name = body.get("name", "")
    return Metadata(
        name=name if isinstance(name, str) else "",
        inputs=_decls(body.get("inputs", []), "inputs", path, line),
        outputs=_decls(body.get("outputs", []), "outputs", path, line),
        layers=tuple(layers),
        layer_runs=tuple(runs),
    )


# ---------------------------------------------------------------------- bit names -> buses
@dataclass(frozen=True)
class BusGroup:
    """A bus rebuilt from bit names: ``members`` index the list of bits given."""

    name: str
    members: tuple[int, ...]
    shape: tuple[int, ...]
    signed: bool = False


def _split_bit_name(name: str) -> tuple[str, tuple[int, ...]]:
    m = _BIT_NAME_RE.match(name)
    base, suffix = m.group(1), m.group(2)
    if not base:  # a name made of indices only, like "[3]"
        return name, ()
    return base, tuple(int(i) for i in _INDEX_RE.findall(suffix))


def _group_shape(indices: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The dense shape the index tuples fill exactly once, or None."""
    depth = len(indices[0])
    if any(len(ix) != depth for ix in indices):
        return None
    if depth == 0:
        return () if len(indices) == 1 else None
    shape = tuple(max(ix[d] for ix in indices) + 1 for d in range(depth))
    if math.prod(shape) != len(indices) or len(set(indices)) != len(indices):
        return None
    return shape


def group_buses(names: Sequence[str | None], fallback: str, declared: Sequence[BusDecl] | None,
                what: str, path: str, lines: Sequence[int | None]) -> list[BusGroup]:
    """Group bit names (``x[1][0]``) into buses; ``None`` names go to bus ``fallback``.

    Requires: ``lines[k]`` locates name ``k`` for error messages.  Ensures:
    every position appears in exactly one group.  A base name whose indices
    fill a dense grid becomes a bus of that shape (row-major order); other
    groups become 1-D buses in file order.  Buses are ordered by their first
    bit in the file.  Base names that are not
    identifiers are sanitized (``\\data`` becomes ``_data``).  ``declared``
    buses (from metadata) fix shapes, signedness and bus order; a declared
    bus whose width differs from the names found is a ParseError.
    """
    seen: dict[str, int] = {}
    by_base: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
    unnamed: list[int] = []
    for pos, name in enumerate(names):
        if name is None:
            unnamed.append(pos)
            continue
        if name in seen:
            raise ParseError(
                f"{what} name {name!r} is used twice (first at line {lines[seen[name]]})"
                if lines[seen[name]] is not None else f"{what} name {name!r} is used twice",
                path, lines[pos],
            )
        seen[name] = pos
        base, index = _split_bit_name(name)
        by_base.setdefault(base, []).append((pos, index))
    groups: dict[str, BusGroup] = {}
    renamed: dict[str, str] = {}
    for base, members in by_base.items():
        bus_name = sanitize_identifier(base)
        if bus_name != base:
            bus_name = unique_name(bus_name, set(by_base) | set(renamed.values()))
            renamed[base] = bus_name
        shape = _group_shape([ix for _, ix in members])
        if shape is None:
            groups[bus_name] = BusGroup(bus_name, tuple(p for p, _ in members), (len(members),))
        else:
            ordered = sorted(members, key=lambda m: m[1])
            groups[bus_name] = BusGroup(bus_name, tuple(p for p, _ in ordered), shape)
    if unnamed:
        name = unique_name(fallback, groups)
        groups[name] = BusGroup(name, tuple(unnamed), (len(unnamed),))
    if not declared:
        return sorted(groups.values(), key=lambda g: min(g.members))
    out = []
    for decl in declared:
        group = groups.pop(decl.name, None)
        found = 0 if group is None else len(group.members)
        if found != decl.width:
            raise ParseError(
                f"nandc metadata declares {what} bus {decl.name!r} with shape {decl.shape} "
                f"({decl.width} bits), but the file names {found} such bits",
                path, None,
            )
        out.append(BusGroup(decl.name, () if group is None else group.members, decl.shape, decl.signed))
    out.extend(sorted(groups.values(), key=lambda g: min(g.members)))
    return out


# ---------------------------------------------------------------------- topological order
K = TypeVar("K", bound=Hashable)


class CycleFound(Exception):
    """Raised by :func:`topological_order`; ``cycle`` lists the members, first repeated last."""

    def __init__(self, cycle: list):
        super().__init__(cycle)
        self.cycle = cycle


def topological_order(keys: Iterable[K], deps: Mapping[K, Sequence[K]]) -> list[K]:
    """Every key of ``keys`` after the keys it depends on (depth-first, iterative).

    Dependencies that are not keys of ``deps`` are leaves and not listed.
    Raises :class:`CycleFound` if the dependencies are cyclic.
    """
    state: dict[K, int] = {}  # 1 = on the current path, 2 = done
    order: list[K] = []
    for root in keys:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(deps.get(root, ())))]
        while stack:
            node, pending = stack[-1]
            for d in pending:
                if d not in deps:
                    continue
                s = state.get(d)
                if s is None:
                    state[d] = 1
                    stack.append((d, iter(deps[d])))
                    break
                if s == 1:
                    path = [n for n, _ in stack]
                    raise CycleFound(path[path.index(d):] + [d])
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order


# ---------------------------------------------------------------------- renumbering for writers
@dataclass(frozen=True)
class NumberedCircuit:
    """A circuit's output cone numbered as AIGER wants it.

    Variables ``1..num_inputs`` are the inputs (bus by bus), variables
    ``num_inputs + 1 ..`` the AND nodes in topological order.  ``rhs0[k] >=
    rhs1[k]`` are the fanin literals of AND ``k`` (lhs ``2 * (num_inputs + 1 +
    k)``), both smaller than its lhs.  Bus bits are literals in this numbering.
    """

    name: str
    inputs: tuple[Bus, ...]
    outputs: tuple[Bus, ...]
    num_inputs: int
    rhs0: np.ndarray
    rhs1: np.ndarray
    layers: tuple[str, ...]
    and_layers: np.ndarray

    @property
    def num_ands(self) -> int:
        return len(self.rhs0)

    @property
    def lhs(self) -> np.ndarray:
        return 2 * (self.num_inputs + 1 + np.arange(self.num_ands, dtype=np.int64))

    def metadata(self, layers: bool = True) -> Metadata:
        """The metadata to write; with ``layers`` it records the AND nodes' layer tags."""
        return metadata_of(self.name, self.inputs, self.outputs, self.layers, self.and_layers if layers else None)


def number_circuit(obj: Circuit | NandNetlist) -> NumberedCircuit:
    """Renumber the output cone of a circuit (a netlist is converted first).

    Requires: a valid Circuit or NandNetlist.  Ensures: the same function on
    every output bus; dead AND nodes are left out; unbundled inputs are put in
    an extra bus (see :func:`complete_input_buses`).
    """
    circuit = to_circuit(obj)
    in_buses = complete_input_buses(circuit)
    f0, f1, lay = circuit.arrays()
    var = np.zeros(circuit.num_nodes, dtype=np.int64)
    input_nodes = np.array([b >> 1 for bus in in_buses for b in bus.bits], dtype=np.int64)
    num_inputs = len(input_nodes)
    var[input_nodes] = np.arange(1, num_inputs + 1)
    live = circuit.reachable() & (f0 != 0)
    and_nodes = np.flatnonzero(live)
    var[and_nodes] = np.arange(num_inputs + 1, num_inputs + 1 + len(and_nodes))

    def renumber(lits: np.ndarray) -> np.ndarray:
        lits = np.asarray(lits, dtype=np.int64)
        return 2 * var[lits >> 1] + (lits & 1)

    a, b = renumber(f0[and_nodes]), renumber(f1[and_nodes])
    inputs = tuple(Bus(bus.name, tuple(renumber(np.array(bus.bits, dtype=np.int64)).tolist()),
                       bus.shape, bus.signed) for bus in in_buses)
    outputs = tuple(Bus(bus.name, tuple(renumber(np.array(bus.bits, dtype=np.int64)).tolist()),
                        bus.shape, bus.signed) for bus in circuit.output_buses.values())
    return NumberedCircuit(
        name=circuit.name,
        inputs=inputs,
        outputs=outputs,
        num_inputs=num_inputs,
        rhs0=np.maximum(a, b),
        rhs1=np.minimum(a, b),
        layers=tuple(circuit.layer_names),
        and_layers=lay[and_nodes],
    )


def to_circuit(obj: Circuit | NandNetlist) -> Circuit:
    """``obj`` itself if it is a Circuit, its AIG if it is a NandNetlist."""
    if isinstance(obj, Circuit):
        return obj
    if isinstance(obj, NandNetlist):
        return obj.to_circuit()
    raise CircuitError(f"expected a Circuit or NandNetlist, found {type(obj).__name__}")


def start_circuit(default_name: str, in_names: Sequence[str | None], in_lines: Sequence[int | None],
                  out_names: Sequence[str | None], out_lines: Sequence[int | None], meta: Metadata | None,
                  path: str) -> tuple[Circuit, list[int], list[BusGroup]]:
    """The circuit a reader fills: inputs created in file order and grouped into buses.

    Names are grouped by :func:`group_buses` (unnamed inputs into ``in``,
    unnamed outputs into ``out``) with the metadata's declarations.  Returns
    the circuit (named by the metadata, else ``default_name``), the input
    literals in file order and the output groups for :func:`set_outputs`.
    """
    in_groups = group_buses(in_names, "in", meta.inputs if meta else None, "input", path, in_lines)
    out_groups = group_buses(out_names, "out", meta.outputs if meta else None, "output", path, out_lines)
    circuit = Circuit(meta.name if meta and meta.name else default_name)
    lits = [circuit.add_input() for _ in range(len(in_names))]
    for g in in_groups:
        circuit.input_buses[g.name] = Bus(g.name, tuple(lits[p] for p in g.members), g.shape, g.signed)
    return circuit, lits, out_groups


def layer_tags(meta: Metadata | None, order: np.ndarray, what: str, path: str,
               line: int | None) -> tuple[list[int], tuple[str, ...]]:
    """Layer id of each node in build order, and the layer names.

    ``order[k]`` is the file position of the ``k``-th node built; all ids are
    0 (untagged) when the metadata records no layers.
    """
    ids = meta.layer_ids(len(order), what, path, line) if meta else None
    if ids is None:
        return [0] * len(order), ("",)
    return ids[np.asarray(order, dtype=np.int64)].tolist(), meta.layers


def set_outputs(circuit: Circuit, out_groups: Sequence[BusGroup], out_lits: Sequence[int]) -> None:
    """Declare the output buses of a circuit being read (``out_lits`` in file order)."""
    for g in out_groups:
        circuit.set_output(g.name, [out_lits[p] for p in g.members], g.shape, g.signed)
