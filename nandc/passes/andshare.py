"""AND sharing: wide ANDs rebuilt with the literal pairs several of them share.

Pattern matchers (a TCAM's entries, address decoders, comparisons against
constants) are wide ANDs of literals, each written as its own chain or tree,
so the sub-products two entries have in common are built twice.  This pass:

1. collapses every *supergate*: an AND node with the AND nodes it alone reads
   through plain (uncomplemented) edges, down to its *leaves* (inputs,
   complemented edges, nodes read more than once or by an output);
2. extracts the literal pairs found in two or more supergates greedily
   (:func:`~nandc.synth.pairs.extract_pairs`, Paar's algorithm);
3. builds each supergate as a balanced AND tree of what is left of its set.

Exact by construction (AND is associative, commutative and idempotent).  The
result is kept only if a pair was shared, the NAND2 cost (direct lowering)
falls and at least ``min_gain`` (5%) of the AND nodes are saved; otherwise the
input is returned as it is.  (A 32-entry TCAM of 32-bit
patterns with don't-care bits: 652 -> 548 AND nodes, where ABC's script
reaches 561.)
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.passes.options import Progress, check_params, parse_params, report
from nandc.synth.cost import nand_cost
from nandc.synth.pairs import balanced, extract_pairs, pair_signals
from nandc.synth.rebuild import rebuild, start_copy

__all__ = ["AndShareParams", "and_share"]


@dataclass(frozen=True)
class AndShareParams:
    """``max_nodes``: leave circuits with more AND nodes unchanged (0: no limit);
    ``max_leaves``: a supergate with more leaves is left out of the pair search
    (pair counting grows with the square of a set's size) and only rebuilt balanced;
    ``min_gain``: the fraction of the AND nodes the rebuilt circuit must save to be kept
    (smaller regroupings are left to the rewriting passes, which see more: at 3%,
    int4_cnn.act2 ended 1% larger after -O3)."""

    max_nodes: int = 0
    max_leaves: int = 64
    min_gain: float = 0.05

    def __post_init__(self):
        check_params(self, "andshare", max_leaves=(2, None))
        if not 0.0 <= self.min_gain < 1.0:
            raise PassError(f"pass 'andshare': min_gain must be in [0, 1), found {self.min_gain!r}")


@register("andshare", "AND sharing: wide ANDs (supergates) rebuilt with the literal pairs several share "
          "(Paar's greedy)", params=AndShareParams, progress=True)
def and_share(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Rebuild the supergates of ``circuit`` with shared literal pairs (see the module docstring).

    Requires: a valid Circuit.  Ensures: the same function on every output; a
    NAND2 cost (direct lowering) no higher than the input's (the input itself
    is returned unless the cost falls and ``min_gain`` of the AND nodes are
    saved); new nodes carry the layer of the supergate they build.
    """
    p = parse_params(AndShareParams, params, "andshare")
    t0 = time.perf_counter()
    f0, f1, _ = circuit.arrays()
    live = circuit.reachable()
    f0l, f1l = f0.tolist(), f1.tolist()
    nodes = [v for v in range(1, len(f0l)) if f0l[v] and live[v]]
    if p.max_nodes and len(nodes) > p.max_nodes:
        return circuit, pass_stats("andshare", circuit, circuit, t0, skipped=True)
    report(progress, "andshare", 0, 3)
    reads: dict[int, list[int]] = defaultdict(list)  # node -> the literals reading it (complement bit kept)
    for v in nodes:
        reads[f0l[v] >> 1].append(f0l[v])
        reads[f1l[v] >> 1].append(f1l[v])
    outputs = {lit >> 1 for lit in circuit.output_literals()}
    absorbed = {v for v in nodes if v not in outputs and len(reads[v]) == 1 and not reads[v][0] & 1}
    roots = [v for v in nodes if v not in absorbed]
    sets: list[set[int]] = []
    wide: dict[int, set[int]] = {}  # position -> the leaves of a supergate left out of the pair search
    for i, r in enumerate(roots):
        leaves, stack = set(), [f0l[r], f1l[r]]
        while stack:
            lit = stack.pop()
            if not lit & 1 and (lit >> 1) in absorbed:
                stack += (f0l[lit >> 1], f1l[lit >> 1])
            else:
                leaves.add(lit)
        if len(leaves) > p.max_leaves:
            wide[i], leaves = leaves, set()
        sets.append(leaves)
    report(progress, "andshare", 1, 3)
    first_new = 2 * circuit.num_nodes
    made = extract_pairs(sets, first_new)
    for i, leaves in wide.items():
        sets[i] = leaves
    notes = {"supergates": len(roots), "shared": len(made), "wide": len(wide)}
    if not made:
        return circuit, pass_stats("andshare", circuit, circuit, t0, **notes)
    report(progress, "andshare", 2, 3)
    new = _build(circuit, roots, sets, made, first_new)
    report(progress, "andshare", 3, 3)
    before, after = nand_cost(circuit), nand_cost(new)
    if after >= before or new.num_ands > (1 - p.min_gain) * len(nodes):
        return circuit, pass_stats("andshare", circuit, circuit, t0, before, before, kept=False, **notes)
    return new, pass_stats("andshare", circuit, new, t0, before, after, **notes)


def _build(circuit: Circuit, roots: list[int], sets: list[set[int]], made: list[tuple[int, int]],
           first_new: int) -> Circuit:
    """``circuit`` with each root rebuilt as a balanced AND tree of its set; signals below
    ``first_new`` are literals of ``circuit``, the others ``made`` pairs."""
    new, lit = start_copy(circuit)
    layl = circuit.arrays()[2].tolist()
    names = circuit.layer_names
    sig = pair_signals(made, first_new, lambda x: lit[x >> 1] ^ (x & 1), new.and_)

    for r, leaves in zip(roots, sets):
        new.current_layer = names[layl[r]]
        lit[r] = balanced([sig(k) for k in sorted(leaves)], new.and_, 1)
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    return rebuild(new)[0]
