"""recover: threshold functions in foreign structure are found, proved, rebuilt smaller; others left alone."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.ir.evaluate import evaluate
from nandc.passes import run_pipeline
from nandc.synth.cost import nand_cost
from nandc.ir.words import shared_threshold
from nandc.passes.recover import recover
from tests.foreign import ge as _ge, ripple_add as _ripple_add, tree_count as _tree_count, xor as _xor
from nandc.synth import symmetric
from nandc.synth.symmetric import (
    candidate_roots,
    cone_circuit,
    find_thresholds,
    input_supports,
    prove_by_reference,
    prove_symmetric,
    recognize,
    refute_thresholds,
)


# ---------------------------------------------------------------------- foreign-shape circuits
def _chain_count(c, lits):
    acc = [lits[0]]
    for lit in lits[1:]:
        acc = _ripple_add(c, acc, [lit])
    return acc


def foreign_layer(n, m, seed, count=_tree_count):
    rng = random.Random(seed)
    c = Circuit(f"layer{n}x{m}")
    x = c.add_input_bus("x", n)
    outs = []
    for _ in range(m):
        lits = [lit ^ rng.randint(0, 1) for lit in x]
        outs.append(_ge(c, count(c, lits), rng.randint(n // 4, 3 * n // 4)))
    c.set_output("y", outs)
    return c


def _all_rows(n):
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)


# ---------------------------------------------------------------------- the pass
@pytest.mark.parametrize("n,seed,count", [(8, 0, _tree_count), (12, 1, _tree_count), (16, 2, _tree_count),
                                          (13, 3, _chain_count), (16, 4, _chain_count)])
def test_single_foreign_neuron_is_proved_and_rebuilt_smaller(n, seed, count):
    c = foreign_layer(n, 1, seed, count)
    found = find_thresholds(c, min_inputs=8, prove=True)
    root = c.output_literals()[0] >> 1
    assert [th.root >> 1 for th in found] == [root]  # the cone of a recovered function is not examined
    assert all(th.proof in ("sat", "certificate", "bdd") for th in found)
    out, stats = recover(c, {"min_inputs": 8})
    assert stats.notes["thresholds"] == 1 and stats.notes["unproved"] == 0  # only the outermost is rebuilt
    assert nand_cost(out) < nand_cost(c)
    assert check_equivalence(c, out, method="exhaustive")


def test_twenty_input_neuron_equivalent_on_every_input():
    c = foreign_layer(20, 1, 5)
    out, stats = recover(c, {"min_inputs": 8, "prove": True})
    assert stats.notes["thresholds"] == 1
    assert nand_cost(out) < nand_cost(c)
    assert check_equivalence(c, out, method="exhaustive")


def test_layer_shares_the_popcount_and_stays_exact():
    c = foreign_layer(14, 8, 6)
    out, stats = recover(c, {"min_inputs": 8, "prove": True})
    assert stats.notes["thresholds"] == 8
    assert stats.notes["shared"] is True
    assert nand_cost(out) < nand_cost(c)
    assert check_equivalence(c, out, method="exhaustive")


def test_o3_keeps_the_recovered_neuron():
    c = foreign_layer(16, 2, 7)
    netlist, history = run_pipeline(c, "O3")
    rec = next(s for s in history if s.pass_name == "recover")
    assert rec.notes["thresholds"] == 2
    assert check_equivalence(c, netlist, method="exhaustive")


def test_a_lone_neuron_not_worth_rebuilding_is_left_unproved(monkeypatch):
    """``worth`` is asked about a lone neuron before its proof; False leaves it out, proof and all."""
    c = foreign_layer(16, 1, 8)
    asked = []

    def never(cone, lit, phases, threshold):
        asked.append((cone.num_inputs, len(phases)))
        return False

    def no_proof(*args, **kwargs):
        raise AssertionError("a proof was attempted")

    monkeypatch.setattr(symmetric, "adder_certificate", no_proof)
    assert find_thresholds(c, min_inputs=8, prove=True, worth=never) == []
    assert asked == [(16, 16)]  # the root only: its cone is not examined further
    monkeypatch.undo()
    assert len(find_thresholds(c, min_inputs=8, prove=True, worth=lambda *a: True)) == 1


def test_worth_is_not_asked_about_the_neurons_of_a_layer():
    """Neurons over the same inputs may pay off shared even where each alone would not."""
    c = foreign_layer(14, 3, 9)
    asked = []
    found = find_thresholds(c, min_inputs=8, prove=True, worth=lambda *a: asked.append(a) or False)
    assert len(found) == 3 and asked == []


def test_recover_skips_the_proof_of_a_neuron_as_small_as_its_rebuild(monkeypatch):
    """nandc's own 24-input neuron: its rebuild would save under MIN_SAVING, so no proof is tried."""
    from nandc.passes import recover as recover_module

    c = Circuit("own")
    x = c.add_input_bus("x", 24)
    c.set_output("y", [words.popcount_at_least(c, list(x), 12)])

    def no_proof(*args, **kwargs):
        raise AssertionError("a proof was attempted")

    monkeypatch.setattr(symmetric, "adder_certificate", no_proof)
    monkeypatch.setattr(symmetric, "threshold_by_bdd", no_proof)
    out, stats = recover(c, {"min_inputs": 8})
    assert stats.notes["thresholds"] == 0 and out is c
    monkeypatch.setattr(recover_module, "MIN_SAVING", -1.0)  # every rebuild worth a proof
    with pytest.raises(AssertionError, match="proof was attempted"):
        recover(c, {"min_inputs": 8})


