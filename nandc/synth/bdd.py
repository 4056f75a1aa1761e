"""Proofs by binary decision diagrams: a cone against a threshold function.

A symmetric threshold function ``[sum_i (x_i ^ p_i) >= T]`` of ``n`` inputs
has a reduced ordered BDD of at most ``n (n + 1) / 2`` nodes under any
variable order, and so does every partial count of a subset of the inputs.
A cone that adds its literals in some other shape (an adder chain written by
Yosys, a lookahead carry unit, a comparator built as a subtraction) often
stays within a polynomial BDD size node by node, where a SAT miter against
a compressor tree struggles.  :func:`threshold_by_bdd` builds the cone's BDD
node by node (CUDD, through the ``dd`` package, with reordering off and the
variables in the order a depth-first walk of the cone meets its inputs, so
that each subtree's inputs are neighbours; failing that, in input order) and
compares it with the threshold's, which it builds directly by counting.  A
node budget stops it where the sizes grow (partial sums whose inputs are
interleaved in the order can grow as a high power of ``n``): no answer then.
"""

from __future__ import annotations

from typing import Sequence

from nandc.ir.circuit import Circuit

__all__ = ["threshold_by_bdd", "have_bdd", "leaf_order"]

#: Live BDD nodes (cone and reference together) past which a proof is abandoned.
MAX_NODES = 400_000
#: Bytes CUDD may hold: a single operation can outgrow the node budget before it is checked
#: (1 GB let a hopeless order run for 16 s on one of binary_mlp.out's neurons; 32 MB stops it
#: in 0.3 s, and the benchmarks' BDD proofs all still succeed under it).
MAX_MEMORY = 1 << 25


def have_bdd() -> bool:
    """Whether the ``dd`` package with its CUDD binding can be imported."""
    try:
        from dd import cudd  # noqa: F401
    except ImportError:
        return False
    return True


def threshold_by_bdd(cone: Circuit, root: int, phases: Sequence[int], threshold: int,
                     max_nodes: int = MAX_NODES) -> bool | None:
    """Whether literal ``root`` of ``cone`` is ``[sum_i (x_i ^ phases[i]) >= threshold]``
    (``x_i`` the inputs of ``cone``, in creation order): True or False, both proved;
    None if the BDDs outgrow ``max_nodes`` live nodes (or :data:`MAX_MEMORY`) in both
    variable orders tried, or ``dd`` is not installed.

    The orders: the depth-first order of the cone's leaves (:func:`leaf_order`), in which
    each subtree's inputs are neighbours (a 64-input neuron synthesized by Yosys: proved
    in 0.1 s, where the input order ran out of its budget after 3-5 s), then the input
    order, which suits nandc's own compressor trees better."""
    if not have_bdd() or len(phases) != cone.num_inputs:
        return None
    from dd import cudd

    n = cone.num_inputs
    first = leaf_order(cone, root)
    met = set(first)
    first += [i for i in range(n) if i not in met]
    for order in (first, list(range(n))) if first != list(range(n)) else (first,):
        try:
            got = _compare(cudd.BDD(), cone, root, phases, threshold, max_nodes, order)
        except (ValueError, RuntimeError, MemoryError):  # CUDD out of its memory (a NULL node)
            got = None
        if got is not None:
            return got
    return None


def leaf_order(cone: Circuit, root: int) -> list[int]:
    """Input positions of ``cone`` in the order a depth-first walk from literal ``root``
    meets them (fanin 0 first; inputs outside the cone are left out).  Neighbours are
    usually siblings in the original structure: the inputs of each subtree of an adder
    tree stay together."""
    f0, f1, _ = cone.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    pos = {node: i for i, node in enumerate(cone.inputs)}
    order, seen, stack = [], set(), [root >> 1]
    while stack:
        v = stack.pop()
        if v in seen or v == 0:
            continue
        seen.add(v)
        if v in pos:
            order.append(pos[v])
        elif f0l[v]:
            stack += (f1l[v] >> 1, f0l[v] >> 1)
    return order


def _compare(bdd, cone: Circuit, root: int, phases: Sequence[int], threshold: int, max_nodes: int,
             order: Sequence[int]) -> bool | None:
    """:func:`threshold_by_bdd` with the variables in ``order`` (input positions, top first)."""
    n = cone.num_inputs
    bdd.configure(reordering=False, max_memory=MAX_MEMORY)
    names = [f"x{i}" for i in range(n)]
    bdd.declare(*(names[i] for i in order))  # declaration order is the variable order
    xs = [bdd.var(name) for name in names]
    # the reference, by counting from the last literal up: row[s] is the function of the
    # literals not yet counted when the ones counted so far sum to s
    lits = [x if not p else ~x for x, p in zip(xs, phases)]
    row = [bdd.true if s >= threshold else bdd.false for s in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row = [bdd.ite(lits[i], row[s + 1], row[s]) for s in range(i + 1)]
    want = row[0]
    del row
    f0, f1, _ = cone.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    live = cone.reachable([root])
    nodes = [v for v in range(1, len(f0l)) if f0l[v] and live[v]]
    reads = [0] * len(f0l)  # readers left of each node, so that a node's BDD is let go after its last
    for v in nodes:
        reads[f0l[v] >> 1] += 1
        reads[f1l[v] >> 1] += 1
    reads[root >> 1] += 1
    val = {0: bdd.false}
    for node, x in zip(cone.inputs, xs):
        val[node] = x
    for count, v in enumerate(nodes):
        a, b = f0l[v], f1l[v]
        va = val[a >> 1] if not a & 1 else ~val[a >> 1]
        vb = val[b >> 1] if not b & 1 else ~val[b >> 1]
        val[v] = va & vb
        for u in (a >> 1, b >> 1):
            reads[u] -= 1
            if not reads[u] and u:
                del val[u]
        del va, vb
        if count % 32 == 31 and len(bdd) > max_nodes:
            return None
    got = val[root >> 1]
    if root & 1:
        got = ~got
    return got == want
