"""Truth tables of functions of at most 4 variables, as 16-bit Python ints.

Bit ``t`` of a table is the function's value on the row where variable ``i``
equals bit ``i`` of ``t``.  A function of fewer variables simply does not
depend on the others (its table repeats), so every table has 16 bits.

The cut-based passes use these to name the function of a cut (leaves in
increasing node order are variables 0, 1, ...), to move variables when cuts
merge (:func:`stretch`), and to find a canonical representative under
permutation of the inputs (:func:`p_canonical`), which indexes the library
of NAND programs.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations

import numpy as np

__all__ = [
    "variable_table",
    "MASK",
    "VAR",
    "negate_inputs",
    "stretch",
    "support",
    "shrink",
    "permute",
    "p_canonical",
    "PERMS",
]

MASK = 0xFFFF
VAR = (0xAAAA, 0xCCCC, 0xF0F0, 0xFF00)
PERMS = tuple(permutations(range(4)))


@lru_cache(maxsize=256)
def variable_table(i: int, k: int) -> int:
    """The ``2**k``-bit table of variable ``i`` of ``k`` (any ``k``, big Python int)."""
    half = 1 << i
    period = half << 1
    rows = 1 << k
    repeat = ((1 << rows) - 1) // ((1 << period) - 1)  # a 1 at the start of every period
    return (((1 << half) - 1) << half) * repeat


@lru_cache(maxsize=32)
def weight_tables(k: int) -> tuple[int, ...]:
    """Per count ``c`` of ``0..k``, the ``2**k``-bit table of ``[x_0 + ... + x_(k-1) == c]``."""
    tables = [1]  # zero variables: the one row has count 0
    for i in range(k):
        half = 1 << i  # rows of the tables so far; variable i doubles them
        tables = [(tables[c] if c < len(tables) else 0) | ((tables[c - 1] << half) if c else 0)
                  for c in range(i + 2)]
    return tuple(tables)


def _flip(tt: int, i: int) -> int:
    s = 1 << i
    v = VAR[i]
    return ((tt & v) >> s) | ((tt << s) & v)


def negate_inputs(tt: int, mask: int) -> int:
    """The table of ``f(x ^ mask)``: variable ``i`` complemented where bit ``i`` of ``mask`` is set."""
    for i in range(4):
        if (mask >> i) & 1:
            tt = _flip(tt, i)
    return tt


def _swap_adjacent(tt: int, i: int) -> int:
    """Exchange variables ``i`` and ``i + 1``."""
    s = 1 << i
    a = VAR[i] & ~VAR[i + 1] & MASK  # rows with x_i = 1, x_{i+1} = 0
    b = VAR[i + 1] & ~VAR[i] & MASK  # rows with x_i = 0, x_{i+1} = 1
    return (tt & ~(a | b) & MASK) | ((tt & a) << s) | ((tt & b) >> s)


@lru_cache(maxsize=1 << 18)
def stretch(tt: int, positions: tuple[int, ...]) -> int:
    """Move variable ``i`` of ``tt`` to slot ``positions[i]`` (increasing positions).

    Requires: ``tt`` depends only on variables ``0 .. len(positions) - 1``.
    """
    for i in range(len(positions) - 1, -1, -1):
        for j in range(i, positions[i]):
            tt = _swap_adjacent(tt, j)
    return tt


def _support_table() -> list[int]:
    tables = np.arange(1 << 16, dtype=np.int64)
    out = np.zeros(1 << 16, dtype=np.int64)
    for i, v in enumerate(VAR):
        s = 1 << i
        flipped = ((tables & v) >> s) | ((tables << s) & v)
        out |= (flipped != tables).astype(np.int64) << i
    return out.tolist()


_SUPPORT: list[int] = _support_table()


def support(tt: int) -> int:
    """Bit mask of the variables ``tt`` depends on."""
    return _SUPPORT[tt]


def shrink(tt: int, keep: int) -> int:
    """``tt`` with the variables in ``keep`` (a bit mask, which must contain its
    support) renumbered ``0, 1, ...`` in order."""
    pos = 0
    for i in range(4):
        if (keep >> i) & 1:
            for j in range(i, pos, -1):
                tt = _swap_adjacent(tt, j - 1)
            pos += 1
    return tt


def permute(tt: int, perm: tuple[int, ...]) -> int:
    """The table of ``g(y) = f(x)`` where variable ``i`` of ``f`` becomes variable ``perm[i]`` of ``g``."""
    out = 0
    for t in range(16):
        if (tt >> t) & 1:
            u = 0
            for i in range(4):
                if (t >> i) & 1:
                    u |= 1 << perm[i]
            out |= 1 << u
    return out


def _canonical_tables() -> tuple[np.ndarray, np.ndarray]:
    """For every table: the smallest table over all input permutations, and the
    index into :data:`PERMS` of a permutation reaching it."""
    rows = np.arange(16)
    tables = np.arange(1 << 16, dtype=np.int64)
    best = np.full(1 << 16, MASK + 1, dtype=np.int64)
    best_perm = np.zeros(1 << 16, dtype=np.int64)
    for k, perm in enumerate(PERMS):
        # row t of f lands on row image[t] of g
        image = np.zeros(16, dtype=np.int64)
        for i in range(4):
            image |= ((rows >> i) & 1) << perm[i]
        out = np.zeros(1 << 16, dtype=np.int64)
        for t in range(16):
            out |= ((tables >> t) & 1) << int(image[t])
        better = out < best
        best[better] = out[better]
        best_perm[better] = k
    return best, best_perm


_CANON: tuple[np.ndarray, np.ndarray] | None = None


def p_canonical(tt: int) -> tuple[int, tuple[int, ...]]:
    """``(canon, perm)``: the smallest table equal to ``tt`` up to input permutation,
    with ``permute(tt, perm) == canon``."""
    global _CANON
    if _CANON is None:
        best, perm_index = _canonical_tables()
        _CANON = (best.tolist(), perm_index.tolist())
    best, perm_index = _CANON
    return best[tt], PERMS[perm_index[tt]]