def _logits_and_signs(n=24, m=3, seed=12):
    """A layer's logits read whole (a foreign ripple-adder count per neuron, every bit an output) and
    each logit's comparison with a threshold: the comparisons are thresholds of all inputs whose cones
    are mostly the counts the logits keep anyway."""
    rng = random.Random(seed)
    c = Circuit("logits")
    x = c.add_input_bus("x", n)
    logits, signs = [], []
    for j in range(m):
        count = _tree_count(c, [lit ^ rng.randint(0, 1) for lit in x])
        logits += count
        signs.append(_ge(c, count, rng.randint(n // 4, 3 * n // 4)))
    c.set_output("logits", logits)
    c.set_output("y", signs)
    return c


def test_freed_nodes_counts_what_only_the_roots_read():
    c = Circuit("f")
    a, b, d, e = (c.add_input() for _ in range(4))
    ab = c.and_(a, b)
    shared = c.and_(d, e)
    r1 = c.and_(ab, shared ^ 1)
    r2 = c.and_(r1, e)
    c.set_output("y", [r2, shared])
    f0, f1 = c.fanin_views()
    refs = [0] * c.num_nodes
    for v in range(c.num_nodes):
        if f0[v]:
            refs[f0[v] >> 1] += 1
            refs[f1[v] >> 1] += 1
    for lit in c.output_literals():
        refs[lit >> 1] += 1
    # r2 frees itself, r1 and ab (only r1 reads ab); shared is an output; the nodes read: e, shared, a, b
    assert symmetric.freed_nodes(c, [r2 >> 1], refs) == (3, 4)
    assert symmetric.freed_nodes(c, [r1 >> 1], refs) == (2, 3)  # r1 is also read by r2: replaced, it dies


def test_thresholds_whose_cones_other_outputs_keep_are_not_examined(monkeypatch):
    """The comparisons of logits that are outputs too free a comparator each, far under any rebuild: with
    recover's floor they are neither recognized nor proved, and recover returns the circuit unchanged."""
    from nandc.passes.recover import _rebuild_floor

    c = _logits_and_signs()
    signs = {lit >> 1 for lit in c.output_buses["y"].bits}
    plain = find_thresholds(c, min_inputs=8, prove=True)
    assert signs <= {th.root >> 1 for th in plain}  # they are thresholds, and found without the floor

    def no_look(*args, **kwargs):
        raise AssertionError("a candidate was examined")

    monkeypatch.setattr(symmetric, "recognize", no_look)
    assert find_thresholds(c, min_inputs=8, prove=True, floor=_rebuild_floor) == []
    out, stats = recover(c, {"min_inputs": 8})
    assert stats.notes["thresholds"] == 0 and out.structural_hash() == c.structural_hash()


def test_the_floor_keeps_the_neurons_of_a_foreign_layer():
    from nandc.passes.recover import _rebuild_floor

    c = foreign_layer(14, 3, 9)
    assert len(find_thresholds(c, min_inputs=8, prove=True, floor=_rebuild_floor)) == 3


# ---------------------------------------------------------------------- negative cases
def _negative(kind, n=14):
    c = Circuit(kind)
    x = c.add_input_bus("x", n)
    if kind == "parity":
        y = x[0]
        for lit in x[1:]:
            y = _xor(c, y, lit)
    elif kind == "exactly":  # symmetric, not a threshold
        y = words.compare_const(c, words.Word(tuple(_tree_count(c, list(x))), False), n // 2, "==")
    elif kind == "weighted":  # a threshold, but x0 counts twice: not symmetric
        y = _ge(c, _tree_count(c, [x[0]] + list(x)), n // 2)
    else:  # a 2-output function pair: threshold of a sum that includes an AND term
        y = _ge(c, _tree_count(c, [c.and_(x[0], x[1])] + list(x[2:])), n // 3)
    c.set_output("y", [y])
    return c


@pytest.mark.parametrize("kind", ["parity", "exactly", "weighted", "and-term"])
def test_non_threshold_functions_are_left_alone(kind):
    c = _negative(kind)
    assert find_thresholds(c, min_inputs=12) == []
    out, stats = recover(c, {"min_inputs": 12})
    assert out is c and stats.notes["thresholds"] == 0


def test_wrong_threshold_or_phase_is_refuted_by_the_proofs():
    c = foreign_layer(16, 1, 8)
    root = c.output_literals()[0] >> 1
    cone, lit = cone_circuit(c, root, c.inputs)
    phases, threshold, _ = recognize(cone, lit)
    assert prove_by_reference(cone_circuit(c, root, c.inputs)[0], lit, phases, threshold) is True
    assert prove_by_reference(cone_circuit(c, root, c.inputs)[0], lit, phases, threshold + 1) is False
    wrong = list(phases)
    wrong[3] ^= 1
    assert prove_symmetric(cone_circuit(c, root, c.inputs)[0], lit, wrong) is False
    assert prove_symmetric(cone_circuit(c, root, c.inputs)[0], lit, phases) is True


# ---------------------------------------------------------------------- the batched refutation
def _is_threshold(c, root, support):
    """Whether node ``root`` of ``c`` is ``[sum_i (x_i ^ p_i) >= T]`` over the inputs at ``support``
    (positions), for some phases and ``1 <= T <= k``: decided on every input vector."""
    k = len(support)
    rows = np.zeros((1 << k, c.num_inputs), dtype=np.uint8)
    rows[:, support] = _all_rows(k)
    f = evaluate(cone_circuit(c, root, c.inputs)[0], rows)["y"].astype(np.int64).ravel()
    lits = rows[:, support].astype(np.int64)
    for i in range(k):  # the phase of input i: f must be unate in it, and depend on it
        hi, lo = f[lits[:, i] == 1], f[lits[:, i] == 0]  # rows paired: bit i set vs clear, same others
        if (hi >= lo).all() and (hi > lo).any():
            continue
        if (hi <= lo).all() and (hi < lo).any():
            lits[:, i] ^= 1
            continue
        return False
    w = lits.sum(1)
    zeros, ones = w[f == 0], w[f == 1]
    return len(zeros) > 0 and len(ones) > 0 and zeros.max() < ones.min()


def _refutation_suite():
    """Small circuits with threshold nodes (neurons of every threshold, their adder trees' carries)
    and many that are not (sum bits, broken adders, a max of absolute values, parity)."""
    yield foreign_layer(9, 4, 11)
    c = Circuit("extremes")  # thresholds 1 and k (an OR and an AND of literals) and everything between
    x = c.add_input_bus("x", 8)
    count = _tree_count(c, [lit ^ (i % 3 == 0) for i, lit in enumerate(x)])
    c.set_output("y", [_ge(c, count, t) for t in range(1, 9)] + list(count))
    yield c
    c = Circuit("broken")
    x = c.add_input_bus("x", 10)
    c.set_output("y", [_ge(c, _tree_count(c, list(x), broken=(1, kind)), 5) for kind in ("sum", "carry")])
    yield c
    c = Circuit("absmax")  # max over i of |v_i| for 2-bit signed v_i: compare chains, no count
    x = c.add_input_bus("x", 12)
    best = [0, 0]
    for i in range(0, 12, 2):
        lo, sign = x[i], x[i + 1]
        mag = [lo, c.and_(sign, lo ^ 1)]  # |v| in 0 .. 2: v = 1 and v = -1 have lo set, v = -2 not
        greater = c.or_(c.and_(mag[1], best[1] ^ 1), c.and_(c.and_(mag[1] ^ 1, best[1] ^ 1),
                                                           c.and_(mag[0], best[0] ^ 1)))
        best = [c.or_(c.and_(greater, mag[j]), c.and_(greater ^ 1, best[j])) for j in range(2)]
    c.set_output("y", best)
    yield c
    for kind in ("parity", "exactly", "weighted", "and-term"):
        yield _negative(kind, 10)


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("group", [None, 64])
def test_refute_thresholds_refutes_only_non_thresholds(index, group, monkeypatch):
    if group:  # candidates in groups of one or two (the inputs times the group size bounds the arrays)
        monkeypatch.setattr(symmetric, "_GROUP_ENTRIES", group)
    c = list(_refutation_suite())[index]
    sup = input_supports(c)
    roots = candidate_roots(c, sup, 3) + [v for v in c.and_nodes() if sup[v].bit_count() >= 3]
    roots = sorted(set(roots))
    refuted = refute_thresholds(c, roots, sup)
    truth = {r: _is_threshold(c, r, [i for i in range(c.num_inputs) if (sup[r] >> i) & 1]) for r in roots}
    assert not any(truth[r] for r in refuted)  # a threshold function is never refuted
    non = [r for r in roots if not truth[r]]
    # and nearly every node that is not one is refuted (not a test that passes by refuting nothing)
    assert len(refuted) >= 0.8 * len(non) and (non == [] or refuted)


def test_refutation_leaves_the_recovered_thresholds_unchanged():
    c = foreign_layer(24, 6, 12)
    sup = input_supports(c)
    roots = candidate_roots(c, sup, 12)
    found = find_thresholds(c, min_inputs=12, prove=True)
    assert len(found) == 6 and not {th.root >> 1 for th in found} & refute_thresholds(c, roots, sup)


def test_the_neurons_are_examined_before_the_partial_sums_inside_them(monkeypatch):
    c = foreign_layer(24, 3, 5)  # three ripple-adder-tree neurons: their partial sums are candidates too
    sup = input_supports(c)
    batches = []
    real = symmetric.refute_thresholds
    monkeypatch.setattr(symmetric, "refute_thresholds",
                        lambda circuit, roots, s, **kw: batches.append(list(roots)) or real(circuit, roots, s, **kw))
    found = find_thresholds(c, min_inputs=8, prove=True)
    outputs = sorted(lit >> 1 for lit in c.output_literals())
    assert sorted(th.root >> 1 for th in found) == outputs
    inner = [r for r in candidate_roots(c, sup, 8) if r not in outputs]
    assert inner  # the partial sums are candidates ...
    assert sorted(batches[0]) == outputs and batches[1:] == [[]]  # ... but covered before their turn


# ---------------------------------------------------------------------- the shared builder
@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_shared_threshold_computes_the_threshold(n):
    rng = random.Random(n)
    rows = _all_rows(n)
    for trial in range(6):
        phases = [rng.randint(0, 1) for _ in range(n)] if trial else [1] * n
        c = Circuit("t")
        x = c.add_input_bus("x", n)
        total = words.popcount(c, list(x))
        outs = [shared_threshold(c, total, list(x), phases, t) for t in range(-1, n + 2)]
        c.set_output("y", outs)
        got = evaluate(c, {"x": rows})["y"]
        count = (rows ^ np.array(phases, dtype=np.uint8)).sum(axis=1)
        want = sum((count >= t).astype(np.int64) << j for j, t in enumerate(range(-1, n + 2)))
        assert np.array_equal(np.asarray(got).reshape(-1), want)
