"""Exact fixed-point kernels shared by the layers' eval mode and program execution (numpy, int64).

The transformer layers of :mod:`nandc.nn.transformer` compute their eval-mode
output with these functions, and :mod:`nandc.ir.execute` runs the same
functions between kernels, so there is one definition of each:

* :func:`softmax_table` -- the base-2 exponential table;
* :func:`round_half_even_div` -- exact rational rounding;
* :func:`attention` -- causal multi-head attention on int8 codes with the
  fixed-point softmax (see :mod:`nandc.nn.transformer` for the specification).
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax_table", "round_half_even_div", "attention", "embed"]


def softmax_table(frac_bits: int, prob_bits: int) -> np.ndarray:
    """``table[j] = round(2**prob_bits * 2**(-j / 2**frac_bits))`` for ``j < 2**frac_bits`` (int64).

    Rounded from float64, in which ``2**(-j / 2**F)`` is far from a tie for
    the small ``F`` and ``P`` used here (checked: no entry is within 1e-6 of
    a half).
    """
    j = np.arange(1 << frac_bits, dtype=np.float64)
    return np.round(float(1 << prob_bits) * np.exp2(-j / (1 << frac_bits))).astype(np.int64)


def round_half_even_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Exact ``round_half_even(num / den)`` elementwise (int64, ``den > 0``)."""
    q = np.floor_divide(num, den)
    twice = 2 * (num - q * den)
    up = (twice > den) | ((twice == den) & (q % 2 != 0))
    return q + up.astype(np.int64)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, shift: int, frac_bits: int,
              prob_bits: int) -> np.ndarray:
    """Causal attention on int8 codes ``(N, T, heads * dh)`` -> int8 codes of the same shape.

    Per head: ``S = q k^T`` (causal), ``z = (max_u S - S) >> shift``,
    ``e = table[z mod 2**F] >> (z >> F)`` (0 once ``z >> F > P``),
    ``out = round_half_even(e v / sum(e))``.
    """
    n, t, width = q.shape
    dh = width // heads
    split = lambda x: np.asarray(x, dtype=np.int64).reshape(n, t, heads, dh).transpose(0, 2, 1, 3)  # noqa: E731
    qh, kh, vh = split(q), split(k), split(v)
    scores = qh @ kh.transpose(0, 1, 3, 2)  # (N, H, T, T)
    causal = np.tril(np.ones((t, t), dtype=bool))
    masked = np.where(causal, scores, np.iinfo(np.int64).min)
    top = masked.max(axis=-1, keepdims=True)
    z = np.where(causal, top - scores, 0) >> shift
    whole = z >> frac_bits
    table = softmax_table(frac_bits, prob_bits)
    e = table[z & ((1 << frac_bits) - 1)] >> np.minimum(whole, 63)
    e = np.where(causal & (whole <= prob_bits), e, 0)
    out = round_half_even_div(e @ vh, e.sum(axis=-1, keepdims=True))
    return out.transpose(0, 2, 1, 3).reshape(n, t, width)


def embed(ids: np.ndarray, table: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``table[ids[n, t]] + positions[t]`` for token ids ``(N, T)`` -> ``(N, T, d)`` int64."""
    ids = np.asarray(ids, dtype=np.int64)
    return table[ids] + positions[None, : ids.shape[1]]
