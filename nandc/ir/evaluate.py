"""Reference evaluators for :class:`Circuit` and :class:`NandNetlist` (numpy).

Both are bit-parallel (64 samples per uint64 word) and *levelized*: the
evaluated nodes are renumbered level by level into a compact value table, so
one logic level is two gathers (``np.take`` into scratch buffers) and one AND
written in place into a contiguous block of rows.  The Python overhead is per
level, not per gate.  Samples are processed in blocks of words sized to keep
the value table under 128 MB.

Two layers of API:

* ``simulate_circuit`` / ``simulate_netlist`` work on packed bit slices in the
  object's input order (``(num_inputs, words)`` uint64) and return packed
  output slices.  They are what equivalence checks and backends compare with.
* :func:`evaluate` takes per-bus numpy arrays (bits or integer words), returns
  per-bus arrays, and accepts either a Circuit or a NandNetlist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from nandc.errors import CircuitError
from nandc.ir.bits import bits_to_words, pack_samples, unpack_samples, words_to_bits
from nandc.ir.circuit import Bus, Circuit
from nandc.ir.netlist import FIRST_INPUT, NandNetlist

__all__ = [
    "Simulator", "compile_circuit", "compile_netlist", "simulate_circuit", "simulate_netlist",
    "evaluate", "input_bits", "outputs_from_bits",
]

_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_TABLE_BYTES = 128 << 20
_MAX_BLOCK_WORDS = 256


# The operation of a block of gates on its fanin values a, b.
_AND, _ANDNOT, _NOR, _NAND = 0, 1, 2, 3  # a & b, ~a & b, ~a & ~b, ~(a & b)


@dataclass(frozen=True)
class _Block:
    """Gates of one logic level and one operation, occupying rows ``start:stop``."""

    start: int
    stop: int
    op: int
    a: np.ndarray  # row of each gate's first fanin
    b: np.ndarray  # row of each gate's second fanin


@dataclass(frozen=True)
class _Plan:
    """A levelized evaluation order over a compact value table.

    Rows ``0 .. len(sources) - 1`` hold the sources (constants and inputs) in
    the order given; the evaluated gates follow level by level, grouped by
    operation inside a level, so every block writes one contiguous run of rows
    and no scatter is needed.
    """

    num_rows: int
    blocks: tuple[_Block, ...]
    max_block_size: int
    out_rows: np.ndarray
    out_neg: np.ndarray | None  # (outputs, 1) uint64 XOR masks, None if no output is complemented


def _plan(num_signals: int, sources: np.ndarray, gates: np.ndarray, levels: np.ndarray,
          a: np.ndarray, b: np.ndarray, ops: np.ndarray, outputs: np.ndarray,
          outputs_neg: np.ndarray | None = None) -> _Plan:
    """Row numbering and blocks for ``gates`` (signal ids) reading fanin signals ``a``, ``b``.

    Requires: every fanin and output is a source or one of ``gates``; ``levels``
    is each gate's logic level, ``ops`` its operation; ``outputs_neg`` flags
    outputs to complement.  Ensures: each block's
    fanins lie in rows written by earlier blocks (or sources).
    """
    order = np.argsort(levels * 4 + ops, kind="stable")
    keys = (levels * 4 + ops)[order]
    first = len(sources)
    row_of = np.full(num_signals, -1, dtype=np.int64)
    row_of[sources] = np.arange(first)
    row_of[gates[order]] = np.arange(first, first + len(gates))
    a_rows, b_rows, ops = row_of[a[order]], row_of[b[order]], ops[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    ends = np.concatenate((bounds, [len(gates)])).tolist()
    blocks = tuple(
        _Block(first + s, first + e, int(ops[s]), a_rows[s:e], b_rows[s:e])
        for s, e in zip(starts, ends) if s < e
    )
    widest = max((blk.stop - blk.start for blk in blocks), default=0)
    out_neg = None
    if outputs_neg is not None and outputs_neg.any():
        out_neg = (outputs_neg.astype(np.uint64) * _ALL_ONES)[:, None]
    return _Plan(first + len(gates), blocks, widest, row_of[outputs], out_neg)


def _block_words(num_rows: int, total_words: int) -> int:
    per = max(1, _TABLE_BYTES // (8 * max(num_rows, 1)))
    return max(1, min(total_words, per, _MAX_BLOCK_WORDS))


def _check_inputs(words: np.ndarray, n_inputs: int) -> np.ndarray:
    words = np.asarray(words)
    if words.ndim != 2 or words.shape[0] != n_inputs:
        raise CircuitError(
            f"expected packed inputs of shape ({n_inputs}, words), found {words.shape}"
        )
    return np.ascontiguousarray(words, dtype=np.uint64)


def _run(plan: _Plan, source_words: np.ndarray) -> np.ndarray:
    """Evaluate ``plan`` on ``(num_sources, W)`` source slices; returns the output rows.

    Samples are done in blocks of words; each gate block gathers its fanins
    into two scratch buffers (``np.take`` without bounds checks, no
    allocation) and writes its contiguous rows in place.
    """
    num_sources, total = source_words.shape
    result = np.empty((len(plan.out_rows), total), dtype=np.uint64)
    step = _block_words(plan.num_rows, total)
    vals = buf_a = buf_b = buf_out = None
    for w0 in range(0, total, step):
        width = min(total, w0 + step) - w0
        if vals is None or vals.shape[1] != width:
            vals = np.empty((plan.num_rows, width), dtype=np.uint64)
            buf_a = np.empty((plan.max_block_size, width), dtype=np.uint64)
            buf_b = np.empty_like(buf_a)
            buf_out = np.empty((len(plan.out_rows), width), dtype=np.uint64)
        vals[:num_sources] = source_words[:, w0:w0 + width]
        for blk in plan.blocks:
            k = blk.stop - blk.start
            x = np.take(vals, blk.a, axis=0, out=buf_a[:k], mode="clip")
            y = np.take(vals, blk.b, axis=0, out=buf_b[:k], mode="clip")
            dst = vals[blk.start:blk.stop]
            op = blk.op
            if op == _NOR:
                np.bitwise_or(x, y, out=dst)
                np.invert(dst, out=dst)
            else:
                if op == _ANDNOT:
                    np.invert(x, out=x)
                np.bitwise_and(x, y, out=dst)
                if op == _NAND:
                    np.invert(dst, out=dst)
        np.take(vals, plan.out_rows, axis=0, out=buf_out, mode="clip")
        if plan.out_neg is not None:
            np.bitwise_xor(buf_out, plan.out_neg, out=buf_out)
        result[:, w0:w0 + width] = buf_out
    return result


class Simulator:
    """A circuit or netlist compiled for repeated evaluation of fixed outputs.

    Building one walks the graph once (liveness, levels, row numbering);
    :meth:`run` then costs only the vectorized evaluation.  Use it when the
    same object is simulated many times (equivalence checking, sweeping);
    :func:`simulate_circuit` and :func:`simulate_netlist` build one per call.
    """

    def __init__(self, plan: _Plan, num_inputs: int, const_one_row: bool):
        self._plan = plan
        self.num_inputs = num_inputs
        self._const_one_row = const_one_row

    @property
    def num_outputs(self) -> int:
        return len(self._plan.out_rows)

    def run(self, input_words: np.ndarray, select: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Packed outputs ``(len(select) or num_outputs, W)`` for packed inputs ``(num_inputs, W)``.

        ``select`` picks output positions (default: all, in order).
        """
        words = _check_inputs(input_words, self.num_inputs)
        plan = self._plan
        if select is not None:
            sel = np.asarray(select, dtype=np.int64)
            neg = None if plan.out_neg is None else plan.out_neg[sel]
            plan = _Plan(plan.num_rows, plan.blocks, plan.max_block_size, plan.out_rows[sel],
                         neg if neg is not None and neg.any() else None)
        consts = np.zeros((2 if self._const_one_row else 1, words.shape[1]), dtype=np.uint64)
        consts[1:] = _ALL_ONES
        return _run(plan, np.concatenate((consts, words)))


