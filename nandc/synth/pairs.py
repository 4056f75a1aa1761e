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
from typing import Callable

__all__ = ["extract_pairs", "pair_signals", "balanced"]


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


def pair_signals(made: list[tuple[int, int]], first_new: int, leaf: Callable[[int], int],
                 op: Callable[[int, int], int]) -> Callable[[int], int]:
    """``signal(k)``: the literal of signal ``k`` in the circuit being built: ``leaf(k)`` below
    ``first_new``, else ``op`` of the signals of its pair in ``made`` (each built once, on
    first use, without recursion)."""
    built: dict[int, int] = {}

    def signal(k: int) -> int:
        stack = [k]
        while stack:
            x = stack[-1]
            if x in built:
                stack.pop()
            elif x < first_new:
                built[x] = leaf(x)
                stack.pop()
            else:
                pending = [y for y in made[x - first_new] if y not in built]
                if pending:
                    stack += pending
                    continue
                a, b = made[x - first_new]
                built[x] = op(built[a], built[b])
                stack.pop()
        return built[k]

    return signal


def balanced(items: list[int], op: Callable[[int, int], int], empty: int) -> int:
    """``op`` over ``items`` as a balanced tree (``empty`` for none)."""
    while len(items) > 1:
        items = [op(items[i], items[i + 1]) if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0] if items else empty


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
