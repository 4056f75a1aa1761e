"""Greedy extraction of shared pairs (Paar's algorithm), for networks of one associative,
commutative, two-input operation (XOR, AND).

Given sets of signals (each set: the operands of one multi-input XOR or AND),
:func:`extract_pairs` repeatedly takes the pair of signals found together in
the most sets (two at least; ties: the lowest pair, so the result is
deterministic), makes it a new signal and replaces the pair by it in every
set holding both.  Counting pairs costs the square of a set's size; a lazy
max-heap keeps each step near-logarithmic.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

__all__ = ["extract_pairs"]


def extract_pairs(sets: list[set[int]], first_new: int) -> list[tuple[int, int]]:
    """The shared pairs, in the order made: pair ``k`` is new signal ``first_new + k``.
    ``sets`` are changed in place: each ends holding the signals its operation still reads
    (some of them new).  Every signal in ``sets`` must be below ``first_new``."""
    pairs = _Pairs(sets)
    made: list[tuple[int, int]] = []
    while True:
        pair = pairs.best()
        if pair is None:
            return made
        made.append(pair)
        pairs.replace(pair, first_new + len(made) - 1)


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


class _Pairs:
    """Pair counts over the sets, with a lazy max-heap of (count, pair)."""

    def __init__(self, sets: list[set[int]]):
        self.sets = sets
        self.count: dict[tuple[int, int], int] = defaultdict(int)
        self.where: dict[tuple[int, int], set[int]] = defaultdict(set)
        for i, s in enumerate(sets):
            items = sorted(s)
            for j, a in enumerate(items):
                for b in items[j + 1:]:
                    self.count[(a, b)] += 1
                    self.where[(a, b)].add(i)
        self.heap = [(-c, pair) for pair, c in self.count.items() if c >= 2]
        heapq.heapify(self.heap)

    def best(self) -> tuple[int, int] | None:
        """The pair in most sets (two at least; ties: the lowest pair), or None."""
        while self.heap:
            c, pair = self.heap[0]
            if -c == self.count.get(pair, 0):
                return pair
            heapq.heappop(self.heap)  # a stale count
        return None

    def replace(self, pair: tuple[int, int], new: int) -> None:
        """Replace ``pair`` by signal ``new`` in every set holding both."""
        a, b = pair
        for i in sorted(self.where[pair]):
            s = self.sets[i]
            others = s - {a, b}
            for x in others:
                self._change(_key(a, x), i, -1)
                self._change(_key(b, x), i, -1)
            self._change(pair, i, -1)
            s -= {a, b}
            for x in others:
                self._change(_key(x, new), i, 1)
            s.add(new)

    def _change(self, key: tuple[int, int], i: int, step: int) -> None:
        if step > 0:
            self.where[key].add(i)
        else:
            self.where[key].discard(i)
        self.count[key] += step
        if self.count[key] >= 2:
            heapq.heappush(self.heap, (-self.count[key], key))
