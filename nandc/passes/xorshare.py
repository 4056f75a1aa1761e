"""XOR sharing: rebuild the linear (XOR) parts of a circuit with common pairs shared.

Linear logic (CRC and other checksums, scramblers, error-correcting codes,
parity trees) is a network of two-input XORs, which an AIG holds as three
AND nodes each.  Rewriting by cuts sees only a few of them at a time, so
the XOR pairs that many outputs share stay hidden when the network was
written one output at a time (an unrolled CRC step).  This pass:

1. finds the XOR nodes (``~(p & q) & ~(~p & ~q)``, any phases);
2. writes every *target* (an XOR node read by an output or by a node that
   is not an XOR of the network) as the XOR of its *leaves* (the non-XOR
   signals and the other targets it reaches through XOR nodes only), plus a
   constant;
3. extracts shared pairs greedily (Paar's algorithm): while some pair of
   signals occurs together in two or more of the targets' sets, the most
   frequent one becomes a new XOR signal and replaces the pair in every set
   holding both (ties: the pair of lowest signals, so the result is
   deterministic);
4. builds each target as a balanced XOR tree of what is left of its set.

The rewrite is exact by construction (XOR is associative and commutative,
and each set is the target's function over its leaves).  The result is kept
only if some pair was shared and its NAND2 cost (direct lowering) is lower;
otherwise the input is returned as it is (rebuilding an unshared network
only changes the form of its XORs, which the mapper handles: an 8x8 array
multiplier from ripple adders mapped to 636 NAND2 so rebuilt, 598 not).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.passes.options import Progress, check_params, parse_params, report
from nandc.synth.cost import nand_cost
from nandc.synth.pairs import balanced, extract_pairs, pair_signals
from nandc.synth.rebuild import rebuild, start_copy

__all__ = ["XorShareParams", "xor_share", "xor_nodes"]


@dataclass(frozen=True)
class XorShareParams:
    """``max_nodes``: leave circuits with more AND nodes unchanged (0: no limit);
    ``max_leaves``: a target whose set would exceed this many leaves is left as it is
    (its XOR nodes become targets of their own: pair counting grows with the square of
    a set's size)."""

    max_nodes: int = 0
    max_leaves: int = 64

    def __post_init__(self):
        check_params(self, "xorshare", max_leaves=(2, None))


def xor_nodes(circuit: Circuit) -> dict[int, tuple[int, int]]:
    """``{v: (p, q)}``: the AND nodes ``v`` that compute ``p XOR q`` (literals ``p``, ``q``
    of different nodes, as ``~(p & q) & ~(~p & ~q)``)."""
    f0, f1, _ = circuit.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    out: dict[int, tuple[int, int]] = {}
    for v in range(1, len(f0l)):
        a, b = f0l[v], f1l[v]
        if not a or not (a & 1 and b & 1):
            continue
        x, y = a >> 1, b >> 1
        if not f0l[x] or not f0l[y]:
            continue
        p, q = f0l[x], f1l[x]
        if (p >> 1) == (q >> 1):
            continue
        if {f0l[y], f1l[y]} == {p ^ 1, q ^ 1}:
            out[v] = (p, q)
    return out


@register("xorshare", "XOR sharing: the linear parts rebuilt with the XOR pairs many outputs share (Paar's greedy)",
          params=XorShareParams, progress=True)
def xor_share(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Rebuild the XOR networks of ``circuit`` with shared pairs (see the module docstring).

    Requires: a valid Circuit.  Ensures: the same function on every output; a
    NAND2 cost (direct lowering) no higher than the input's (the input itself
    is returned unless the cost falls); layer tags of the rebuilt XORs are
    those of the targets they compute.
    """
    p = parse_params(XorShareParams, params, "xorshare")
    t0 = time.perf_counter()
    f0, f1, _ = circuit.arrays()
    live = circuit.reachable()
    ands = int((live & (f0 != 0)).sum())
    if p.max_nodes and ands > p.max_nodes:
        return circuit, pass_stats("xorshare", circuit, circuit, t0, skipped=True)
    xors = {v: pq for v, pq in xor_nodes(circuit).items() if live[v]}
    notes = {"xors": len(xors), "targets": 0, "shared": 0}
    if not xors:
        return circuit, pass_stats("xorshare", circuit, circuit, t0, **notes)
    report(progress, "xorshare", 0, 3)
    f0l, f1l = f0.tolist(), f1.tolist()
    readers: dict[int, list[int]] = defaultdict(list)
    for v in range(1, len(f0l)):
        if f0l[v] and live[v]:
            readers[f0l[v] >> 1].append(v)
            readers[f1l[v] >> 1].append(v)
    # the two AND nodes inside an XOR that nothing else reads: gone with the XOR
    outputs = {lit >> 1 for lit in circuit.output_literals()}
    inner = {u for v in xors for u in (f0l[v] >> 1, f1l[v] >> 1)
             if u not in outputs and all(r in xors for r in readers[u])}
    # targets: XOR nodes an output or some node outside the XOR network reads
    targets = {v for v in xors
               if v in outputs or any(r not in xors and r not in inner for r in readers[v])}
    leaf_id: dict[int, int] = {}
    leaf_node: list[int] = []
    expr: dict[int, tuple[int, int]] = {}  # non-target XOR node -> (leaves as a bitset, constant)

    def of(lit: int) -> tuple[int, int]:
        node = lit >> 1
        if node in expr:
            bits, par = expr[node]
        else:
            if node not in leaf_id:
                leaf_id[node] = len(leaf_node)
                leaf_node.append(node)
            bits, par = 1 << leaf_id[node], 0
        return bits, par ^ (lit & 1)

    sets, parity, order = [], [], []
    for v in sorted(xors):  # fanins first
        pl, ql = xors[v]
        (bp, pp), (bq, pq) = of(pl), of(ql)
        bits = bp ^ bq
        if v not in targets and bits.bit_count() > p.max_leaves:
            targets.add(v)  # too wide to flatten further: a signal of its own
        if v in targets:
            order.append(v)
            sets.append({i for i in range(bits.bit_length()) if (bits >> i) & 1})
            parity.append(pp ^ pq)
        else:
            expr[v] = (bits, pp ^ pq)
    notes["targets"] = len(targets)
    report(progress, "xorshare", 1, 3)
    made = extract_pairs(sets, len(leaf_node))  # new signal k (numbered after the leaves): an XOR of two
    notes["shared"] = len(made)
    if not made:  # nothing shared: a rebuild would only change the XORs' form, which mapping handles
        return circuit, pass_stats("xorshare", circuit, circuit, t0, **notes)
    report(progress, "xorshare", 2, 3)
    new = _build(circuit, live, xors, inner, order, sets, parity, leaf_node, made)
    report(progress, "xorshare", 3, 3)
    before, after = nand_cost(circuit), nand_cost(new)
    if after >= before:
        return circuit, pass_stats("xorshare", circuit, circuit, t0, before, before, kept=False, **notes)
    return new, pass_stats("xorshare", circuit, new, t0, before, after, **notes)


def _build(circuit: Circuit, live, xors, inner, order, sets, parity, leaf_node, made) -> Circuit:
    """The circuit with every target (``order``) rebuilt from its set (signals: the leaves,
    then ``made``); the other XOR nodes and their private inner nodes are left out.
    ``live``: the circuit's live-node mask."""
    new, lit = start_copy(circuit)
    f0, f1, lay = circuit.arrays()
    f0l, f1l, layl = f0.tolist(), f1.tolist(), lay.tolist()
    names = circuit.layer_names
    index = {t: i for i, t in enumerate(order)}
    sig = pair_signals(made, len(leaf_node), lambda x: lit[leaf_node[x]], new.xor)
    for v in range(1, circuit.num_nodes):
        if not f0l[v] or not live[v]:
            continue
        new.current_layer = names[layl[v]]
        if v in index:
            i = index[v]
            lit[v] = balanced([sig(k) for k in sorted(sets[i])], new.xor, 0) ^ parity[i]
        elif v not in xors and v not in inner:
            a, b = f0l[v], f1l[v]
            lit[v] = new.and_(lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    return rebuild(new)[0]
