"""The And-Inverter Graph (AIG) at the heart of nandc.

A :class:`Circuit` stores its nodes in flat typed arrays, never as one Python
object per node, so ten million AND nodes take about 200 MB.

Conventions
-----------
* A *literal* is ``2 * node + complemented``.  Node 0 is the constant false, so
  literal 0 is false and literal 1 is true.
* An *input* node has no fanins (both fanin slots hold 0, which no AND node
  can hold: constants are always folded away).
* An AND node's fanins are literals of lower-numbered nodes, so the node order
  is a topological order.  Fanins are stored ordered (``fanin0 < fanin1``).
* :meth:`Circuit.and_` is the only constructor of AND nodes.  It folds
  constants, ``a & a`` and ``a & ~a``, and hash-conses structurally equal nodes.
* Each node records the layer that created it (see :meth:`Circuit.layer`), so
  every report can split its counts by layer.
* Inputs and outputs are grouped in named :class:`Bus` objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import sys
from array import array
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from nandc.errors import CircuitError

__all__ = [
    "FALSE",
    "TRUE",
    "Bus",
    "Circuit",
    "lit_node",
    "lit_is_neg",
    "lit_not",
    "make_lit",
    "bit_name",
]

FALSE = 0
TRUE = 1


def _walks():
    """:mod:`nandc.ir.walks` (the compiled whole-circuit walks) once numba is loaded, else None
    (the Python walks: building and reading circuits never pays numba's import)."""
    if "numba" not in sys.modules:
        return None
    from nandc.ir import walks

    return walks


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.$]*$")
_DEFAULT_LAYER = ""


def make_lit(node: int, complemented: bool | int = False) -> int:
    """The literal of ``node``, complemented if asked."""
    return 2 * node + (1 if complemented else 0)


def lit_node(lit: int) -> int:
    """The node a literal refers to."""
    return lit >> 1


def lit_is_neg(lit: int) -> bool:
    """Whether a literal is complemented."""
    return bool(lit & 1)


def lit_not(lit: int) -> int:
    """The complement of a literal."""
    return lit ^ 1


