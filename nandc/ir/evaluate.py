"""Reference evaluators for :class:`Circuit` and :class:`NandNetlist` (numpy).

Both are bit-parallel (64 samples per uint64 word) and *levelized*: every node
of one logic level is computed by one vectorized gather/AND/scatter, so the
Python overhead is per level, not per gate.  Samples are processed in blocks of
words sized to keep the value table around 128 MB.

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

__all__ = ["simulate_circuit", "simulate_netlist", "evaluate", "input_bits", "outputs_from_bits"]

_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_TABLE_BYTES = 128 << 20


@dataclass(frozen=True)
class _Level:
    dst: np.ndarray
    a: np.ndarray
    b: np.ndarray
    a_neg: np.ndarray | None  # (k, 1) uint64 masks, None if no complement
    b_neg: np.ndarray | None


def _group_by_level(dst: np.ndarray, level: np.ndarray, a: np.ndarray, b: np.ndarray,
                    a_neg: np.ndarray | None, b_neg: np.ndarray | None) -> list[_Level]:
    order = np.argsort(level, kind="stable")
    dst, level, a, b = dst[order], level[order], a[order], b[order]
    if a_neg is not None:
        a_neg, b_neg = a_neg[order], b_neg[order]
    bounds = np.flatnonzero(np.diff(level)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(dst)]))
    out = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        if s == e:
            continue
        an = bn = None
        if a_neg is not None:
            sa, sb = a_neg[s:e], b_neg[s:e]
            an = (sa.astype(np.uint64) * _ALL_ONES)[:, None] if sa.any() else None
            bn = (sb.astype(np.uint64) * _ALL_ONES)[:, None] if sb.any() else None
        out.append(_Level(dst[s:e], a[s:e], b[s:e], an, bn))
    return out


def _block_words(num_rows: int, total_words: int) -> int:
    per = max(1, _TABLE_BYTES // (8 * max(num_rows, 1)))
    return max(1, min(total_words, per, 256))


def _check_inputs(words: np.ndarray, n_inputs: int) -> np.ndarray:
    words = np.asarray(words)
    if words.ndim != 2 or words.shape[0] != n_inputs:
        raise CircuitError(
            f"expected packed inputs of shape ({n_inputs}, words), found {words.shape}"
        )
    return np.ascontiguousarray(words, dtype=np.uint64)


def simulate_circuit(circuit: Circuit, input_words: np.ndarray,
                     outputs: Sequence[int] | None = None) -> np.ndarray:
    """Evaluate ``circuit`` on packed inputs.

    ``input_words`` is ``(circuit.num_inputs, W)`` uint64, rows in
    ``circuit.inputs`` order.  Returns ``(len(outputs), W)`` uint64 for the
    given output literals (default: every output bit, bus by bus).
    """
    words = _check_inputs(input_words, circuit.num_inputs)
    out_lits = np.array(circuit.output_literals() if outputs is None else list(outputs), dtype=np.int64)
    f0, f1, _ = circuit.arrays()
    live = circuit.reachable(out_lits.tolist())
    live &= f0 != 0
    nodes = np.flatnonzero(live)
    levels = circuit.levels()[nodes] if len(nodes) else np.zeros(0, dtype=np.int64)
    a, b = f0[nodes], f1[nodes]
    schedule = _group_by_level(nodes, levels, a >> 1, b >> 1, (a & 1).astype(bool), (b & 1).astype(bool))
    input_nodes = np.array(circuit.inputs, dtype=np.int64)
    out_nodes = out_lits >> 1
    out_neg = ((out_lits & 1).astype(np.uint64) * _ALL_ONES)[:, None]
    total = words.shape[1]
    result = np.empty((len(out_lits), total), dtype=np.uint64)
    step = _block_words(circuit.num_nodes, total)
    vals = np.zeros((circuit.num_nodes, step), dtype=np.uint64)
    for w0 in range(0, total, step):
        w1 = min(total, w0 + step)
        width = w1 - w0
        v = vals[:, :width] if width != step else vals
        if len(input_nodes):
            v[input_nodes] = words[:, w0:w1]
        for lv in schedule:
            x = v[lv.a]
            if lv.a_neg is not None:
                x ^= lv.a_neg
            y = v[lv.b]
            if lv.b_neg is not None:
                y ^= lv.b_neg
            x &= y
            v[lv.dst] = x
        result[:, w0:w1] = v[out_nodes] ^ out_neg
    return result


def simulate_netlist(netlist: NandNetlist, input_words: np.ndarray,
                     outputs: Sequence[int] | None = None) -> np.ndarray:
    """Evaluate a NAND netlist on packed inputs (rows in input signal order).

    Returns ``(len(outputs), W)`` uint64 for the given output signals
    (default: every output bit, bus by bus).
    """
    words = _check_inputs(input_words, netlist.num_inputs)
    out_sigs = np.array(netlist.output_signals() if outputs is None else list(outputs), dtype=np.int64)
    a, b = netlist.gate_arrays()
    base = netlist.first_gate
    # only gates that reach an output
    live = np.zeros(netlist.num_signals, dtype=bool)
    live[out_sigs] = True
    al, bl = a.tolist(), b.tolist()
    live_l = live.tolist()
    for g in range(len(al) - 1, -1, -1):
        if live_l[base + g]:
            live_l[al[g]] = True
            live_l[bl[g]] = True
    live = np.array(live_l, dtype=bool)
    gates = np.flatnonzero(live[base:])
    levels = netlist.levels()[base + gates] if len(gates) else np.zeros(0, dtype=np.int64)
    schedule = _group_by_level(base + gates, levels, a[gates], b[gates], None, None)
    total = words.shape[1]
    result = np.empty((len(out_sigs), total), dtype=np.uint64)
    step = _block_words(netlist.num_signals, total)
    vals = np.zeros((netlist.num_signals, step), dtype=np.uint64)
    vals[1] = _ALL_ONES
    for w0 in range(0, total, step):
        w1 = min(total, w0 + step)
        width = w1 - w0
        v = vals[:, :width] if width != step else vals
        v[FIRST_INPUT:base] = words[:, w0:w1]
        for lv in schedule:
            x = v[lv.a]
            x &= v[lv.b]
            np.invert(x, out=x)
            v[lv.dst] = x
        result[:, w0:w1] = v[out_sigs]
    return result


# ---------------------------------------------------------------------- bus-level API
def _bus_bits(bus: Bus, value: np.ndarray, num_samples: int | None) -> np.ndarray:
    """Per-sample bits ``(N, bus.width)`` from bits ``(N, *shape)`` or words ``(N, *shape[:-1])``."""
    v = np.asarray(value)
    if v.ndim == len(bus.shape) + 1 and tuple(v.shape[1:]) == bus.shape:
        if v.size and not np.all((v == 0) | (v == 1)):
            raise CircuitError(f"input {bus.name!r}: bit arrays must hold only 0 and 1")
        bits = v.reshape(v.shape[0], -1)
    elif v.ndim == len(bus.shape) and tuple(v.shape[1:]) == bus.shape[:-1]:
        bits = words_to_bits(v, bus.word_width, bus.signed, where=f"input {bus.name!r}")
        bits = bits.reshape(v.shape[0], -1)
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
        if table is None:
            table = np.zeros((n, n_inputs), dtype=np.uint8)
        table[:, [index_of(bit) for bit in bus.bits]] = bits
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
    table = input_bits(obj, inputs)
    n = table.shape[0]
    packed = pack_samples(table) if table.shape[1] else np.zeros((0, max(1, (n + 63) // 64)), np.uint64)
    if isinstance(obj, Circuit):
        res = simulate_circuit(obj, packed)
    elif isinstance(obj, NandNetlist):
        res = simulate_netlist(obj, packed)
    else:
        raise CircuitError(f"expected a Circuit or NandNetlist, found {type(obj).__name__}")
    bits = unpack_samples(res, n) if res.shape[0] else np.zeros((n, 0), dtype=np.uint8)
    return outputs_from_bits(obj, bits, as_words)
