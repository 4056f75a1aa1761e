"""Recovery of neurons from foreign structure: threshold functions rebuilt by compressor trees.

:mod:`nandc.synth.symmetric` finds the nodes that are symmetric threshold
functions ``[sum_i (x_i ^ p_i) >= T]`` of many primary inputs, whatever
built them (trees of ripple-carry adders, chains of additions), and proves
it.  This pass rebuilds them:

* one neuron alone: ``popcount >= T`` as a compressor tree with the constant
  absorbed (:func:`~nandc.passes.nnsynth.popcount_at_least`) or a popcount
  word and a comparison, whichever lowers to fewer NAND2 gates;
* a *layer*, two or more neurons over the same inputs with their own
  polarities: the popcount ``S`` of the plain inputs is built once, and each
  neuron counts only its minority side ``M`` (the inputs of its rarer
  polarity), since ``sum_i (x_i ^ p_i) = S + 2 * #(~x on M) - 2|M| + (k - |M|) ...``
  in one compressor tree per neuron (:func:`shared_threshold`).

Both rebuilds of the whole circuit are priced (:func:`~nandc.synth.cost.nand_cost`)
and the cheapest of them and the input is returned, so the pass never makes
a circuit worse.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence


from nandc.ir import words
from nandc.ir.words import compare_threshold, popcount_at_least, shared_threshold
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.passes.options import parse_params, check_params
from nandc.synth.cost import nand_cost
from nandc.synth.rebuild import rebuild
from nandc.synth.symmetric import Threshold, find_thresholds

__all__ = ["RecoverParams", "recover", "rebuild_thresholds"]


@dataclass(frozen=True)
class RecoverParams:
    """``min_inputs``/``max_inputs``: support sizes examined; ``max_nodes``: larger
    circuits are returned unchanged; every function is first proved by an
    adder-tree certificate if its cone adds by full and half adders (any
    size, no SAT), else by BDDs within a node budget
    (:mod:`nandc.synth.bdd`); otherwise functions of up to ``proof_inputs`` inputs are
    SAT-proved with ``conflicts`` per query, larger ones only
    simulation-tested (every literal weight, more vectors near the
    threshold); ``prove`` (default): rebuild only proved functions --
    ``prove=false`` also rebuilds the simulation-tested ones, an opt-in
    that gives up the proof for gates; ``layers``: up to this many later
    layers of neurons whose literals are the outputs of earlier ones
    (internal signals, not inputs) are looked for too (default 0: an
    opt-in, it costs recognition time on circuits without them).  A neuron
    whose inputs no other candidate shares is proved only if its rebuild
    saves at least :data:`MIN_SAVING` of its cone's cost; the candidates over
    one support are not examined at all when what only they read is too
    small for any rebuild to pay (:func:`_rebuild_floor`: the sign bits of
    logits that are outputs whole)."""

    min_inputs: int = 12
    max_inputs: int = 4096
    max_nodes: int = 200000
    proof_inputs: int = 64
    conflicts: int = 20000
    prove: bool = True
    layers: int = 0

    def __post_init__(self):
        check_params(self, "recover")


# ---------------------------------------------------------------------- builders
def _direct(c: Circuit, lits: list[int], threshold: int, which: int) -> int:
    return (popcount_at_least, compare_threshold)[which](c, lits, threshold)


@lru_cache(maxsize=64)
def _direct_costs(phases: tuple[int, ...], threshold: int) -> tuple[int, int]:
    """The NAND2 cost of each direct builder (0: carry only, 1: popcount + compare); remembered,
    since a lone neuron is priced before its proof and again when it is rebuilt."""
    costs = []
    for which in (0, 1):
        scratch = Circuit("price")
        xs = scratch.add_input_bus("x", len(phases))
        scratch.set_output("y", [_direct(scratch, [x ^ p for x, p in zip(xs, phases)], threshold, which)])
        costs.append(nand_cost(scratch))
    return costs[0], costs[1]


def _cheaper_direct(th: Threshold) -> int:
    """Which direct builder (0: carry only, 1: popcount + compare) lowers to fewer gates."""
    costs = _direct_costs(tuple(th.phases), th.threshold)
    return costs.index(min(costs))


#: A lone neuron is rebuilt only if its direct rebuild saves at least this fraction of its cone's
#: NAND2 cost; else it is left as it is, unproved (a proof can take seconds: nandc's own 256-input
#: neuron, whose rebuild would save 14 of 2,273 gates, took 3 s to fail it).
MIN_SAVING = 0.01


#: A lower bound on the NAND2 cost of any direct rebuild of a threshold of ``k`` inputs, as a share of
#: the cost of the popcount of ``k`` inputs: the cheapest threshold over every ``T`` costs 0.89 of it at
#: 12 inputs, 0.91 at 18 and 0.97 at 64 (the builders are compressor trees whatever ``T``), and a
#: layer's shared rebuild builds that popcount whole.
FLOOR_SHARE = 0.8


@lru_cache(maxsize=64)
def _popcount_cost(k: int) -> int:
    """The NAND2 cost of :func:`~nandc.ir.words.popcount` of ``k`` inputs."""
    scratch = Circuit("price")
    scratch.set_output("y", list(words.popcount(scratch, scratch.add_input_bus("x", k)).bits))
    return nand_cost(scratch)


def _rebuild_floor(k: int) -> float:
    """A lower bound on the NAND2 cost of rebuilding a threshold function of ``k`` inputs."""
    return FLOOR_SHARE * _popcount_cost(k)


def _worth_rebuilding(cone: Circuit, lit: int, phases: tuple[int, ...], threshold: int) -> bool:
    """Whether a lone neuron's direct rebuild saves at least :data:`MIN_SAVING` of its cone's cost."""
    cost = nand_cost(cone)
    return min(_direct_costs(phases, threshold)) < (1 - MIN_SAVING) * cost


# ---------------------------------------------------------------------- rebuilding
def rebuild_thresholds(circuit: Circuit, found: Sequence[Threshold], share: bool) -> Circuit:
    """``circuit`` with every root of ``found`` rebuilt from its inputs (layers shared if ``share``)."""
    new, inputs = circuit.copy_interface()
    lay = circuit.arrays()[2]
    names = circuit.layer_names
    lit = [-1] * circuit.num_nodes  # the rebuilt roots; rebuild() copies the rest
    for node, new_lit in inputs.items():
        lit[node] = new_lit
    groups: dict[tuple[int, ...], list[Threshold]] = defaultdict(list)
    for th in found:
        groups[th.leaves].append(th)
    # a later layer's leaves are the roots of an earlier one: groups in the order of their roots
    for leaves, members in sorted(groups.items(), key=lambda item: min(th.root for th in item[1])):
        xs = [lit[x] for x in leaves]
        if min(xs) < 0:  # a leaf that is not rebuilt here: rebuild() copies these roots as they are
            continue
        total = None
        if share and len(members) > 1:
            new.current_layer = names[int(lay[members[0].root >> 1])]
            total = words.popcount(new, xs)
        for th in members:
            new.current_layer = names[int(lay[th.root >> 1])]
            if total is not None:
                out = shared_threshold(new, total, xs, th.phases, th.threshold)
            else:
                out = _direct(new, [x ^ p for x, p in zip(xs, th.phases)], th.threshold, _cheaper_direct(th))
            lit[th.root >> 1] = out ^ (th.root & 1)
    return rebuild(circuit, lit, into=(new, inputs))[0]  # the rest of the live cone


def _outermost(circuit: Circuit, found: list[Threshold]) -> list[Threshold]:
    """The recovered functions not inside the cone of a larger recovered one (a cone
    stops at its leaves: a later layer's leaves, the roots of an earlier one, stay)."""
    f0, f1, _ = circuit.arrays()
    roots = {th.root >> 1 for th in found}
    inner: set[int] = set()
    for th in sorted(found, key=lambda t: -len(t.leaves)):
        v0 = th.root >> 1
        if v0 in inner:
            continue
        stack, seen = [int(f0[v0]) >> 1, int(f1[v0]) >> 1], set(th.leaves)
        while stack:
            v = stack.pop()
            if v in seen or not f0[v]:
                continue
            seen.add(v)
            if v in roots:
                inner.add(v)
            stack.append(int(f0[v]) >> 1)
            stack.append(int(f1[v]) >> 1)
    return [th for th in found if (th.root >> 1) not in inner]


@register("recover", "recover neurons of any structure: proved threshold functions rebuilt by compressor trees, "
          "layers share partial sums", params=RecoverParams)
def recover(circuit: Circuit, params=None) -> tuple[Circuit, Stats]:
    """Rebuild the symmetric threshold functions of many inputs found in ``circuit``.

    Requires: a valid Circuit.  Ensures: the same function on every output
    (every rebuilt node proved by a certificate or SAT; with ``prove=false``
    others only simulation-tested); a
    NAND2 cost no higher than the input's; new nodes carry the layer of the
    node they rebuild.
    """
    p = parse_params(RecoverParams, params, "recover")
    t0 = time.perf_counter()
    notes: dict = {"thresholds": 0, "shared": False}
    result = circuit
    best_cost = None
    if circuit.num_ands <= p.max_nodes:
        found = find_thresholds(circuit, p.min_inputs, p.max_inputs, p.proof_inputs, p.conflicts, p.prove,
                                internal_levels=p.layers, worth=_worth_rebuilding, floor=_rebuild_floor)
        found = _outermost(circuit, found)
        if found:
            nand2_before = best_cost = nand_cost(circuit)
            for share in (False, True):
                if share and len({th.leaves for th in found}) == len(found):
                    continue
                cand = rebuild_thresholds(circuit, found, share)
                cost = nand_cost(cand)
                if cost < best_cost:
                    result, best_cost = cand, cost
                    notes = {"thresholds": len(found), "shared": share,
                             "unproved": sum(th.proof == "simulation" for th in found),
                             "certified": sum(th.proof == "certificate" for th in found),
                             "bdd": sum(th.proof == "bdd" for th in found)}
    if best_cost is None:  # nothing found: the cost is computed once, for the Stats
        best_cost = nand2_before = nand_cost(circuit)
    return result, pass_stats("recover", circuit, result, t0, nand2_before, best_cost, **notes)
