"""Functional recovery of threshold functions of many inputs, whatever their structure.

A binarized neuron is ``[sum_i (x_i ^ p_i) >= T]``: a symmetric threshold
function of its input literals.  Another tool may have built it as a tree of
ripple-carry adders, a chain of additions, or anything else; this module
finds such functions by their *behaviour* and proves them:

1. :func:`input_supports` gives every node's set of primary inputs (bitsets),
   :func:`candidate_roots` the nodes worth examining: large support, read by
   an output or by a node of larger support (whole neurons, not their parts);
2. :func:`unate_filter` drops, with one simulation of the whole circuit, the
   candidates that some single-input flip changes in both directions (a
   threshold function is unate in every input);
3. :func:`refute_thresholds` drops, by a few simulations of the whole circuit
   batched over all candidates (no cone is built), those whose behaviour
   contradicts the only threshold hypothesis a boundary vector allows (the
   steps of 4. below, with fewer test vectors): most nodes of circuits that
   do not count (compare chains, quantizers) go here, cheaply;
4. :func:`recognize` finds, on the candidate's cone alone, an input vector
   ``y`` on the boundary (``f(y) = 0`` and one flip away from 1) by a walk
   between a 0-vector and a 1-vector; the flips of ``y`` that raise ``f``
   reveal every input's polarity at once, and ``T`` is one more than the
   literal count of ``y``.  Random vectors of every literal weight then test
   the hypothesis;
5. :func:`~nandc.synth.adders.adder_certificate` proves it when the cone adds
   by full and half adders (any size, no SAT: local identities
   ``a + b + c = xor3 + 2 maj`` found on 3-leaf cuts rewrite the sum of the
   literals into a few weighted signals that cut the root);
   :func:`prove_by_reference` proves it by SAT against a reference adder
   tree mirroring the cone's grouping, with cut points; and
   :func:`prove_symmetric` proves it: ``f`` is symmetric in its literals iff
   it is invariant under the ``k - 1`` transpositions of neighbouring leaves
   (they generate the symmetric group); each transposed copy is built by
   hash-consing only the nodes above the two swapped inputs (most merge back
   at once) and the rest is decided by an incremental SAT miter (every
   SAT query through :mod:`nandc.synth.fraig`).  A symmetric
   function is fixed by its value at one vector of each weight ``0 .. k``,
   which are simulated: together an exact proof.

Nothing here changes a circuit; :mod:`nandc.passes.recover` rebuilds the
recovered functions by compressor trees and shares partial sums across a
layer.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nandc.ir import words
from nandc.ir.bits import pack_samples
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import compile_circuit
from nandc.synth import fraig
from nandc.synth.adders import adder_certificate
from nandc.synth.bdd import leaf_order, threshold_by_bdd
from nandc.synth.compiled import use_compiled
from nandc.synth.cost import phase_use

__all__ = [
    "Threshold",
    "freed_nodes",
    "input_supports",
    "candidate_roots",
    "unate_filter",
    "refute_thresholds",
    "cone_circuit",
    "recognize",
    "prove_symmetric",
    "reference_threshold",
    "prove_by_reference",
    "find_thresholds",
    "certify_equal_thresholds",
    "internal_supports",
]


@dataclass(frozen=True)
class Threshold:
    """``root`` (a literal of the examined circuit) equals ``[sum_i (leaf_i ^ phases[i]) >= threshold]``.

    ``leaves`` are input nodes, or roots of other thresholds (a later layer); ``proof`` is ``"certificate"`` (an adder-tree
    certificate, :mod:`nandc.synth.adders`), ``"bdd"`` (equal BDDs, :mod:`nandc.synth.bdd`),
    ``"sat"`` (proved by SAT against a reference adder tree, or symmetry proved and every
    weight simulated) or ``"simulation"`` (no proof within the budget).
    """

    root: int
    leaves: tuple[int, ...]
    phases: tuple[int, ...]
    threshold: int
    proof: str


# ---------------------------------------------------------------------- supports and candidates
def input_supports(circuit: Circuit, live: np.ndarray | None = None) -> list[int]:
    """Per node, the set of input positions (``circuit.inputs`` order) it depends on, as an int bitset."""
    f0, f1, _ = circuit.arrays()
    if live is None:
        live = circuit.reachable()
    sup = [0] * circuit.num_nodes
    for pos, node in enumerate(circuit.inputs):
        sup[node] = 1 << pos
    f0l, f1l = f0.tolist(), f1.tolist()
    for v in np.flatnonzero(live & (f0 != 0)).tolist():
        sup[v] = sup[f0l[v] >> 1] | sup[f1l[v] >> 1]
    return sup


def candidate_roots(circuit: Circuit, sup: list[int], min_inputs: int,
                    live: np.ndarray | None = None) -> list[int]:
    """Live AND nodes depending on at least ``min_inputs`` inputs that are read by an
    output or by an AND node of larger support (increasing)."""
    f0, f1, _ = circuit.arrays()
    if live is None:
        live = circuit.reachable()
    f0l, f1l = f0.tolist(), f1.tolist()
    maximal = set(lit >> 1 for lit in circuit.output_literals())
    for v in np.flatnonzero(live & (f0 != 0)).tolist():
        for lit in (f0l[v], f1l[v]):
            u = lit >> 1
            if sup[u] != sup[v]:
                maximal.add(u)
    return sorted(v for v in maximal if f0l[v] and sup[v].bit_count() >= min_inputs)


def _pack(rows: np.ndarray) -> np.ndarray:
    """``(samples, signals)`` 0/1 -> ``(signals, words)`` slices."""
    return pack_samples(rows.astype(np.uint8))


def _unpack(words: np.ndarray, count: int) -> np.ndarray:
    """``(outputs, words)`` slices -> ``(outputs, count)`` 0/1."""
    b = np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1, bitorder="little")
    return b[:, :count]


def unate_filter(circuit: Circuit, roots: Sequence[int], pairs: int = 2048, seed: int = 0,
                 keep_quiet: frozenset[int] = frozenset(), quiet: set[int] | None = None) -> list[int]:
    """The ``roots`` that no single-input flip of random vectors changes in both directions.

    One simulation of the whole circuit on ``pairs`` vector pairs ``(x, x ^ e_i)``
    (random densities, random ``i``); a root is dropped when some input ``i``
    raised it in one pair and lowered it in another (then it is not unate in
    ``i``, so not a threshold function), or when no flip changed it at all
    (unless it is in ``keep_quiet``: a neuron whose threshold is far from
    the count of most random vectors seldom changes; those kept so are
    added to ``quiet`` if given).
    """
    if not roots:
        return []
    rng = np.random.default_rng(seed)
    n = circuit.num_inputs
    dens = rng.random((pairs, 1))
    base = (rng.random((pairs, n)) < dens).astype(np.uint8)
    which = rng.integers(0, n, pairs)
    flipped = base.copy()
    flipped[np.arange(pairs), which] ^= 1
    sim = compile_circuit(circuit, [2 * r for r in roots])
    a = _unpack(sim.run(_pack(base)), pairs).astype(np.int8)
    b = _unpack(sim.run(_pack(flipped)), pairs).astype(np.int8)
    # direction of the change as x_i goes 0 -> 1: +1, -1 or 0
    sign = (b - a) * np.where(base[np.arange(pairs), which] == 0, 1, -1)[None, :]
    up = np.zeros((len(roots), n), dtype=bool)
    down = np.zeros((len(roots), n), dtype=bool)
    rows, cols = np.nonzero(sign > 0)
    up[rows, which[cols]] = True
    rows, cols = np.nonzero(sign < 0)
    down[rows, which[cols]] = True
    both, moved = (up & down).any(1), (up | down).any(1)
    keep = []
    for j, r in enumerate(roots):
        if not both[j] and (moved[j] or r in keep_quiet):
            keep.append(r)
            if quiet is not None and not moved[j]:
                quiet.add(r)
    return keep


def _support_masks(sup: Sequence[int], roots: Sequence[int], n: int) -> np.ndarray:
    """``(len(roots), n)`` 0/1: row ``j`` is the input support bitset of ``roots[j]``."""
    nbytes = (n + 7) // 8
    raw = np.frombuffer(b"".join(sup[r].to_bytes(nbytes, "little") for r in roots), dtype=np.uint8)
    return np.unpackbits(raw.reshape(len(roots), nbytes), axis=1, bitorder="little")[:, :n]


def _own_bits(out: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Bit ``t`` of row ``owner[t]`` of the packed ``(outputs, words)`` ``out``, for every sample ``t``."""
    t = np.arange(len(owner))
    return ((out[owner, t >> 6] >> (t & 63).astype(np.uint64)) & np.uint64(1)).astype(np.uint8)


