"""K-feasible cuts (K <= 4) of every AND node, with their truth tables.

A *cut* of node ``v`` is a set of nodes (its *leaves*) such that every path
from an input to ``v`` passes through a leaf; its function is ``v`` as a
function of the leaves.  Cuts are enumerated bottom-up: the cuts of ``v`` are
the unions of one cut of each fanin (the trivial cut ``{u}`` included) with
at most ``K`` leaves.  A cut's table (:mod:`nandc.synth.truth`) has leaf
``i`` (in increasing node order) as variable ``i``; leaves the function does
not depend on are dropped, so every leaf matters.  Only the ``limit``
smallest cuts of each node are kept (priority cuts), which bounds the work
per node.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from nandc.synth.truth import _SUPPORT, MASK, VAR, shrink, stretch

__all__ = ["Cut", "iter_cuts", "enumerate_cuts", "merge_cuts", "LocalCuts"]

Cut = tuple[tuple[int, ...], int]  # (leaves in increasing order, truth table)


def merge_cuts(cuts_a: list[Cut], neg_a: int, cuts_b: list[Cut], neg_b: int, k: int) -> dict[tuple[int, ...], int]:
    """Every cut ``{leaves: table}`` of ``(a ^ neg_a) & (b ^ neg_b)`` from one cut of each fanin."""
    out: dict[tuple[int, ...], int] = {}
    sets_b = [(lb, set(lb), tb ^ MASK if neg_b else tb) for lb, tb in cuts_b]
    for la, ta in cuts_a:
        if neg_a:
            ta ^= MASK
        sa = set(la)
        for lb, sb, tb in sets_b:
            joined = sa | sb
            if len(joined) > k:
                continue
            union = tuple(sorted(joined))
            if union in out:
                continue
            x = ta if la == union else stretch(ta, tuple(union.index(u) for u in la))
            y = tb if lb == union else stretch(tb, tuple(union.index(u) for u in lb))
            tt = x & y
            sup = _SUPPORT[tt]
            if sup == (1 << len(union)) - 1:
                out[union] = tt
            else:
                leaves = tuple(u for i, u in enumerate(union) if (sup >> i) & 1)
                if leaves not in out:
                    out[leaves] = shrink(tt, sup)
    return out


def _priority(merged: dict[tuple[int, ...], int], limit: int) -> list[Cut]:
    """At most ``limit`` cuts: half the smallest ones (cheap to merge further),
    half those reaching deepest (largest cones: most room for rewriting)."""
    if len(merged) <= limit:
        return sorted(merged.items(), key=lambda item: len(item[0]))
    small = sorted(merged.items(), key=lambda item: (len(item[0]), item[0]))[: limit - limit // 2]
    chosen = {leaves for leaves, _ in small}
    deep = sorted((item for item in merged.items() if item[0] not in chosen),
                  key=lambda item: (item[0][-1] if item[0] else 0, -len(item[0])))
    return small + deep[: limit // 2]


def iter_cuts(f0: list[int], f1: list[int], nodes: Iterable[int], k: int = 4,
              limit: int = 8, members: dict[int, list[int]] | None = None) -> Iterator[tuple[int, list[Cut]]]:
    """``(node, its non-trivial priority cuts)`` for each AND node of ``nodes``
    (topological order), computed as the iteration reaches it.

    ``members``: structural choices (:mod:`nandc.synth.choices`), node ->
    literals of other nodes equal to it; a node's candidate cuts then also
    include the cuts of its members (tables complemented for a complemented
    member), so its priority cuts may come from any of its structures.

    Requires: ``f0``, ``f1`` fanin literal lists of a circuit; the fanins of
    every node of ``nodes`` are inputs, the constant or earlier ``nodes``,
    and so are the members of a node.  Ensures: each node gets at most
    ``limit`` cuts of at most ``k`` leaves, smallest first, each with a
    table that depends on every leaf; a node equal to a constant gets the
    cut ``((), 0 or MASK)``.
    """
    cuts: dict[int, list[Cut]] = {}
    trivial: dict[int, list[Cut]] = {}

    def with_trivial(u: int) -> list[Cut]:
        got = trivial.get(u)
        if got is None:
            got = [((u,), VAR[0])] + cuts.get(u, []) if u else [((), 0)]
            trivial[u] = got
        return got

    for v in nodes:
        a, b = f0[v], f1[v]
        merged = merge_cuts(with_trivial(a >> 1), a & 1, with_trivial(b >> 1), b & 1, k)
        if members:
            for m in members.get(v, ()):
                flip = MASK if m & 1 else 0
                for leaves, tt in cuts[m >> 1]:
                    if leaves not in merged:
                        merged[leaves] = tt ^ flip
        cuts[v] = _priority(merged, limit)
        yield v, cuts[v]


def enumerate_cuts(f0: list[int], f1: list[int], nodes: Iterable[int], k: int = 4,
                   limit: int = 8, members: dict[int, list[int]] | None = None) -> dict[int, list[Cut]]:
    """The cuts of :func:`iter_cuts` of every node, as a dict."""
    return dict(iter_cuts(f0, f1, nodes, k, limit, members))


class LocalCuts:
    """Cuts of single nodes computed on demand within ``depth`` levels below them.

    For passes that look at few nodes of a large circuit: the cuts of ``v``
    merge the local cuts (one level shallower) of its fanins; at depth 0 a
    node has its trivial cut only.  Results are memoized.
    """

    def __init__(self, f0: list[int], f1: list[int], k: int = 4, limit: int = 8, depth: int = 3):
        self.f0, self.f1, self.k, self.limit, self.depth = f0, f1, k, limit, depth
        self._memo: dict[tuple[int, int], list[Cut]] = {}

    def _with_trivial(self, u: int, depth: int) -> list[Cut]:
        if not u:
            return [((), 0)]
        deeper = self.cuts(u, depth) if depth > 0 and self.f0[u] else []
        return [((u,), VAR[0])] + deeper

    def cuts(self, v: int, depth: int | None = None) -> list[Cut]:
        """The non-trivial cuts of AND node ``v`` (see :func:`iter_cuts`)."""
        depth = self.depth if depth is None else depth
        key = (v, depth)
        got = self._memo.get(key)
        if got is None:
            a, b = self.f0[v], self.f1[v]
            merged = merge_cuts(self._with_trivial(a >> 1, depth - 1), a & 1,
                                self._with_trivial(b >> 1, depth - 1), b & 1, self.k)
            got = self._memo[key] = _priority(merged, self.limit)
        return got
