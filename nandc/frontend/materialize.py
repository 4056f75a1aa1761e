"""Folding BatchNorm, activations and quantizers into integer thresholds.

A :class:`~nandc.frontend.values.Pending` value is ``f_c(Y)``: an exact integer
accumulation ``Y`` followed by a per-channel float function ending in a
quantizer.  Instead of deriving thresholds by algebra (which can disagree with
torch's float rounding at a boundary), nandc *evaluates torch itself* on every
integer ``Y`` each channel can reach and reads the thresholds off the result.
The circuit then computes each output code bit as an OR of intervals
``T_lo <= Y <= T_hi`` -- one comparison against a constant per threshold,
shared by hash-consing.  BatchNorm with negative gamma, constant neurons and
even non-monotonic functions are handled the same way.

The function's last step says which codes it produces: a quantizer declares
them (:class:`~nandc.nn.Codes`); a step that merely rounds (``torch.round``,
``torch.sign``, a straight-through ``x + (q - x).detach()``) lets nandc find
the grid its values lie on (:func:`~nandc.frontend.grid.value_grid`).  A
value is accepted within :data:`~nandc.frontend.grid.TOLERANCE` of its code
(a quantizer with a step that is not a power of two returns the float32
rounding of ``code * step``).

:func:`ordinal` serves an output head that ends in float values (BatchNorm or
a per-class scale and bias on the logits): every reachable float gets its
rank among all of them as its code, so the argmax of the codes is the argmax
of torch's floats, ties included.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.finite import check_parameters
from nandc.frontend.grid import MAX_LEVEL, TOLERANCE, value_grid
from nandc.frontend.values import IntTensor, Pending
from nandc.nn.base import Codes
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.ir.words import Word

__all__ = ["materialize", "code_table", "float_table", "ordinal", "plain"]

_MAX_TABLE = 1 << 24  # domain entries evaluated per torch call
_MAX_ORDINAL = 1 << 16  # distinct output values of an ordinal head (each costs comparisons)


def plain(t):
    """A torch tensor from a layer's output (Brevitas layers may return a QuantTensor)."""
    import torch

    if isinstance(t, torch.Tensor):
        return t
    value = getattr(t, "value", None)
    return value if isinstance(value, torch.Tensor) else t


def float_table(p: Pending) -> tuple[np.ndarray, int]:
    """Evaluate ``p``'s torch function on every reachable integer.

    Returns ``(out, y0)``: ``out[d, ch]`` (float64 holding torch's float32
    result) is the output of channel ``ch`` at ``Y = y0 + d``.
    """
    import torch

    for step in p.chain:  # BatchNorm statistics, activation parameters
        if hasattr(step.fn, "named_parameters"):
            check_parameters(step.fn, step.name)
    lo, hi = p.acc.value_bounds()
    shape = p.acc.shape
    nch = shape[p.channel_axis] if shape else 1
    y0, y1 = int(lo.min()), int(hi.max())
    n = y1 - y0 + 1
    out_all = np.empty((n, nch), dtype=np.float64)
    rows = max(1, _MAX_TABLE // max(nch, 1))
    extra = (1,) * (len(shape) - 1 - p.channel_axis) if shape else ()
    with torch.no_grad():
        for start in range(0, n, rows):
            ys = np.arange(y0 + start, min(y1 + 1, y0 + start + rows), dtype=np.float64)
            grid = np.repeat(ys[:, None], nch, axis=1)
            t = torch.from_numpy(grid * p.acc.step).to(torch.float32)
            t = t.reshape((len(ys),) + (1,) * p.channel_axis + (nch,) + extra)
            out = plain(p.dequantize(t))
            for step in p.chain:
                out = plain(step.fn(out))
            out_all[start: start + len(ys)] = out.reshape(len(ys), nch).to(torch.float64).numpy()
    return out_all, y0


def _float_error(p: Pending) -> QuantizationError:
    names = ", ".join(s.name for s in p.chain) or "(nothing)"
    return QuantizationError(
        f"layer {p.layer!r} produces float values (followed by: {names}) that reach the circuit; "
        "add a quantizer after it, e.g. nandc.nn.SignActivation() or nandc.nn.ReLUQuant(bits, step)"
    )


def code_table(p: Pending) -> tuple[np.ndarray, int, Codes]:
    """Output codes of ``p`` on every reachable integer: ``(codes[d, ch], y0, encoding)``."""
    last = p.chain[-1] if p.chain else None
    if last is None or not last.rounds:
        raise _float_error(p)
    out, y0 = float_table(p)
    cd = last.codes
    if cd is None:
        found = value_grid(out) if np.isfinite(out).all() else None
        if found is None:
            shown = ", ".join(f"{v:.6g}" for v in np.unique(out)[:8])
            raise QuantizationError(
                f"layer {last.name!r} rounds its input, but its values lie on no grid of at most "
                f"{2 * MAX_LEVEL + 1} integer levels: [{shown}{' ...' if len(np.unique(out)) > 8 else ''}]"
            )
        cd = Codes(*found)
    exact_q = (out / cd.step - cd.b) / cd.a
    q = np.rint(exact_q)
    if (not np.isfinite(exact_q).all() or np.abs(exact_q - q).max(initial=0) > TOLERANCE
            or q.min(initial=0) < 0 or q.max(initial=0) >= (1 << cd.bits)):
        raise QuantizationError(
            f"layer {last.name!r} does not produce codes of its declared encoding {cd}"
        )
    return q.astype(np.int64), y0, cd


def _intervals(column: np.ndarray) -> list[tuple[int, int]]:
    """Index intervals ``[s, e]`` where a 0/1 column is 1."""
    padded = np.concatenate(([0], column.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), (edges[1::2] - 1).tolist()))