def compile_circuit(circuit: Circuit, outputs: Sequence[int] | None = None) -> Simulator:
    """A :class:`Simulator` of ``circuit`` for the given output literals (default: every output bit).

    Inputs are rows in ``circuit.inputs`` order.  Only the nodes the outputs
    depend on are evaluated.
    """
    out_lits = np.array(circuit.output_literals() if outputs is None else list(outputs), dtype=np.int64)
    f0, f1, _ = circuit.arrays()
    live = circuit.reachable(out_lits.tolist())
    live &= f0 != 0
    nodes = np.flatnonzero(live)
    levels = circuit.levels()[nodes] if len(nodes) else np.zeros(0, dtype=np.int64)
    a, b = f0[nodes], f1[nodes]
    # a & ~b is evaluated as ~b & a: swap so that a lone complement is on a
    swap = (b & 1).astype(bool) & ~(a & 1).astype(bool)
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    ops = np.where(a & 1, np.where(b & 1, _NOR, _ANDNOT), _AND)
    sources = np.array([0] + circuit.inputs, dtype=np.int64)
    plan = _plan(circuit.num_nodes, sources, nodes, levels, a >> 1, b >> 1, ops,
                 out_lits >> 1, (out_lits & 1).astype(bool))
    return Simulator(plan, circuit.num_inputs, const_one_row=False)


