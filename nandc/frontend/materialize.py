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
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.finite import check_parameters
from nandc.frontend.values import IntTensor, Pending
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.ir.words import Word

__all__ = ["materialize", "code_table"]

_MAX_TABLE = 1 << 24  # domain entries evaluated per torch call


def code_table(p: Pending) -> tuple[np.ndarray, int]:
    """Evaluate ``p``'s torch function on every reachable integer.

    Returns ``(codes, y0)``: ``codes[d, ch]`` is the output code of
    channel ``ch`` at ``Y = y0 + d``.
    """
    import torch

    last = p.chain[-1] if p.chain else None
    if last is None or last.codes is None:
        names = ", ".join(s.name for s in p.chain) or "(nothing)"
        raise QuantizationError(
            f"layer {p.layer!r} produces float values (followed by: {names}) that reach the circuit; "
            "add a quantizer after it, e.g. nandc.nn.SignActivation() or nandc.nn.ReLUQuant(bits, step)"
        )
    for step in p.chain:  # BatchNorm statistics, activation parameters
        if hasattr(step.fn, "named_parameters"):
            check_parameters(step.fn, step.name)
    lo, hi = p.acc.value_bounds()
    shape = p.acc.shape
    nch = shape[p.channel_axis] if shape else 1
    y0, y1 = int(lo.min()), int(hi.max())
    n = y1 - y0 + 1
    codes_out = np.empty((n, nch), dtype=np.int64)
    rows = max(1, _MAX_TABLE // max(nch, 1))
    extra = (1,) * (len(shape) - 1 - p.channel_axis) if shape else ()
    with torch.no_grad():
        for start in range(0, n, rows):
            ys = np.arange(y0 + start, min(y1 + 1, y0 + start + rows), dtype=np.float64)
            grid = np.repeat(ys[:, None], nch, axis=1)
            t = torch.from_numpy(grid * p.acc.step).to(torch.float32)
            t = t.reshape((len(ys),) + (1,) * p.channel_axis + (nch,) + extra)
            out = p.dequantize(t)
            for step in p.chain:
                out = step.fn(out)
            out = out.reshape(len(ys), nch).to(torch.float64).numpy()
            cd = last.codes
            q = np.round((out / cd.step - cd.b) / cd.a)
            if not np.array_equal((cd.a * q + cd.b) * cd.step, out) or q.min() < 0 or q.max() >= (1 << cd.bits):
                raise QuantizationError(
                    f"layer {last.name!r} does not produce codes of its declared encoding {cd}"
                )
            codes_out[start: start + len(ys)] = q.astype(np.int64)
    return codes_out, y0


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


def materialize(c: Circuit, p: Pending) -> IntTensor:
    """Turn a Pending value into exact output codes (logic tagged with the quantizer's name)."""
    table, y0 = code_table(p)
    cd = p.chain[-1].codes
    acc = p.acc
    nbits = cd.bits
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
    channels = np.indices(acc.shape)[p.channel_axis].reshape(-1) if acc.shape else np.zeros(1, np.int64)
    out_q = np.empty(flat_q.shape, dtype=object)
    out_hi = np.empty(flat_q.shape, dtype=np.int64)
    with c.layer(p.chain[-1].name):
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
    shape = acc.shape
    return IntTensor(
        out_q.reshape(shape),
        np.full(shape, cd.a, dtype=np.int64),
        np.full(shape, cd.b, dtype=np.int64),
        out_hi.reshape(shape),
        cd.step,
        p.chain[-1].name,
    )