def _chunks(sizes: np.ndarray, width: int, limit: int = 1 << 22) -> list[tuple[int, int]]:
    """Consecutive ranges of candidates whose ``sum(sizes) * width`` stays under ``limit`` (one at least)."""
    ranges, j0 = [], 0
    cum = np.concatenate(([0], np.cumsum(sizes)))
    while j0 < len(sizes):
        j1 = int(np.searchsorted(cum, cum[j0] + max(limit // max(width, 1), int(sizes[j0])), side="right")) - 1
        j1 = max(j1, j0 + 1)
        ranges.append((j0, j1))
        j0 = j1
    return ranges


def refute_thresholds(circuit: Circuit, roots: Sequence[int], sup: Sequence[int], seed: int = 0,
                      near: int = 8, spread: int = 48) -> set[int]:
    """The ``roots`` proved *not* to be symmetric threshold functions of their input
    support, all at once by simulations of the whole circuit (no cone is built).

    The steps of :func:`recognize`, batched over the candidates: probe vectors
    of every density give each candidate a 0-vector and a 1-vector (a
    candidate without both is not examined); a binary search on the walk
    between them finds a boundary vector ``y`` (``f(y) = 0``, one flip from
    1); its flips give the only possible phases and threshold ``T`` (for a
    threshold function the flips of any boundary vector raise ``f`` exactly
    on its 0-literals).  The hypothesis is then tested on the probe vectors,
    on ``near`` random vectors of literal weight ``T - 1`` and as many of
    weight ``T``, and on ``spread`` of weights spread evenly over ``0 .. k``;
    a candidate is refuted when some simulated value contradicts it,
    which a threshold function of its support never does.  So a refuted
    root is certainly not one, and the rest still need :func:`recognize` and a proof.
    """
    if not roots:
        return set()
    n = circuit.num_inputs
    rng = np.random.default_rng(seed)
    dens = np.repeat(np.linspace(0.0, 1.0, 65), 16)[:, None]
    probe = (rng.random((len(dens), n)) < dens).astype(np.uint8)
    sim = compile_circuit(circuit, [2 * r for r in roots])
    val = _unpack(sim.run(_pack(probe)), len(probe))  # (roots, probes)
    examined = np.flatnonzero((val == 0).any(1) & (val == 1).any(1))
    refuted: set[int] = set()
    # candidates in groups: the per-candidate arrays below hold (group, inputs) entries
    group = max(1, _GROUP_ENTRIES // max(n, 1))
    for g0 in range(0, len(examined), group):
        idx = examined[g0:g0 + group]
        bad = _refute_group(sim, probe, val, idx, _support_masks(sup, [roots[j] for j in idx], n), rng,
                            near, spread)
        refuted.update(roots[int(idx[j])] for j in np.flatnonzero(bad))
    return refuted


#: Entries (candidates x inputs) of the per-candidate arrays of one group of :func:`refute_thresholds`.
_GROUP_ENTRIES = 1 << 22


def _refute_group(sim, probe: np.ndarray, val: np.ndarray, idx: np.ndarray, smask: np.ndarray,
                  rng: np.random.Generator, near: int, spread: int) -> np.ndarray:
    """:func:`refute_thresholds` on the candidates ``idx`` (outputs of ``sim``, each with a 0 and a 1
    among the ``probe`` rows, ``val``; ``smask`` their supports): per candidate, whether it is refuted."""
    n = probe.shape[1]
    x0 = probe[np.argmax(val[idx] == 0, axis=1)]
    x1 = probe[np.argmax(val[idx] == 1, axis=1)]
    m = len(idx)
    # the walk from x0 to x1 sets the differing support bits in a random order; walk[t] has the first t
    diff = (x0 != x1) & (smask == 1)
    rank = np.argsort(np.argsort(np.where(diff, rng.random(diff.shape), 2.0), axis=1), axis=1)
    lo, hi = np.zeros(m, dtype=np.int64), diff.sum(1).astype(np.int64)  # f(walk[lo]) = 0, f(walk[hi]) = 1
    while (hi - lo > 1).any():
        mid = (lo + hi) // 2
        v = _own_bits(sim.run(_pack(np.where(rank < mid[:, None], x1, x0)), select=idx), np.arange(m))
        active = hi - lo > 1
        lo = np.where(active & (v == 0), mid, lo)
        hi = np.where(active & (v == 1), mid, hi)
    y = np.where(rank < lo[:, None], x1, x0)
    # flips of y on the support: the flips that raise f are the 0-literals of y
    k = smask.sum(1).astype(np.int64)
    phases = np.zeros((m, n), dtype=np.uint8)
    threshold = np.ones(m, dtype=np.int64)
    for j0, j1 in _chunks(k, n):
        owner = np.repeat(np.arange(j0, j1), k[j0:j1])
        pos = np.flatnonzero(smask[j0:j1]) % n
        rows = y[owner]
        rows[np.arange(len(owner)), pos] ^= 1
        raised = _own_bits(sim.run(_pack(rows), select=idx[j0:j1]), owner - j0)
        yy = y[owner, pos]
        phases[owner, pos] = np.where(raised == 1, yy, 1 - yy)
        np.add.at(threshold, owner, 1 - raised)
    # the probes: literal weight sum_{i in support} x_i ^ p_i, as two products
    plain, flipped = (smask & (1 - phases)).T.astype(np.float32), (smask & phases).T.astype(np.float32)
    pf = probe.astype(np.float32)
    weight = pf @ plain - pf @ flipped + flipped.sum(0)[None, :]
    bad = ((weight >= threshold[None, :]).astype(np.uint8) != val[idx].T).any(0)
    # vectors of literal weight T - 1 and T, where a wrong hypothesis shows most, and of weights spread
    # over 0 .. k (the probes' literal weights cluster where random phases put them)
    left = np.flatnonzero(~bad)  # the probes refuted the rest: no more vectors for them
    if (near or spread) and len(left):
        per = np.full(len(left), 2 * near + spread, dtype=np.int64)
        for j0, j1 in _chunks(per, n):
            owner = np.repeat(left[j0:j1], 2 * near + spread)
            t = np.tile(np.arange(2 * near + spread), j1 - j0)
            kk, tt = k[owner], threshold[owner]
            w = np.where(t < 2 * near, tt - 1 + (t >= near),
                         ((t - 2 * near) * (kk + 1)) // max(spread, 1))
            # w random support positions: the keys at most the w-th smallest (non-support keys are 2)
            keys = np.where(smask[owner] == 1, rng.random((len(owner), n)), 2.0)
            kth = np.sort(keys, axis=1)[np.arange(len(owner)), np.maximum(w - 1, 0)]
            lits = ((keys <= kth[:, None]) & (w[:, None] > 0)).astype(np.uint8)
            rows = (lits ^ phases[owner]) & smask[owner]
            local = np.repeat(np.arange(j1 - j0), 2 * near + spread)  # positions in left[j0:j1]
            got = _own_bits(sim.run(_pack(rows), select=idx[left[j0:j1]]), local)
            bad[owner[got != (w >= tt)]] = True
    return bad


# ---------------------------------------------------------------------- one cone
def cone_circuit(circuit: Circuit, root: int, leaves: Sequence[int]) -> tuple[Circuit, int]:
    """The cone of node ``root`` over the input nodes ``leaves`` as a circuit of its own
    (inputs in the order of ``leaves``, output bus ``y``); returns it and the root's literal."""
    f0, f1, _ = circuit.arrays()
    f0l, f1l = f0, f1
    sub = Circuit("cone")
    lit = {0: 0}
    for node, new in zip(leaves, sub.add_input_bus("x", len(leaves))):
        lit[node] = new
    # iterative post-order
    stack = [root]
    order = []
    seen = set(lit)
    while stack:
        v = stack[-1]
        if v in seen:
            stack.pop()
            continue
        a, b = int(f0l[v]) >> 1, int(f1l[v]) >> 1
        pending = [u for u in (a, b) if u not in seen]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        seen.add(v)
        order.append(v)
        fa, fb = int(f0l[v]), int(f1l[v])
        lit[v] = sub.and_(lit[fa >> 1] ^ (fa & 1), lit[fb >> 1] ^ (fb & 1))
    out = lit[root]
    sub.set_output("y", [out])
    return sub, out


class _ConeSim:
    """Evaluates the one-output cone on rows of 0/1 input vectors."""

    def __init__(self, cone: Circuit):
        self.sim = compile_circuit(cone)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(rows), 1 << 15):
            chunk = rows[i:i + (1 << 15)]
            out.append(_unpack(self.sim.run(_pack(chunk)), len(chunk))[0])
        return np.concatenate(out) if out else np.zeros(0, dtype=np.uint8)


def _find_value(cone: Circuit, root: int, value: int, budget: int) -> np.ndarray | None:
    """An input vector on which ``root`` is ``value``, by SAT (None if there is none or the budget ran out)."""
    solver = fraig.ConeSolver(cone, budget)
    try:
        verdict, cex = solver.check(root, value ^ 1)  # a vector where root differs from not-value
    finally:
        solver.close()
    if verdict != fraig.DIFFERENT:
        return None
    vec = np.zeros(cone.num_inputs, dtype=np.uint8)
    for pos, node in enumerate(cone.inputs):
        vec[pos] = bool(cex.get(node, False))
    return vec


def _equal(circuit: Circuit, x: int, y: int, budget: int | None) -> bool | None:
    """Whether literals ``x`` and ``y`` of ``circuit`` are equal: True, False, or None (budget out)."""
    solver = fraig.ConeSolver(circuit, budget)
    try:
        verdict, _ = solver.check(x, y)
    finally:
        solver.close()
    return None if verdict == fraig.UNKNOWN else verdict == fraig.EQUAL


def recognize(cone: Circuit, root: int, samples: int = 8, seed: int = 0,
              sat_budget: int = 20000) -> tuple[tuple[int, ...], int, np.ndarray] | None:
    """``(phases, T, checked)`` with ``cone == [sum(x_i ^ phases[i]) >= T]`` on every tested
    vector, or None.  ``checked[w]`` says a vector of literal weight ``w`` was simulated
    for every ``w`` in ``0 .. k`` (so after a symmetry proof the function is known)."""
    k = cone.num_inputs
    rng = np.random.default_rng(seed)
    f = _ConeSim(cone)
    dens = np.repeat(np.linspace(0.0, 1.0, 65), 16)[:, None]
    probe = (rng.random((len(dens), k)) < dens).astype(np.uint8)
    val = f(probe)
    zeros, ones = np.flatnonzero(val == 0), np.flatnonzero(val == 1)
    x0 = probe[zeros[0]] if len(zeros) else _find_value(cone, root, 0, sat_budget) if sat_budget > 0 else None
    x1 = probe[ones[0]] if len(ones) else _find_value(cone, root, 1, sat_budget) if sat_budget > 0 else None
    if x0 is None or x1 is None:
        return None
    # walk from x0 to x1 one differing bit at a time: a 0 -> 1 step is a boundary vector
    diff = rng.permutation(np.flatnonzero(x0 != x1))
    walk = np.repeat(x0[None, :], len(diff) + 1, axis=0)
    for t, i in enumerate(diff):
        walk[t + 1:, i] = x1[i]
    wv = f(walk)
    steps = np.flatnonzero((wv[:-1] == 0) & (wv[1:] == 1))
    if not len(steps):
        return None
    y = walk[steps[0]]
    flips = np.repeat(y[None, :], k, axis=0)
    flips[np.arange(k), np.arange(k)] ^= 1
    raised = f(flips)
    phases = np.where(raised == 1, y, 1 - y).astype(np.uint8)
    threshold = int((raised == 0).sum()) + 1
    # test: random literal vectors of every weight, more of them near the threshold
    weights = np.arange(k + 1)
    weights = np.repeat(weights, np.where(np.abs(weights - threshold) <= 2, samples * 4, samples))
    # each row: ``w`` ones at random positions (a row of w ones then k - w zeros, shuffled)
    lits = rng.permuted((np.arange(k)[None, :] < weights[:, None]).astype(np.uint8), axis=1)
    got = f(lits ^ phases[None, :])
    want = (weights >= threshold).astype(np.uint8)
    if not np.array_equal(got, want):
        return None
    return tuple(int(p) for p in phases), threshold, np.ones(k + 1, dtype=bool)


def _conflicts(solver: fraig.ConeSolver) -> int:
    """Conflicts the solver has spent so far (0 before its first query)."""
    return solver.solver.accum_stats().get("conflicts", 0) if solver.solver is not None else 0


def prove_symmetric(cone: Circuit, root: int, phases: Sequence[int], conflicts: int = 30000,
                    total_conflicts: int = 100000) -> bool | None:
    """Whether the cone is symmetric in the literals ``x_i ^ phases[i]``: True (proved),
    False (refuted), None (the SAT budget ran out).

    For neighbouring leaves ``a, b`` (depth-first order; these transpositions
    generate every permutation) it proves ``f[l_a=1, l_b=0] == f[l_a=0, l_b=1]``:
    both cofactors are built by hash-consing only the nodes above ``a`` and
    ``b`` (the rest is shared), and the two are compared by one incremental
    :class:`~nandc.synth.fraig.ConeSolver` over the growing circuit.
    """
    order = leaf_order(cone, root)
    k = cone.num_inputs
    if sorted(order) != list(range(k)):
        return False  # some input is not in the cone
    f0, f1, _ = cone.arrays()
    base_nodes = cone.num_nodes
    fanouts: list[list[int]] = [[] for _ in range(base_nodes)]
    for v in range(1, base_nodes):
        if f0[v]:
            fanouts[int(f0[v]) >> 1].append(v)
            fanouts[int(f1[v]) >> 1].append(v)
    f0l, f1l = f0.tolist(), f1.tolist()
    inputs = cone.inputs
    spent = 0

    def cofactor(fixed: dict[int, int]) -> int:
        changed = dict(fixed)
        heap = sorted(set().union(*(fanouts[v] for v in fixed)))
        queued = set(heap)
        while heap:
            v = heapq.heappop(heap)
            fa, fb = f0l[v], f1l[v]
            la = changed.get(fa >> 1, fa & ~1) ^ (fa & 1)
            lb = changed.get(fb >> 1, fb & ~1) ^ (fb & 1)
            new = cone.and_(la, lb)
            if new != 2 * v:
                changed[v] = new
                for w in fanouts[v]:
                    if w not in queued:
                        queued.add(w)
                        heapq.heappush(heap, w)
        return changed.get(root >> 1, root & ~1) ^ (root & 1)

    solver = fraig.ConeSolver(cone, None)  # one incremental solver over the growing circuit
    try:
        for a, b in zip(order, order[1:]):
            na, nb = inputs[a], inputs[b]
            # literal l_a = x_a ^ phases[a] set to 1 means x_a = 1 ^ phases[a]
            r1 = cofactor({na: 1 ^ phases[a], nb: phases[b]})
            r2 = cofactor({na: phases[a], nb: 1 ^ phases[b]})
            if r1 == r2:
                continue
            budget = min(conflicts, total_conflicts - spent)
            if budget <= 0:
                return None
            solver.conflicts = budget
            before = _conflicts(solver)
            verdict, _ = solver.check(r1, r2)
            spent += max(_conflicts(solver) - before, 1)
            if verdict == fraig.UNKNOWN:
                return None
            if verdict == fraig.DIFFERENT:
                return False
    finally:
        solver.close()
    return True


def reference_threshold(cone: Circuit, phases: Sequence[int], threshold: int,
                        into: Circuit | None = None) -> tuple[int, list[int]]:
    """``[sum(x_i ^ phases[i]) >= threshold]`` built to mirror the cone's grouping.

    The supports of the cone's nodes that form a laminar family (taken
    largest first) are the groups a tree of additions sums; every group's
    count is built as the ripple-carry sum of its subgroups' counts and its
    loose literals, so the count words of the cone reappear and can serve as
    cut points of a proof.  Built into ``into`` (default: the cone itself,
    over its inputs); returns the output literal and every group word's bits
    (smaller groups first).
    """
    k = cone.num_inputs
    sup = input_supports(cone)
    sets = sorted({s for s in sup[1:] if s.bit_count() >= 2}, key=lambda s: -s.bit_count())
    kept: list[int] = []
    for s_ in sets:
        if all((s_ & t) in (0, s_, t) for t in kept):
            kept.append(s_)
    full = (1 << k) - 1
    if full not in kept:
        kept.insert(0, full)
    kept.sort(key=lambda s_: s_.bit_count())
    ref = cone if into is None else into
    xs = cone.input_literals() if into is None else into.input_literals()
    word: dict[int, words.Word] = {}
    bits: list[int] = []
    for s_ in kept:
        children = [t for t in word if t & s_ == t and t != s_]
        maximal = [t for t in children if not any(t != u and t & u == t for u in children)]
        covered = 0
        parts = []
        for t in maximal:
            parts.append(word[t])
            covered |= t
        for i in range(k):
            if (s_ >> i) & 1 and not (covered >> i) & 1:
                parts.append(words.Word((xs[i] ^ phases[i],), False))
        acc = parts[0]
        for w in parts[1:]:
            acc = words.add(ref, acc, w)
        word[s_] = acc
        bits.extend(acc.bits)
        for t in maximal:
            del word[t]
    return words.compare_const(ref, word[full], threshold, ">="), bits


_CUT_NODES = 400  # AND nodes of one local cut-point query (an adder step between proved words)


def prove_by_reference(cone: Circuit, root: int, phases: Sequence[int], threshold: int,
                       conflicts: int = 20000, samples: int = 2048, seed: int = 0) -> bool | None:
    """SAT-prove ``root`` of the cone equal to :func:`reference_threshold` built beside it:
    True (proved), False (refuted), None (undecided within ``conflicts`` per query).

    The group words of the reference are cut points: each is matched to a
    cone node by simulation on vectors of every literal weight (uniform
    random vectors never reach the top counts of large groups), proved equal
    by an incremental SAT query and the equality kept as clauses, smaller
    groups first; then the two outputs are compared.
    """
    k = cone.num_inputs
    base = cone.num_nodes
    # [sum l >= T] == ~[sum ~l >= k - T + 1]: the cone may count either phase; build both
    ref_root, bits = reference_threshold(cone, phases, threshold)
    other_root, other_bits = reference_threshold(cone, [p ^ 1 for p in phases], k - threshold + 1)
    if ref_root == root or other_root == root ^ 1:
        return True
    rng = np.random.default_rng(seed)
    dens = rng.random((samples, 1))
    rows = ((rng.random((samples, k)) < dens) ^ np.array(phases, dtype=bool)[None, :]).astype(np.uint8)
    nodes = list(range(1, cone.num_nodes))
    sig = _unpack(compile_circuit(cone, [2 * v for v in nodes]).run(_pack(rows)), samples)
    by_sig: dict[bytes, int] = {}
    for v in range(1, base):  # cone nodes: the first ``base`` nodes
        row = sig[v - 1]
        by_sig.setdefault(row.tobytes(), 2 * v)
        by_sig.setdefault((1 - row).tobytes(), 2 * v + 1)

    def matched(bs: list[int]) -> int:
        return sum((b >> 1) < base or (sig[(b >> 1) - 1] ^ (b & 1)).tobytes() in by_sig for b in bs if b > 1)

    if matched(other_bits) > matched(bits):
        ref_root, bits = other_root ^ 1, other_bits
    if 2 * matched(bits) < len(bits):
        return None  # the cone does not add in groups: no cut points to lean on
    f0, f1, _ = cone.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    cut: dict[int, int] = {}  # reference node -> equal cone literal
    boundary: set[int] = set()  # cone nodes proved equal to a reference word bit

    def window(roots: list[int], limit: int | None = None) -> tuple[Circuit | None, list[int]]:
        """The cones of ``roots`` down to proved cut points as a circuit of their own, in which
        the cut points (and the inputs) are free inputs; returns it and the roots' literals."""
        def sub(lit: int) -> int:
            node = lit >> 1
            return cut[node] ^ (lit & 1) if node in cut else lit

        seen = set()
        stack = [sub(r) >> 1 for r in roots]
        tops = set(stack)
        while stack:
            v = stack.pop()
            if v in seen or not f0l[v] or (v in boundary and v not in tops):
                continue
            seen.add(v)
            if limit is not None and len(seen) > limit:
                return None, []
            stack.append(sub(f0l[v]) >> 1)
            stack.append(sub(f1l[v]) >> 1)
        win = Circuit("window")
        lit = {0: 0}

        def get(x: int) -> int:
            node = x >> 1
            if node not in lit:  # not expanded: a free variable
                lit[node] = win.add_input()
            return lit[node] ^ (x & 1)

        for v in sorted(seen):  # a fanin is a smaller node, also after substitution
            lit[v] = win.and_(get(sub(f0l[v])), get(sub(f1l[v])))
        return win, [get(sub(r)) for r in roots]

    for b in bits:
        if b < 2 or (b >> 1) in cut:
            continue
        if (b >> 1) < base:  # the reference bit merged into a cone node by hashing
            boundary.add(b >> 1)
            continue
        match = by_sig.get((sig[(b >> 1) - 1] ^ (b & 1)).tobytes())
        if match is None:
            continue
        win, lits = window([b, match], _CUT_NODES)
        # a cut point whose cone is not one adder step, or that fails, only makes the end harder
        if win is not None and _equal(win, *lits, min(conflicts, 1000)):
            cut[b >> 1] = match ^ (b & 1)
            boundary.add(match >> 1)
    win, (da, db) = window([ref_root, root])
    if _equal(win, da, db, conflicts):
        return True
    # the abstraction at the cut points may be too coarse: decide on the whole cone, with the proved
    # equalities learned in order (each one's proof leans on those below it)
    solver = fraig.ConeSolver(cone, conflicts, learn=True)
    try:
        for r in sorted(cut):
            solver.check(2 * r, cut[r])
        verdict, _ = solver.check(ref_root, root)
    finally:
        solver.close()
    return None if verdict == fraig.UNKNOWN else verdict == fraig.EQUAL


def find_thresholds(circuit: Circuit, min_inputs: int = 8, max_inputs: int = 4096,
                    proof_inputs: int = 64, conflicts: int = 20000, prove: bool = False,
                    seed: int = 0, internal_levels: int = 0,
                    worth: Callable[[Circuit, int, tuple[int, ...], int], bool] | None = None,
                    floor: Callable[[int], float] | None = None) -> list[Threshold]:
    """Every candidate root of ``circuit`` that is a symmetric threshold function of
    its input support (see the module docstring), in increasing node order.
    Candidates left by :func:`unate_filter` and not refuted by :func:`refute_thresholds`
    are recognized on their cones, in two batches: first those inside no other
    candidate's cone, then the rest that no function found so far covers (a
    neuron found first spares the refutation of its popcount's partial sums).

    Each is proved by an adder-tree certificate
    (:func:`~nandc.synth.adders.adder_certificate`, any size, no SAT) if the
    cone adds by full and half adders; else by BDDs
    (:func:`~nandc.synth.bdd.threshold_by_bdd`) within their node budget; else functions of up to
    ``proof_inputs`` inputs are SAT-proved (:func:`prove_by_reference`, then
    :func:`prove_symmetric`, ``conflicts`` per query); larger ones, and
    those the budget does not decide, are simulation-tested only
    (``proof == "simulation"``) and returned unless ``prove`` is set.  A
    refuted one is never returned.

    With ``internal_levels > 0`` (an opt-in: it costs more recognition
    on circuits that have no such layers): if some output is not found so,
    the nodes read at least twice (an
    earlier layer's outputs, each read by every neuron of the next) are
    examined too.  Then up to ``internal_levels`` times: the nodes above the roots found
    so far whose support over the inputs and those roots (paths stop at a
    root) holds a root are examined the same way, with the roots as
    leaves -- the neurons of a next layer, whose literals are the previous
    layer's outputs.  Their ``leaves`` are then internal nodes; each is an
    input or the root of an earlier :class:`Threshold`.  The proofs treat
    the leaves as free, which is sound (a function of free leaves that is
    the threshold stays it on the values the leaves reach).

    ``worth(cone, literal, phases, threshold)``, if given, is asked about a
    recognized root that no other candidate shares its inputs with, before
    any proof: False leaves it out (a cone hardly larger than its rebuild is
    not worth the proof, which can take seconds).  Its cone is then not
    examined further, as if it had been found.

    ``floor(k)``, if given, is a lower bound on the NAND2 cost of rebuilding
    any threshold function of ``k`` inputs.  The candidates over one support
    are then left out, unexamined, when all of them together free too little
    for any rebuild to pay: the AND nodes only they read (:func:`freed_nodes`),
    counted twice (a NAND2 and an inverter each), and the nodes those read,
    counted once (an inverter each), stay under ``floor(k)``.  These are the
    sign bits and partial sums of words that other outputs read whole (a
    layer's logits), whose proofs cost seconds for nothing.
    """
    if use_compiled(circuit.num_ands):  # the cones' adder certificates use the compiled cuts, however small
        import nandc.synth.kernels  # noqa: F401
    live = circuit.reachable()
    sup = input_supports(circuit, live)
    roots = [r for r in candidate_roots(circuit, sup, min_inputs, live) if sup[r].bit_count() <= max_inputs]
    outputs = frozenset(lit >> 1 for lit in circuit.output_literals())
    quiet: set[int] = set()  # outputs no random flip changed: a small SAT search for a vector of each value
    roots = unate_filter(circuit, roots, seed=seed, keep_quiet=outputs, quiet=quiet)
    inputs = circuit.inputs
    f0, f1, _ = circuit.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    found: list[Threshold] = []
    covered: set[int] = set()  # nodes inside the cone of a recovered function: not examined

    def cover(r: int, leaves: tuple[int, ...]) -> None:
        stop = set(leaves)
        stack = [r]
        while stack:
            v = stack.pop()
            if v in covered or v in stop or not f0l[v]:
                continue
            covered.add(v)
            stack += (f0l[v] >> 1, f1l[v] >> 1)

    def examine(r: int, leaves: tuple[int, ...], alone: bool = False) -> None:
        cone, lit = cone_circuit(circuit, r, leaves)
        rec = recognize(cone, lit, seed=seed + r, sat_budget=1000 if r in quiet else 20000)
        if rec is None:
            return
        phases, threshold, _ = rec
        if alone and worth is not None and not worth(cone, lit, tuple(phases), threshold):
            cover(r, leaves)
            return
        proof = "certificate" if adder_certificate(cone, lit, phases, threshold) else None
        if proof is None:
            proved = threshold_by_bdd(cone, lit, phases, threshold)
            if proved is False:
                return
            proof = "bdd" if proved else None
        if proof is None and len(leaves) <= proof_inputs:
            proved = prove_by_reference(cone, lit, phases, threshold, conflicts)
            if proved is None and len(leaves) <= 24:  # structure-blind, slow beyond a few dozen inputs
                proved = prove_symmetric(cone_circuit(circuit, r, leaves)[0], lit, phases, conflicts, 2 * conflicts)
            if proved is False:
                return
            proof = "sat" if proved else None
        if proof is None and prove:
            return
        found.append(Threshold(2 * r, leaves, phases, threshold, proof or "simulation"))
        cover(r, leaves)

    if floor is not None:
        roots = _worth_freeing(circuit, roots, sup, floor)
    sharing = Counter(sup[r] for r in roots)  # a layer's neurons read the same inputs
    # the candidates no other one reads first (a neuron before the partial sums of its popcount):
    # found ones cover their cones, whose candidates then need neither refutation nor a look
    inside = circuit.reachable([lit for r in roots for lit in (f0l[r], f1l[r])])
    below = {r for r in roots if inside[r]}
    for batch in ([r for r in roots if r not in below], [r for r in roots if r in below]):
        batch = [r for r in batch if r not in covered]
        refuted = refute_thresholds(circuit, batch, sup, seed=seed)
        for r in sorted(batch, key=lambda v: (-sup[v].bit_count(), v)):
            if r not in covered and r not in refuted:
                s = sup[r]
                examine(r, tuple(inputs[i] for i in range(s.bit_length()) if (s >> i) & 1), sharing[s] == 1)
    if internal_levels and not outputs <= {th.root >> 1 for th in found} | {0}:
        # an output is not a threshold of the inputs: maybe of an earlier layer's outputs, which
        # (read only by nodes of the same support) were not candidates; nodes read twice are
        fanout = np.bincount(np.concatenate([f0[live & (f0 != 0)] >> 1, f1[live & (f0 != 0)] >> 1]),
                             minlength=circuit.num_nodes)
        extra = [v for v in np.flatnonzero(live & (f0 != 0) & (fanout >= 2)).tolist()
                 if v not in covered and min_inputs <= sup[v].bit_count() <= max_inputs]
        for r in sorted(unate_filter(circuit, extra, seed=seed), key=lambda v: (-sup[v].bit_count(), v)):
            if r not in covered and 2 * r not in {th.root for th in found}:
                s = sup[r]
                examine(r, tuple(inputs[i] for i in range(s.bit_length()) if (s >> i) & 1))
    # neurons of a later layer: thresholds whose literals are the roots found so far
    for _level in range(internal_levels if found else 0):
        before = len(found)
        basis = list(inputs) + sorted({th.root >> 1 for th in found})
        bsup = internal_supports(circuit, basis, live)
        from_roots = ((1 << len(basis)) - 1) ^ ((1 << len(inputs)) - 1)
        for r in sorted(candidate_roots(circuit, bsup, min_inputs, live), key=lambda v: (-bsup[v].bit_count(), v)):
            b = bsup[r]
            if r in covered or not b & from_roots or b.bit_count() > max_inputs or 2 * r in {th.root for th in found}:
                continue
            examine(r, tuple(basis[i] for i in range(b.bit_length()) if (b >> i) & 1))
        if len(found) == before:
            break
    return sorted(found, key=lambda th: th.root)


def freed_nodes(circuit: Circuit, roots: Sequence[int], refs: Sequence[int]) -> tuple[int, int]:
    """``(freed, read)``: how many AND nodes die when every node of ``roots`` is computed
    otherwise (the roots themselves and the nodes that only they read, transitively), and
    how many other nodes those read.  ``refs``: per node, its readers (AND nodes and output
    bits)."""
    f0, f1 = circuit.fanin_views()
    taken: dict[int, int] = {}  # node -> references taken away
    dead = set(roots)
    stack = list(dead)
    while stack:
        v = stack.pop()
        for u in (f0[v] >> 1, f1[v] >> 1):
            left = taken[u] = taken.get(u, 0) + 1
            if left == refs[u] and f0[u] and u not in dead:
                dead.add(u)
                stack.append(u)
    return len(dead), sum(1 for u in taken if u not in dead and u)


def _worth_freeing(circuit: Circuit, roots: list[int], sup: list[int], floor: Callable[[int], float]) -> list[int]:
    """The ``roots`` whose group (the roots of one support) frees enough for a rebuild to pay
    (see :func:`find_thresholds`)."""
    use = phase_use(circuit)
    refs = (use.pos + use.neg).tolist()  # readers per node: AND nodes and output bits, either phase
    groups: dict[int, list[int]] = {}
    for r in roots:
        groups.setdefault(sup[r], []).append(r)
    kept = set()
    for s, members in groups.items():
        freed, read = freed_nodes(circuit, members, refs)
        if 2 * freed + read >= floor(s.bit_count()):
            kept.update(members)
    return [r for r in roots if r in kept]


def internal_supports(circuit: Circuit, basis: Sequence[int], live: np.ndarray | None = None) -> list[int]:
    """Per node, the set of ``basis`` nodes (positions in ``basis``) it depends on through
    paths that stop at basis nodes, as an int bitset (basis nodes: their own bit)."""
    f0, f1, _ = circuit.arrays()
    if live is None:
        live = circuit.reachable()
    sup = [0] * circuit.num_nodes
    pos = {node: i for i, node in enumerate(basis)}
    f0l, f1l = f0.tolist(), f1.tolist()
    for node, i in pos.items():
        sup[node] = 1 << i
    for v in np.flatnonzero(live & (f0 != 0)).tolist():
        if v not in pos:
            sup[v] = sup[f0l[v] >> 1] | sup[f1l[v] >> 1]
    return sup


def certify_equal_thresholds(a: Circuit, b: Circuit) -> bool:
    """Whether every output bit of ``a`` and of ``b`` (inputs and outputs matched by position) is
    provably the same threshold function of the inputs: the function is recognized on
    ``a``'s cone and both cones are proved to compute it, each by an adder-tree certificate
    (:func:`~nandc.synth.adders.adder_certificate`) or else by BDDs
    (:func:`~nandc.synth.bdd.threshold_by_bdd`).  True is a proof of equivalence;
    False only says no such proof was found (a circuit not made of neurons, a
    structure the certificate does not follow)."""
    if a.num_inputs != b.num_inputs:
        return False
    outs_a, outs_b = a.output_literals(), b.output_literals()
    if len(outs_a) != len(outs_b):
        return False
    sup_a, sup_b = input_supports(a), input_supports(b)
    for la, lb in zip(outs_a, outs_b):
        s = sup_a[la >> 1]
        if s != sup_b[lb >> 1] or not s:
            return False
        pos = [i for i in range(s.bit_length()) if (s >> i) & 1]
        cone_a, root_a = cone_circuit(a, la >> 1, [a.inputs[i] for i in pos])
        cone_b, root_b = cone_circuit(b, lb >> 1, [b.inputs[i] for i in pos])
        rec = recognize(cone_a, root_a)
        if rec is None:
            return False
        phases, threshold, _ = rec
        if not _proved_threshold(cone_a, root_a, phases, threshold):
            return False
        if (la ^ lb) & 1:  # b's node is the complement: ~[L >= T] == [sum ~l >= k - T + 1]
            phases, threshold = tuple(p ^ 1 for p in phases), len(pos) - threshold + 1
        if not _proved_threshold(cone_b, root_b, phases, threshold):
            return False
    return True


def _proved_threshold(cone: Circuit, root: int, phases: Sequence[int], threshold: int) -> bool:
    return bool(adder_certificate(cone, root, phases, threshold)) or threshold_by_bdd(cone, root, phases,
                                                                                      threshold) is True