def _live_gates(netlist: NandNetlist, a: np.ndarray, b: np.ndarray, out_sigs: np.ndarray) -> np.ndarray:
    """Indices (0-based) of the gates that some output signal depends on."""
    base = netlist.first_gate
    live = np.zeros(netlist.num_signals, dtype=bool)
    live[out_sigs] = True
    al, bl = a.tolist(), b.tolist()
    live_l = live.tolist()
    for g in range(len(al) - 1, -1, -1):
        if live_l[base + g]:
            live_l[al[g]] = True
            live_l[bl[g]] = True
    return np.flatnonzero(np.array(live_l[base:], dtype=bool))


def compile_netlist(netlist: NandNetlist, outputs: Sequence[int] | None = None) -> Simulator:
    """A :class:`Simulator` of a NAND netlist for the given output signals (default: every output bit).

    Inputs are rows in input signal order.  Only the gates the outputs
    depend on are evaluated.
    """
    out_sigs = np.array(netlist.output_signals() if outputs is None else list(outputs), dtype=np.int64)
    a, b = netlist.gate_arrays()
    base = netlist.first_gate
    gates = _live_gates(netlist, a, b, out_sigs)
    levels = netlist.levels()[base + gates] if len(gates) else np.zeros(0, dtype=np.int64)
    sources = np.arange(base, dtype=np.int64)  # constants 0 and 1, then the inputs
    plan = _plan(netlist.num_signals, sources, base + gates, levels, a[gates], b[gates],
                 np.full(len(gates), _NAND), out_sigs)
    return Simulator(plan, netlist.num_inputs, const_one_row=True)


def simulate_circuit(circuit: Circuit, input_words: np.ndarray,
                     outputs: Sequence[int] | None = None) -> np.ndarray:
    """Evaluate ``circuit`` on packed inputs.

    ``input_words`` is ``(circuit.num_inputs, W)`` uint64, rows in
    ``circuit.inputs`` order.  Returns ``(len(outputs), W)`` uint64 for the
    given output literals (default: every output bit, bus by bus).  Only the
    nodes the outputs depend on are evaluated.
    """
    _check_inputs(input_words, circuit.num_inputs)
    return compile_circuit(circuit, outputs).run(input_words)


def simulate_netlist(netlist: NandNetlist, input_words: np.ndarray,
                     outputs: Sequence[int] | None = None) -> np.ndarray:
    """Evaluate a NAND netlist on packed inputs (rows in input signal order).

    Returns ``(len(outputs), W)`` uint64 for the given output signals
    (default: every output bit, bus by bus).  Only the gates the outputs
    depend on are evaluated.
    """
    _check_inputs(input_words, netlist.num_inputs)
    return compile_netlist(netlist, outputs).run(input_words)


# ---------------------------------------------------------------------- bus-level API
def _zeros_and_ones(v: np.ndarray) -> bool:
    """Whether every entry of ``v`` is 0 or 1 (one pass for unsigned arrays)."""
    if v.dtype.kind == "u":
        return bool(v.max() <= 1)
    return bool(np.all((v == 0) | (v == 1)))


def _bus_bits(bus: Bus, value: np.ndarray, num_samples: int | None) -> np.ndarray:
    """Per-sample bits ``(N, bus.width)`` from bits ``(N, *shape)`` or words ``(N, *shape[:-1])``."""
    v = np.asarray(value)
    if v.ndim == len(bus.shape) + 1 and tuple(v.shape[1:]) == bus.shape:
        if v.size and v.dtype != np.bool_ and not _zeros_and_ones(v):
            raise CircuitError(f"input {bus.name!r}: bit arrays must hold only 0 and 1")
        bits = v.reshape(v.shape[0], bus.width)
    elif v.ndim == len(bus.shape) and tuple(v.shape[1:]) == bus.shape[:-1]:
        bits = words_to_bits(v, bus.word_width, bus.signed, where=f"input {bus.name!r}")
        bits = bits.reshape(v.shape[0], bus.width)
    else:
        raise CircuitError(
            f"input {bus.name!r}: expected bits of shape (N, {', '.join(map(str, bus.shape))}) or "
            f"words of shape (N{''.join(', ' + str(d) for d in bus.shape[:-1])}), found {v.shape}"
        )
    if num_samples is not None and bits.shape[0] != num_samples:
        raise CircuitError(
            f"input {bus.name!r} has {bits.shape[0]} samples, other inputs have {num_samples}"
        )
    return bits