def _interval_lit(c: Circuit, s: Word, a: int, b: int, hi: int, y_lo: int, y_hi: int) -> int:
    """Literal of ``y_lo <= a*S + b <= y_hi`` for ``0 <= S <= hi``."""
    s_lo = max(0, -((b - y_lo) // a))  # ceil((y_lo - b) / a)
    s_hi = min(hi, (y_hi - b) // a)
    if s_lo > s_hi:
        return 0
    ge = 1 if s_lo == 0 else words.compare_const(c, s, s_lo, ">=")
    le = 1 if s_hi == hi else words.compare_const(c, s, s_hi, "<=")
    return c.and_(ge, le)


def _table_logic(c: Circuit, acc: IntTensor, channel_axis: int, table: np.ndarray, y0: int,
                 nbits: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Words computing ``table[Y - y0, channel]`` for every element of ``acc``; and their largest values."""
    # per channel, per output bit: intervals of Y where the bit is 1
    per_channel = []
    for ch in range(table.shape[1]):
        col = table[:, ch]
        per_channel.append([
            [(y0 + s, y0 + e) for s, e in _intervals((col >> j) & 1)] for j in range(nbits)
        ])
    chan_max = table.max(axis=0)
    flat_q = acc.q.reshape(-1)
    flat_a, flat_b, flat_hi = acc.a.reshape(-1), acc.b.reshape(-1), acc.hi.reshape(-1)
    channels = np.indices(acc.shape)[channel_axis].reshape(-1) if acc.shape else np.zeros(1, np.int64)
    out_q = np.empty(flat_q.shape, dtype=object)
    out_hi = np.empty(flat_q.shape, dtype=np.int64)
    with c.layer(name):
        for i in range(len(flat_q)):
            ch = int(channels[i])
            word, a, b, hi = flat_q[i], int(flat_a[i]), int(flat_b[i]), int(flat_hi[i])
            bits = []
            for j in range(nbits):
                lits = [_interval_lit(c, word, a, b, hi, lo, up) for lo, up in per_channel[ch][j]]
                bits.append(c.or_many(lits))
            top = int(chan_max[ch])
            width = max(1, top.bit_length())
            out_q[i] = Word(tuple(bits[:width]), False)
            out_hi[i] = top
    return out_q.reshape(acc.shape), out_hi.reshape(acc.shape)


def materialize(c: Circuit, p: Pending) -> IntTensor:
    """Turn a Pending value into exact output codes (logic tagged with the quantizer's name)."""
    table, y0, cd = code_table(p)
    name = p.chain[-1].name
    q, hi = _table_logic(c, p.acc, p.channel_axis, table, y0, cd.bits, name)
    shape = p.acc.shape
    return IntTensor(q, np.full(shape, cd.a, dtype=np.int64), np.full(shape, cd.b, dtype=np.int64), hi,
                     cd.step, name)


def ordinal(c: Circuit, p: Pending, name: str) -> tuple[IntTensor, np.ndarray]:
    """Rank codes of ``p``'s float outputs: ``(codes, values)`` with ``values[code]`` torch's float.

    Equal floats share a rank, so the argmax of the codes (first maximal
    index) is the argmax of torch's output, ties included.
    """
    out, y0 = float_table(p)
    if not np.isfinite(out).all():
        bad = out[~np.isfinite(out)][0]
        raise QuantizationError(f"the model's output ({p.layer!r} followed by "
                                f"{[s.name for s in p.chain]}) is {bad} for some inputs; no class can be chosen")
    lo, hi = p.acc.value_bounds()
    # only the values each channel can reach enter the ranking
    nch = out.shape[1]
    chans = np.indices(p.acc.shape)[p.channel_axis].reshape(-1) if p.acc.shape else np.zeros(1, np.int64)
    reach = np.zeros(out.shape, dtype=bool)
    for ch in range(nch):
        sel = chans == ch
        reach[int(lo.reshape(-1)[sel].min()) - y0: int(hi.reshape(-1)[sel].max()) - y0 + 1, ch] = True
    values = np.unique(out[reach].astype(np.float32))
    if len(values) > _MAX_ORDINAL:
        raise QuantizationError(
            f"the model's output ({p.layer!r} and the float layers after it) takes {len(values)} distinct values; "
            f"an exact argmax over float logits costs logic for each, and at most {_MAX_ORDINAL} are supported: "
            "quantize the logits (e.g. nandc.nn.ActQuant(8, scale, signed=True) or a FakeQuantize at the end)"
        )
    ranks = np.searchsorted(values, out.astype(np.float32)).astype(np.int64)
    ranks = np.where(reach, ranks, 0)
    nbits = max(1, (len(values) - 1).bit_length())
    q, top = _table_logic(c, p.acc, p.channel_axis, ranks, y0, nbits, name)
    shape = p.acc.shape
    return IntTensor(q, np.ones(shape, np.int64), np.zeros(shape, np.int64), top, 1.0, name), values
