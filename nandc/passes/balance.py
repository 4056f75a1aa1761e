"""Balancing: rebuild AND trees with the fewest levels.

A *supergate* is a maximal tree of AND nodes joined by uncomplemented edges
into nodes read only once: ``((a & b) & c) & d``.  Its root computes the AND
of its leaves whatever the tree's shape, so the pass rebuilds each root as a
balanced tree, always pairing the two leaves that are ready earliest (lowest
level), which minimizes the root's level (Huffman on levels).

A tree of ``k`` leaves has ``k - 1`` AND nodes in any shape, so balancing
changes depth, not size; hash-consing may share some of the new pairs.  It is
the pass to run before mapping for speed of the JIT (fewer levels), and it
gives rewriting different cuts to work on.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.synth.rebuild import rebuild, start_copy
from nandc.synth.cost import phase_use
from nandc.passes.options import Progress, parse_params, report

__all__ = ["BalanceParams", "balance"]


@dataclass(frozen=True)
class BalanceParams:
    """balance takes no parameters."""


def _supergate_leaves(v: int, f0: list[int], f1: list[int], refs: list[int]) -> list[int]:
    """Leaf literals of the AND tree rooted at node ``v``."""
    leaves: list[int] = []
    stack = [f0[v], f1[v]]
    while stack:
        lit = stack.pop()
        u = lit >> 1
        if not lit & 1 and f0[u] and refs[u] == 1:
            stack.append(f0[u])
            stack.append(f1[u])
        else:
            leaves.append(lit)
    return leaves


@register("balance", "rebuild AND trees balanced (fewest levels; same number of AND nodes)",
          progress=True)
def balance(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Rebuild every AND supergate as a tree of minimum depth.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    no more AND nodes than the input's live ones; a depth no larger than the
    input's; layer tags: each rebuilt tree takes its root's layer.
    """
    parse_params(BalanceParams, params, "balance")
    t0 = time.perf_counter()
    depth_before = circuit.depth()
    f0a, _, lay = circuit.arrays()
    use = phase_use(circuit)
    f0, f1 = f0a.tolist(), circuit.arrays()[1].tolist()
    refs = (use.pos + use.neg).tolist()
    layer = lay.tolist()
    names = circuit.layer_names
    # roots: live AND nodes not absorbed into a reader's tree
    absorbed = np.zeros(circuit.num_nodes, dtype=bool)
    ands = np.flatnonzero(use.live & (f0a != 0))
    for v in ands.tolist():
        for lit in (f0[v], f1[v]):
            u = lit >> 1
            if not lit & 1 and f0[u] and refs[u] == 1:
                absorbed[u] = True
    new, lit = start_copy(circuit)
    level: dict[int, int] = {}  # new AND node -> level
    roots = [v for v in ands.tolist() if not absorbed[v]]
    for count, v in enumerate(roots):
        new.current_layer = names[layer[v]]
        heap = []
        for leaf in _supergate_leaves(v, f0, f1, refs):
            x = lit[leaf >> 1] ^ (leaf & 1)
            heapq.heappush(heap, (level.get(x >> 1, 0), x))
        while len(heap) > 1:
            (la, a), (lb, b) = heapq.heappop(heap), heapq.heappop(heap)
            x = new.and_(a, b)
            node = x >> 1
            if node not in level and new.is_and(node):
                level[node] = max(la, lb) + 1
            heapq.heappush(heap, (level.get(node, 0), x))
        lit[v] = heap[0][1]
        if count & 0xFFFF == 0:
            report(progress, "balance", count, len(roots))
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    new, _ = rebuild(new)
    notes = {"depth_before": depth_before, "depth_after": new.depth()}
    return new, pass_stats("balance", circuit, new, t0, **notes)