def structure_digest(header: str, arrays: Sequence, input_buses: dict, output_buses: dict) -> str:
    """SHA-256 of a header, integer arrays and the buses (names, shapes, signedness, bits)."""
    h = hashlib.sha256()
    h.update(f"{header}\n".encode())
    for values in arrays:
        h.update(np.array(values, dtype=np.uint32).tobytes())
    for kind, buses in (("in", input_buses), ("out", output_buses)):
        for bus in buses.values():
            h.update(f"{kind}:{bus.name}:{bus.shape}:{bus.signed}\n".encode())
            h.update(np.array(bus.bits, dtype=np.uint32).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Bus:
    """A named, ordered group of literals (circuit) or signals (netlist).

    ``shape`` is the logical shape of the bus; its last axis runs over the bits
    of one word, least significant bit first.  ``signed`` says whether those
    words are two's complement.  ``bits`` holds ``prod(shape)`` entries in
    row-major order.  Bit ``(i, j)`` of a bus ``logits`` is called
    ``logits[i][j]`` in files.
    """

    name: str
    bits: tuple[int, ...]
    shape: tuple[int, ...]
    signed: bool = False

    def __post_init__(self):
        if not _NAME_RE.match(self.name):
            raise CircuitError(
                f"bus name must be an identifier (letters, digits, _ . $), found {self.name!r}"
            )
        if any(int(d) < 0 for d in self.shape):
            raise CircuitError(f"bus {self.name!r}: negative dimension in shape {self.shape}")
        if math.prod(self.shape) != len(self.bits):
            raise CircuitError(
                f"bus {self.name!r}: shape {self.shape} holds {math.prod(self.shape)} bits, "
                f"but {len(self.bits)} were given"
            )

    @property
    def width(self) -> int:
        """Number of bits in the bus."""
        return len(self.bits)

    @property
    def word_width(self) -> int:
        """Bits per word (the last axis of the shape); 1 for a scalar bus."""
        return self.shape[-1] if self.shape else 1

    def bit_names(self) -> list[str]:
        """File names of every bit, in order: ``name[i][j]``."""
        if not self.shape:
            return [self.name] * len(self.bits)
        return [bit_name(self.name, idx) for idx in np.ndindex(*self.shape)]


def bit_name(bus: str, index: Sequence[int]) -> str:
    """``bit_name("y", (2, 0)) == "y[2][0]"``."""
    return bus + "".join(f"[{int(i)}]" for i in index)


class LayerTable:
    """Layer names and their small integer ids, in first-use order ('' is id 0: untagged)."""

    __slots__ = ("names", "_index")

    def __init__(self):
        self.names: list[str] = [_DEFAULT_LAYER]
        self._index: dict[str, int] = {_DEFAULT_LAYER: 0}

    def id(self, name: str) -> int:
        """Id of ``name``, created on first use."""
        idx = self._index.get(name)
        if idx is None:
            idx = len(self.names)
            self.names.append(name)
            self._index[name] = idx
        return idx


class _LayerScope:
    __slots__ = ("circuit", "name", "previous")

    def __init__(self, circuit: "Circuit", name: str):
        self.circuit = circuit
        self.name = name

    def __enter__(self):
        self.previous = self.circuit._current_layer
        self.circuit._current_layer = self.circuit._layer_id(self.name)
        return self.circuit

    def __exit__(self, *exc):
        self.circuit._current_layer = self.previous
        return False


class Circuit:
    """An And-Inverter Graph with named buses and per-node layer tags.

    >>> c = Circuit()
    >>> a, b = c.add_input_bus("x", 2)
    >>> y = c.xor(a, b)
    >>> c.set_output("y", [y])
    >>> c.num_ands
    3
    """

    _INITIAL_TABLE = 1 << 10

    def __init__(self, name: str = "circuit"):
        self.name = name
        # node 0 is the constant false: no fanins
        self._f0 = array("I", [0])
        self._f1 = array("I", [0])
        self._layer = array("I", [0])
        self._layers = LayerTable()
        self._current_layer = 0
        self._table = array("i", bytes(4 * self._INITIAL_TABLE))
        self._mask = self._INITIAL_TABLE - 1
        self._num_ands = 0
        self._inputs: list[int] = []
        self.input_buses: dict[str, Bus] = {}
        self.output_buses: dict[str, Bus] = {}

    # ------------------------------------------------------------------ sizes
    @property
    def num_nodes(self) -> int:
        """All nodes, the constant included."""
        return len(self._f0)

    @property
    def num_ands(self) -> int:
        return self._num_ands

    @property
    def num_inputs(self) -> int:
        return len(self._inputs)

    @property
    def inputs(self) -> list[int]:
        """Input nodes in creation order."""
        return list(self._inputs)

    def __repr__(self) -> str:
        return (
            f"Circuit({self.name!r}, inputs={self.num_inputs}, ands={self.num_ands}, "
            f"outputs={sum(b.width for b in self.output_buses.values())})"
        )

    # ------------------------------------------------------------------ layers
    def _layer_id(self, name: str) -> int:
        return self._layers.id(name)

    def layer(self, name: str) -> contextlib.AbstractContextManager["Circuit"]:
        """Context manager: nodes created inside are tagged with ``name``.

        A node that already exists (found by hash-consing) keeps its first tag.
        """
        return _LayerScope(self, name)

    @property
    def current_layer(self) -> str:
        """The tag given to nodes created now; assignable (used by passes that copy tags)."""
        return self._layers.names[self._current_layer]

    @current_layer.setter
    def current_layer(self, name: str) -> None:
        idx = self._layers._index.get(name)  # (inline: copying passes set it for every node)
        self._current_layer = idx if idx is not None else self._layers.id(name)

    @property
    def layer_names(self) -> list[str]:
        """Every layer name used so far, in first-use order ('' is untagged)."""
        return list(self._layers.names)

    def layer_of(self, node: int) -> str:
        """The layer that created ``node`` ('' if none)."""
        return self._layers.names[self._layer[node]]

    # ------------------------------------------------------------------ structure
    def is_input(self, node: int) -> bool:
        return node > 0 and self._f0[node] == 0

    def is_and(self, node: int) -> bool:
        return self._f0[node] != 0

    def fanins(self, node: int) -> tuple[int, int]:
        """The two fanin literals of an AND node."""
        f0 = self._f0[node]
        if f0 == 0:
            raise CircuitError(f"node {node} is not an AND node")
        return f0, self._f1[node]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the fanin-0, fanin-1 and layer-id arrays as numpy int64.

        Entries of inputs and of the constant are 0.
        """
        return (
            np.array(self._f0, dtype=np.int64),
            np.array(self._f1, dtype=np.int64),
            np.array(self._layer, dtype=np.int64),
        )

    def free_phase(self, node: int) -> int:
        """The phase of ``node`` that NAND2 lowering provides without an inverter:
        0 (positive) for inputs and the constant, 1 (complemented) for AND nodes,
        since a NAND gate carries the complement of its AND node.  Reading the
        other phase costs one inverter.  The one statement of this convention;
        :mod:`nandc.synth.cost` builds its cost views on it."""
        return 1 if self._f0[node] else 0

    def is_free(self, lit: int) -> bool:
        """Whether NAND2 lowering provides literal ``lit`` without an inverter
        (constants always; see :meth:`free_phase`)."""
        node = lit >> 1
        return node == 0 or (lit & 1) == self.free_phase(node)

    def fanin_views(self) -> tuple[array, array]:
        """The live fanin-0 and fanin-1 arrays (``array('I')`` of literals indexed
        by node, 0 for inputs and the constant), not copies: they grow as nodes
        are added.  For engines that follow a growing circuit; never modify them."""
        return self._f0, self._f1

    def and_nodes(self) -> Iterator[int]:
        f0 = self._f0
        for n in range(1, len(f0)):
            if f0[n]:
                yield n

    # ------------------------------------------------------------------ inputs / outputs
    def add_input(self) -> int:
        """A new input node, not part of any bus; returns its literal."""
        node = len(self._f0)
        self._f0.append(0)
        self._f1.append(0)
        self._layer.append(self._current_layer)
        self._inputs.append(node)
        return 2 * node

    def add_input_bus(
        self, name: str, shape: int | Sequence[int], signed: bool = False
    ) -> tuple[int, ...]:
        """Create ``prod(shape)`` inputs grouped as a bus; returns their literals."""
        if name in self.input_buses:
            raise CircuitError(f"input bus {name!r} exists already")
        shape_t = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        lits = tuple(self.add_input() for _ in range(math.prod(shape_t)))
        self.input_buses[name] = Bus(name, lits, shape_t, signed)
        return lits

    def set_output(
        self,
        name: str,
        lits: Iterable[int],
        shape: Sequence[int] | None = None,
        signed: bool = False,
    ) -> Bus:
        """Declare (or replace) the output bus ``name``."""
        bits = tuple(int(x) for x in lits)
        limit = 2 * len(self._f0)
        for b in bits:
            if not 0 <= b < limit:
                raise CircuitError(f"output bus {name!r}: literal {b} does not exist")
        shape_t = (len(bits),) if shape is None else tuple(int(s) for s in shape)
        bus = Bus(name, bits, shape_t, signed)
        self.output_buses[name] = bus
        return bus

    def input_literals(self) -> list[int]:
        """Literals of every input, bus by bus in declaration order, then unbundled inputs."""
        seen: set[int] = set()
        out: list[int] = []
        for bus in self.input_buses.values():
            out.extend(bus.bits)
            seen.update(bus.bits)
        out.extend(2 * n for n in self._inputs if 2 * n not in seen)
        return out

    def output_literals(self) -> list[int]:
        """Literals of every output bit, bus by bus in declaration order."""
        return [b for bus in self.output_buses.values() for b in bus.bits]

    # ------------------------------------------------------------------ construction
    def and_(self, a: int, b: int) -> int:
        """The literal of ``a AND b``: folded, normalized and hash-consed."""
        if a > b:
            a, b = b, a
        # constants and trivial cases (a <= b now)
        if a < 2:
            if a < 0:
                raise CircuitError(f"and_({a}, {b}): literals are non-negative")
            return b if a == 1 else 0
        if a == b:
            return a
        if a ^ 1 == b:
            return 0
        # the structural-hash lookup of _slot, inlined: this is the hottest call of every pass
        table, mask, f0, f1 = self._table, self._mask, self._f0, self._f1
        h = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & mask
        while True:
            n = table[h]
            if not n:
                break
            if f0[n] == a and f1[n] == b:
                return 2 * n
            h = (h + 1) & mask
        if b >= 2 * len(f0):
            raise CircuitError(f"and_({a}, {b}): literal {b} does not exist")
        node = len(f0)
        f0.append(a)
        f1.append(b)
        self._layer.append(self._current_layer)
        table[h] = node
        self._num_ands += 1
        if 2 * self._num_ands > self._mask:
            self._grow_table()
        return 2 * node

    def hash_table(self) -> tuple[np.ndarray, int]:
        """``(table, mask)``: a copy of the structural-hash table (int32 node ids, 0 = empty
        slot; AND node ``a < b`` is found from slot ``((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & mask``
        on by linear probing), for compiled loops that look nodes up like :meth:`lookup_and`."""
        return np.array(self._table, dtype=np.int32), self._mask

    def append_canonical(self, f0: np.ndarray, f1: np.ndarray, layers: Sequence[str], layer_of: np.ndarray) -> None:
        """Append AND nodes ``f0[i] & f1[i]`` in order, the ``i``-th tagged ``layers[layer_of[i]]``,
        as :meth:`and_` would create them one by one, for a copy that knows they fold, merge
        and exist nowhere yet: every pair ordered (``2 <= f0 < f1``), of two different nodes
        that exist or come earlier in the batch, and no pair twice nor already present.
        Checked (a :class:`CircuitError` otherwise, and the circuit as it was), then written in
        one go; the pairs are found unique while the structural-hash table is rebuilt."""
        f0 = np.asarray(f0, dtype=np.int64)
        f1 = np.asarray(f1, dtype=np.int64)
        count = len(f0)
        if not count:
            return
        first = len(self._f0)
        own = 2 * (first + np.arange(count))  # each node's own literal: its fanins come before it
        if np.any(f0 < 2) or np.any(f0 >= f1) or np.any((f0 >> 1) == (f1 >> 1)) or np.any(f1 >= own):
            raise CircuitError("append_canonical: the pairs are not new, ordered pairs of earlier nodes")
        table, mask = self._table, self._mask
        self._f0.extend(f0.tolist())
        self._f1.extend(f1.tolist())
        # every node hashed again, in node order, as one-by-one creation leaves them
        if self._grow_table(self._table_size(self._num_ands + count)):
            del self._f0[first:], self._f1[first:]
            self._table, self._mask = table, mask
            raise CircuitError("append_canonical: the pairs are not new, ordered pairs of earlier nodes")
        ids = np.array([self._layer_id(name) for name in layers], dtype=np.int64)
        self._layer.extend(ids[np.asarray(layer_of, dtype=np.int64)].tolist())
        self._num_ands += count

    def run_ands(self, values: np.ndarray, ops: np.ndarray, layers: Sequence[str], op_layer: np.ndarray) -> None:
        """Run a straight-line program of :meth:`and_` calls in one go: the same nodes, folded
        and hash-consed alike, made in the same order and tagged alike, as the calls one by one.

        ``values`` (int64, changed in place) holds *slots*, each a literal of this circuit or -1
        (not set yet); a *slot literal* ``s`` stands for ``values[s >> 1] ^ (s & 1)``.  Row ``i``
        of ``ops`` (int64, ``(m, 3)``) is ``(dst, a, b)``: ``values[dst]`` becomes ``and_`` of the
        slot literals ``a`` and ``b``, or, when ``b`` is negative, slot literal ``a`` itself (a copy).
        A node op ``i`` makes is tagged ``layers[op_layer[i]]``; the names of ``layers`` are
        registered first, in their order, as setting :attr:`current_layer` to each in turn would.
        An op reading a slot not set or a literal that does not exist raises a
        :class:`CircuitError`, and leaves the circuit as it was.  Compiled
        (:func:`nandc.ir.walks.run_ands`) once numba is loaded."""
        ops = np.asarray(ops, dtype=np.int64).reshape(-1, 3)
        slots = 2 * len(values)
        if len(ops) and (ops[:, 0].min() < 0 or 2 * ops[:, 0].max() >= slots or ops[:, 1].min() < 0
                         or ops[:, 1:].max() >= slots):
            raise CircuitError(f"run_ands: an op names a slot outside the {len(values)} slots given")
        n, layer_state = len(self._f0), (list(self._layers.names), dict(self._layers._index))
        ids = np.array([self._layer_id(name) for name in layers] or [0], dtype=np.int64)
        op_ids = ids[np.asarray(op_layer, dtype=np.int64)] if len(ops) else np.zeros(0, np.int64)
        walks = _walks()
        if walks is None:
            saved = self._current_layer
            try:
                for (dst, a, b), layer in zip(ops.tolist(), op_ids.tolist()):
                    va = int(values[a >> 1])
                    vb = int(values[b >> 1]) if b >= 0 else 0
                    if va < 0 or vb < 0:
                        raise CircuitError(f"an op reads slot {a >> 1 if va < 0 else b >> 1}, which is not set")
                    if b < 0:
                        values[dst] = va ^ (a & 1)
                        continue
                    self._current_layer = layer
                    values[dst] = self.and_(va ^ (a & 1), vb ^ (b & 1))
            except CircuitError as err:
                self._truncate(n, layer_state)
                raise CircuitError(f"run_ands: {err}") from err
            finally:
                self._current_layer = saved
            return
        self.reserve(self._num_ands + len(ops))  # (every new node fits: the kernel never rehashes)
        nf0, nf1, nlayer = (np.zeros(len(ops), dtype=np.int64) for _ in range(3))
        made = walks.run_ands(self._f0, self._f1, self._table, self._mask, values, ops, op_ids, nf0, nf1, nlayer)
        if made < 0:
            self._truncate(n, layer_state)
            raise CircuitError(f"run_ands: op {-made - 1} reads a slot that is not set or a literal that does not exist")
        self._f0.frombytes(nf0[:made].astype(np.uint32).tobytes())
        self._f1.frombytes(nf1[:made].astype(np.uint32).tobytes())
        self._layer.frombytes(nlayer[:made].astype(np.uint32).tobytes())
        self._num_ands += made

    def _truncate(self, num_nodes: int, layer_state: tuple[list[str], dict[str, int]]) -> None:
        """Back to the first ``num_nodes`` nodes (none of them inputs made since) and the layer
        table ``layer_state``: the arrays cut, the AND count and the hash table rebuilt."""
        dropped = len(self._f0) - num_nodes
        del self._f0[num_nodes:], self._f1[num_nodes:], self._layer[num_nodes:]
        self._num_ands -= dropped
        self._layers.names, self._layers._index = layer_state
        self._grow_table(self._mask + 1)

    def reserve(self, num_ands: int) -> None:
        """Size the structural-hash table for ``num_ands`` AND nodes in all, so that
        adding them rehashes nothing (a hint: the circuit is the same either way)."""
        size = self._table_size(num_ands)
        if size > self._mask + 1:
            self._grow_table(size)

    def _table_size(self, num_ands: int) -> int:
        """The hash-table size (a power of two, at least the current one) that holds ``num_ands``
        AND nodes at most half full."""
        size = self._mask + 1
        while 2 * num_ands > size - 1:
            size *= 2
        return size

    def _grow_table(self, size: int | None = None) -> int:
        """Rebuild the structural-hash table at ``size`` slots (default: twice the current), every AND
        node inserted in node order; returns the first node whose pair an earlier node has (0 if none)."""
        size = (self._mask + 1) * 2 if size is None else size
        mask = size - 1
        walks = _walks()
        if walks is not None:
            slots, duplicate = walks.hash_slots(self._f0, self._f1, size)
            table = array("i")
            table.frombytes(slots.tobytes())
            self._table, self._mask = table, mask
            return int(duplicate)
        f0, f1 = self._f0, self._f1
        f0_np = np.frombuffer(f0, dtype=np.uint32).astype(np.int64)
        f1_np = np.frombuffer(f1, dtype=np.uint32).astype(np.int64)
        nodes = np.nonzero(f0_np)[0]
        hashes = ((f0_np[nodes] * 0x9E3779B1) ^ (f1_np[nodes] * 0x85EBCA77)) & mask
        del f0_np, f1_np
        table = array("i", bytes(4 * size))
        duplicate = 0
        for n, h in zip(nodes.tolist(), hashes.tolist()):
            while table[h]:
                u = table[h]
                if not duplicate and f0[u] == f0[n] and f1[u] == f1[n]:
                    duplicate = n
                h = (h + 1) & mask
            table[h] = n
        self._table = table
        self._mask = mask
        return duplicate

    def lookup_and(self, a: int, b: int) -> int | None:
        """The literal of ``a AND b`` if it needs no new node, else None."""
        if a > b:
            a, b = b, a
        if a < 2:
            return b if a == 1 else 0
        if a == b:
            return a
        if a ^ 1 == b:
            return 0
        n, _ = self._slot(a, b)
        return 2 * n if n else None

    def _slot(self, a: int, b: int) -> tuple[int, int]:
        """``(node, slot)``: the AND node with ordered fanins ``a < b`` (0 if none) and
        the hash-table slot where it is, or would go."""
        table, mask, f0, f1 = self._table, self._mask, self._f0, self._f1
        h = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & mask
        while True:
            n = table[h]
            if n == 0 or (f0[n] == a and f1[n] == b):
                return n, h
            h = (h + 1) & mask

    def nand(self, a: int, b: int) -> int:
        return self.and_(a, b) ^ 1

    def or_(self, a: int, b: int) -> int:
        return self.and_(a ^ 1, b ^ 1) ^ 1

    def nor(self, a: int, b: int) -> int:
        return self.and_(a ^ 1, b ^ 1)

    def xor(self, a: int, b: int) -> int:
        """``a XOR b`` as three AND nodes: ``~(~(a & ~b) & ~(~a & b))``."""
        if a < 2 or b < 2 or (a >> 1) == (b >> 1):
            # constant or same-node cases fold without new nodes
            if a < 2:
                return b ^ a
            if b < 2:
                return a ^ b
            return 0 if a == b else 1
        return self.or_(self.and_(a, b ^ 1), self.and_(a ^ 1, b))

    def xnor(self, a: int, b: int) -> int:
        return self.xor(a, b) ^ 1

    def mux(self, sel: int, then: int, else_: int) -> int:
        """``then if sel else else_``."""
        if then == else_:
            return then
        if sel < 2:
            return then if sel == 1 else else_
        if then == else_ ^ 1:
            return self.xor(sel, else_)
        return self.or_(self.and_(sel, then), self.and_(sel ^ 1, else_))

    def maj(self, a: int, b: int, c: int) -> int:
        """Majority of three: ``(a & b) | (c & (a | b))``."""
        return self.or_(self.and_(a, b), self.and_(c, self.or_(a, b)))

    def and_many(self, lits: Iterable[int]) -> int:
        """AND of any number of literals as a balanced tree (TRUE if empty)."""
        level = list(lits)
        if not level:
            return TRUE
        while len(level) > 1:
            nxt = [self.and_(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return level[0]

    def or_many(self, lits: Iterable[int]) -> int:
        """OR of any number of literals as a balanced tree (FALSE if empty)."""
        return self.and_many(x ^ 1 for x in lits) ^ 1

    def structural_hash(self) -> str:
        """SHA-256 of the node arrays and the interface (layer tags left out)."""
        return structure_digest(f"aig:{len(self._f0)}", (self._f0, self._f1), self.input_buses, self.output_buses)

    # ------------------------------------------------------------------ checks
    def verify(self) -> None:
        """Check every structural invariant; raise :class:`CircuitError` if one fails.

        Checked: node 0 is constant; AND fanins are ordered, distinct, not
        constant and refer to lower nodes; no two AND nodes are structurally
        equal; inputs are exactly the fanin-less nodes; buses refer to existing
        literals; layer ids are valid.
        """
        f0, f1, lay = self.arrays()
        n = len(f0)
        if f0[0] != 0 or f1[0] != 0:
            raise CircuitError("node 0 must be the constant (no fanins)")
        ids = np.arange(n)
        ands = f0 != 0
        ands[0] = False
        if np.any(f1[~ands] != 0):
            bad = int(np.nonzero(f1[~ands] != 0)[0][0])
            raise CircuitError(f"node {int(ids[~ands][bad])} has one fanin only")
        a, b, idx = f0[ands], f1[ands], ids[ands]
        if np.any(a < 2):
            raise CircuitError(f"AND node {int(idx[np.argmax(a < 2)])} has a constant fanin")
        if np.any(a >= b):
            raise CircuitError(f"AND node {int(idx[np.argmax(a >= b)])} has unordered or equal fanins")
        if np.any((a >> 1) == (b >> 1)):
            raise CircuitError(f"AND node {int(idx[np.argmax((a >> 1) == (b >> 1))])} reads one node twice")
        if np.any((b >> 1) >= idx):
            raise CircuitError(
                f"AND node {int(idx[np.argmax((b >> 1) >= idx)])} reads a node that is not lower"
            )
        keys = a * (2 * n) + b
        if len(np.unique(keys)) != len(keys):
            raise CircuitError("two AND nodes have the same fanins (hash-consing broken)")
        if int(ands.sum()) != self._num_ands:
            raise CircuitError("AND count is out of sync with the node arrays")
        input_nodes = ids[~ands][1:]
        if sorted(self._inputs) != input_nodes.tolist():
            raise CircuitError("the input list does not match the fanin-less nodes")
        if np.any(lay >= len(self._layers.names)):
            raise CircuitError("a node has an unknown layer id")
        for bus in self.input_buses.values():
            for lit in bus.bits:
                if lit & 1 or not self.is_input(lit >> 1):
                    raise CircuitError(f"input bus {bus.name!r} holds literal {lit}, which is not an input")
        for bus in self.output_buses.values():
            for lit in bus.bits:
                if not 0 <= lit < 2 * n:
                    raise CircuitError(f"output bus {bus.name!r} holds literal {lit}, which does not exist")

    # ------------------------------------------------------------------ analysis helpers
    def levels(self) -> np.ndarray:
        """Logic level of every node (inputs and constant 0, AND = 1 + max of fanins)."""
        walks = _walks()
        if walks is not None:
            return walks.levels(self._f0, self._f1)
        f0, f1, _ = self.arrays()
        lev = [0] * len(f0)
        for n, (a, b) in enumerate(zip(f0.tolist(), f1.tolist())):
            if a:
                la = lev[a >> 1]
                lb = lev[b >> 1]
                lev[n] = (la if la > lb else lb) + 1
        return np.array(lev, dtype=np.int64)

    def depth(self) -> int:
        """Largest level over the output literals."""
        outs = self.output_literals()
        if not outs:
            return 0
        lev = self.levels()
        return int(max(lev[o >> 1] for o in outs))

    def reachable(self, roots: Iterable[int] | None = None) -> np.ndarray:
        """Boolean mask of nodes in the transitive fanin of ``roots`` (default: outputs).

        The mask of the outputs is :meth:`remembered`, since every pass asks
        for it several times; each call returns a fresh array.
        """
        if roots is None:
            return self.remembered("reachable", lambda: self._fanin_mask(self.output_literals())).copy()
        return self._fanin_mask(roots)

    def _fanin_mask(self, roots: Iterable[int]) -> np.ndarray:
        walks = _walks()
        if walks is not None:
            return walks.fanin_mask(self._f0, self._f1, np.fromiter(roots, dtype=np.int64))
        f0l, f1l = self._f0, self._f1  # array('I'): indexed like lists, no copy
        mark = bytearray(len(f0l))
        stack = [lit >> 1 for lit in roots]
        while stack:
            n = stack.pop()
            if mark[n]:
                continue
            mark[n] = 1
            if f0l[n]:
                stack.append(f0l[n] >> 1)
                stack.append(f1l[n] >> 1)
        return np.frombuffer(bytes(mark), dtype=np.uint8).astype(bool)

    def remembered(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``name`` until a node is added or the outputs change
        (nodes never change once added): for facts of the whole circuit, such as its live nodes
        or its NAND2 cost, that the passes of a pipeline ask for again and again.  The value is
        shared between callers: they must not change it."""
        key = (len(self._f0), tuple(self.output_literals()))
        memo = self.__dict__.setdefault("_remembered", {})
        got = memo.get(name)
        if got is not None and got[0] == key:
            return got[1]
        value = compute()
        memo[name] = (key, value)
        return value

    def to_networkx(self):
        """A ``networkx.DiGraph`` view (node -> fanout edges, attribute ``complemented``).

        For analysis and partitioning only; never used in hot paths.
        """
        import networkx as nx

        g = nx.DiGraph()
        for n in range(self.num_nodes):
            kind = "const" if n == 0 else ("and" if self.is_and(n) else "input")
            g.add_node(n, kind=kind, layer=self.layer_of(n))
        for n in self.and_nodes():
            for lit in self.fanins(n):
                g.add_edge(lit >> 1, n, complemented=bool(lit & 1))
        return g

    # ------------------------------------------------------------------ copying
    def copy_interface(self, name: str | None = None) -> tuple["Circuit", dict[int, int]]:
        """A new empty circuit with the same input buses and unbundled inputs.

        Returns the circuit and a map from this circuit's input nodes to the
        new circuit's input literals.  Output buses are not copied.
        """
        new = Circuit(self.name if name is None else name)
        mapping: dict[int, int] = {}
        for bus in self.input_buses.values():
            lits = new.add_input_bus(bus.name, bus.shape, bus.signed)
            for old, lit in zip(bus.bits, lits):
                mapping[old >> 1] = lit
        for n in self._inputs:
            if n not in mapping:
                mapping[n] = new.add_input()
        return new, mapping