def input_bits(obj: Circuit | NandNetlist, inputs: Mapping[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """Per-sample input bits ``(N, num_inputs)`` in the object's input order."""
    buses = obj.input_buses
    if not isinstance(inputs, Mapping):
        if len(buses) != 1:
            raise CircuitError(
                f"expected a dict of inputs for buses {sorted(buses)}, found one array"
            )
        inputs = {next(iter(buses)): inputs}
    missing = sorted(set(buses) - set(inputs))
    extra = sorted(set(inputs) - set(buses))
    if missing or extra:
        raise CircuitError(
            f"inputs must name exactly the input buses {sorted(buses)}; "
            f"missing {missing}, unknown {extra}"
        )
    if isinstance(obj, Circuit):
        position = {node: i for i, node in enumerate(obj.inputs)}
        index_of = lambda bit: position[bit >> 1]  # noqa: E731
        n_inputs = obj.num_inputs
    else:
        index_of = lambda bit: bit - FIRST_INPUT  # noqa: E731
        n_inputs = obj.num_inputs
    covered = sum(bus.width for bus in buses.values())
    if covered != n_inputs:
        raise CircuitError(f"{n_inputs - covered} input(s) belong to no bus; name them in a bus")
    n = None
    table = None
    for name, bus in buses.items():
        bits = _bus_bits(bus, inputs[name], n)
        n = bits.shape[0]
        columns = np.fromiter((index_of(bit) for bit in bus.bits), dtype=np.int64, count=bus.width)
        if len(buses) == 1 and np.array_equal(columns, np.arange(n_inputs)):
            return np.ascontiguousarray(bits, dtype=np.uint8)  # the common case: no reordering
        if table is None:
            table = np.zeros((n, n_inputs), dtype=np.uint8)
        table[:, columns] = bits
    if table is None:
        table = np.zeros((0, 0), dtype=np.uint8)
    return table


def outputs_from_bits(obj: Circuit | NandNetlist, bits: np.ndarray, as_words: bool = True) -> dict[str, np.ndarray]:
    """Split per-sample output bits ``(N, num_output_bits)`` into per-bus arrays."""
    out: dict[str, np.ndarray] = {}
    col = 0
    n = bits.shape[0]
    for name, bus in obj.output_buses.items():
        chunk = bits[:, col: col + bus.width].reshape((n,) + bus.shape)
        col += bus.width
        if as_words and bus.shape and bus.word_width <= 63:
            out[name] = bits_to_words(chunk, bus.signed)
        else:
            out[name] = chunk.astype(np.uint8)
    return out


def evaluate(obj: Circuit | NandNetlist, inputs: Mapping[str, np.ndarray] | np.ndarray,
             as_words: bool = True) -> dict[str, np.ndarray]:
    """Evaluate a circuit or netlist on per-bus inputs; returns per-bus outputs.

    Each input is either bits, shape ``(N, *bus.shape)``, or integer words,
    shape ``(N, *bus.shape[:-1])``.  With ``as_words`` each output bus comes
    back as int64 words ``(N, *shape[:-1])`` (two's complement if the bus is
    signed), otherwise as bits ``(N, *shape)``.
    """
    if not isinstance(obj, (Circuit, NandNetlist)):
        raise CircuitError(f"expected a Circuit or NandNetlist, found {type(obj).__name__}")
    table = input_bits(obj, inputs)
    n = table.shape[0]
    packed = pack_samples(table) if table.shape[1] else np.zeros((0, max(1, (n + 63) // 64)), np.uint64)
    simulate = simulate_circuit if isinstance(obj, Circuit) else simulate_netlist
    res = simulate(obj, packed)
    bits = unpack_samples(res, n) if res.shape[0] else np.zeros((n, 0), dtype=np.uint8)
    return outputs_from_bits(obj, bits, as_words)
