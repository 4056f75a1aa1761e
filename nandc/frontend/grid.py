"""Integer grids: a float tensor that is ``s * Q`` with small integers ``Q``.

Quantization-aware training leaves its weights in float tensors that lie on
a grid: an abs-max 4-bit quantizer gives ``W = s * Q`` with ``Q`` in
``[-7, 7]``, a per-channel one a scale per output channel, ``sign()`` gives
``Q`` in ``{-1, +1}``.  nandc does not need to know which quantizer made a
weight: :func:`weight_grid` finds the grid from the values themselves, and
the circuit multiplies by the integers ``Q``.

How: for a group of values (the whole tensor, else each output channel) with
largest magnitude ``m``, try the steps ``s = m / k`` for ``k = 1, 2, ...,
MAX_LEVEL`` and keep the first (coarsest) one on which every value is within
``TOLERANCE * s`` of a multiple of ``s``.  The tolerance absorbs the float32
rounding of fake-quantization and straight-through expressions such as
``w + (q - w).detach()`` (a few units in the last place); it is far below
one step, so a weight is never moved to another level.  Values that fit no
such grid are refused with the layer's name and the values found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nandc.errors import QuantizationError

__all__ = ["Grid", "weight_grid", "value_grid", "find_grid", "describe_scale", "MAX_LEVEL", "TOLERANCE"]

MAX_LEVEL = 255
"""Largest ``|Q|`` of a grid: 8-bit signed and unsigned ranges fit."""
TOLERANCE = 2.0 ** -12
"""Largest ``|value / s - Q|`` accepted (float rounding, not quantization)."""


@dataclass(frozen=True)
class Grid:
    """``values ≈ scale[c] * q`` along axis 0 (``scale`` float32, one per channel; ``q`` int64)."""

    q: np.ndarray
    scale: np.ndarray
    per_channel: bool

    @property
    def levels(self) -> int:
        """Largest ``|q|``."""
        return int(np.abs(self.q).max()) if self.q.size else 0

    def scale_shape(self, ndim: int) -> tuple[int, ...]:
        """Shape that broadcasts the per-channel scales over a tensor of ``ndim`` dims (channel first)."""
        return (len(self.scale),) + (1,) * (ndim - 1)

    @property
    def pow2(self) -> bool:
        """True when every scale is the same power of two."""
        from nandc.frontend.values import is_pow2

        return bool(np.all(self.scale == self.scale[0])) and is_pow2(float(self.scale[0]))


def _fit_rows(v: np.ndarray, max_level: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``v``: its grid step (float32; 0 where none fits) and its integers."""
    g = v.shape[0]
    m = np.abs(v).max(axis=1) if v.shape[1] else np.zeros(g)
    step = np.zeros(g, dtype=np.float64)
    q = np.zeros(v.shape, dtype=np.int64)
    todo = m > 0
    step[~todo] = 1.0  # an all-zero row is on every grid
    for k in range(1, max_level + 1):
        if not todo.any():
            break
        rows = np.flatnonzero(todo)
        s = (m[rows] / k).astype(np.float32).astype(np.float64)
        r = v[rows] / s[:, None]
        n = np.rint(r)
        ok = (np.abs(r - n) <= tol).all(axis=1) & (np.abs(n) <= max_level).all(axis=1)
        hit = rows[ok]
        step[hit] = s[ok]
        q[hit] = n[ok].astype(np.int64)
        todo[hit] = False
    return step.astype(np.float32), q


def find_grid(values, max_level: int = MAX_LEVEL, tol: float = TOLERANCE) -> tuple[float, np.ndarray] | None:
    """``(s, Q)`` with ``values ≈ s * Q`` for one group of values, or None."""
    v = np.asarray(values, dtype=np.float64).reshape(1, -1)
    if not np.isfinite(v).all():
        return None
    step, q = _fit_rows(v, max_level, tol)
    if step[0] == 0:
        return None
    return float(step[0]), q.reshape(np.shape(values))


def _sample(values: np.ndarray, count: int = 6) -> str:
    distinct = np.unique(values.astype(np.float32))
    shown = ", ".join(f"{float(x):.6g}" for x in distinct[:count])
    more = f", ... ({len(distinct)} distinct values)" if len(distinct) > count else ""
    return f"[{shown}{more}]"


def weight_grid(w, layer: str, what: str = "weight") -> Grid:
    """The grid of a weight tensor (output channels on axis 0): per tensor if one fits, else per channel.

    Raises :class:`~nandc.errors.QuantizationError` naming ``layer`` and
    showing the values of a channel that fits no grid.
    """
    arr = np.asarray(w.detach().cpu().numpy() if hasattr(w, "detach") else w, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[0] == 0 or arr.size == 0:
        raise QuantizationError(f"layer {layer!r} has no weights (shape {tuple(arr.shape)}): "
                                "give it at least one input and one output")
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise QuantizationError(
            f"layer {layer!r}: {what} holds {int(bad.sum())} non-finite value(s) (first {arr[index]} at index "
            f"{index}); a NaN or infinite parameter has no integer equivalent in a circuit: retrain or repair the layer"
        )
    rows = arr.reshape(arr.shape[0], -1)
    step, q = _fit_rows(rows.reshape(1, -1), MAX_LEVEL, TOLERANCE)
    if step[0] != 0:
        return Grid(q.reshape(arr.shape), np.full(arr.shape[0], step[0], dtype=np.float32), False)
    step, q = _fit_rows(rows, MAX_LEVEL, TOLERANCE)
    missing = np.flatnonzero(step == 0)
    if len(missing):
        ch = int(missing[0])
        raise QuantizationError(
            f"layer {layer!r}: the {what} is not on a grid of at most {2 * MAX_LEVEL + 1} integer levels, "
            f"per tensor or per output channel; output channel {ch} holds {_sample(rows[ch])}. "
            "Quantize the weights in forward() (e.g. abs-max to 2**(b-1)-1 levels), or use a quantized layer "
            "(nandc.nn.Int4Linear, brevitas QuantLinear ...)"
        )
    return Grid(q.reshape(arr.shape), step, True)


def value_grid(values: np.ndarray, max_level: int = MAX_LEVEL):
    """Codes of a set of activation values on one grid: ``(bits, a, b, step)`` or None.

    ``value = (a * code + b) * step`` with ``code`` in ``[0, 2**bits)``: ``b``
    is the lowest integer level, ``a`` the gcd of the level differences.
    """
    v = np.unique(np.asarray(values, dtype=np.float64))
    found = find_grid(v, max_level)
    if found is None:
        return None
    step, q = found
    lo = int(q.min())
    diffs = (q - lo).astype(np.int64)
    a = int(np.gcd.reduce(diffs)) if diffs.size else 1
    a = max(a, 1)
    top = int(diffs.max()) // a if diffs.size else 0
    bits = max(1, top.bit_length())
    return bits, a, lo, step


def describe_scale(scale: np.ndarray) -> str:
    """``0.0417`` or ``per channel 0.0416 .. 0.0483`` for messages and reports."""
    if np.all(scale == scale[0]):
        return f"{float(scale[0]):.6g}"
    return f"per channel {float(scale.min()):.6g} .. {float(scale.max()):.6g}"
