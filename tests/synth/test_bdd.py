"""BDD proofs of threshold functions: right ones proved, wrong ones refuted, budgets kept."""

from __future__ import annotations

import random
import shutil
import sys

import pytest

from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.synth.adders import adder_certificate
from nandc.synth import bdd
from nandc.synth.bdd import have_bdd, threshold_by_bdd
from nandc.synth.equiv import check_equivalence
from nandc.synth.symmetric import certify_equal_thresholds
from tests.foreign import ge, ripple_add, tree_count, xor

pytestmark = pytest.mark.skipif(not have_bdd(), reason="the dd package (CUDD) is not installed")


def _carry_neuron(n: int, threshold: int, seed: int = 0):
    """nandc's own neuron: the threshold's constant absorbed into the compressor tree (its carry out),
    a shape the adder-tree certificate does not follow."""
    rng = random.Random(seed)
    c = Circuit(f"carry{n}")
    x = c.add_input_bus("x", n)
    phases = [rng.randint(0, 1) for _ in range(n)]
    c.set_output("y", [words.popcount_at_least(c, [lit ^ p for lit, p in zip(x, phases)], threshold)])
    return c, phases


@pytest.mark.parametrize("n,threshold", [(16, 8), (40, 13), (40, 31)])
def test_a_threshold_the_certificate_misses_is_proved(n, threshold):
    c, phases = _carry_neuron(n, threshold)
    root = c.output_literals()[0]
    assert adder_certificate(c, root, phases, threshold) is None
    assert threshold_by_bdd(c, root, phases, threshold) is True


@pytest.mark.parametrize("change", ["threshold", "phase", "complement"])
def test_a_wrong_claim_is_refuted(change):
    c, phases = _carry_neuron(24, 10)
    root = c.output_literals()[0]
    threshold = 10
    if change == "threshold":
        threshold = 11
    elif change == "phase":
        phases = [phases[0] ^ 1] + phases[1:]
    else:
        root ^= 1
    assert threshold_by_bdd(c, root, phases, threshold) is False


def test_foreign_trees_are_proved_and_a_broken_adder_is_refuted():
    rng = random.Random(3)
    for broken in (None, (0, "sum"), (0, "carry")):
        c = Circuit("tree")
        x = c.add_input_bus("x", 30)
        phases = [rng.randint(0, 1) for _ in range(30)]
        c.set_output("y", [ge(c, tree_count(c, [lit ^ p for lit, p in zip(x, phases)], broken), 17)])
        assert threshold_by_bdd(c, c.output_literals()[0], phases, 17) is (broken is None)


def _carry_save_count(c, lits):
    """Popcount by a carry-save tree: full adders on the three oldest bits of a column (the carry
    to the next column), then one ripple addition of the two rows left."""
    cols, j = [list(lits)], 0
    while j < len(cols):
        while len(cols[j]) > 2:
            a, b, d = (cols[j].pop(0) for _ in range(3))
            t = xor(c, a, b)
            cols[j].append(xor(c, t, d))
            if j + 1 == len(cols):
                cols.append([])
            cols[j + 1].append(c.or_(c.and_(a, b), c.and_(t, d)))
        j += 1
    return ripple_add(c, [col[0] if col else 0 for col in cols], [col[1] if len(col) > 1 else 0 for col in cols])


def test_variables_follow_the_tree_not_the_input_order(monkeypatch):
    rng = random.Random(5)
    n, threshold = 48, 20
    c = Circuit("shuffled_tree")  # a carry-save tree whose subtrees read scattered inputs
    x = c.add_input_bus("x", n)
    phases = [rng.randint(0, 1) for _ in range(n)]
    lits = [lit ^ p for lit, p in zip(x, phases)]
    rng.shuffle(lits)
    c.set_output("y", [ge(c, _carry_save_count(c, lits), threshold)])
    root = c.output_literals()[0]
    order = bdd.leaf_order(c, root)
    assert sorted(order) == list(range(n)) and order != list(range(n))
    assert threshold_by_bdd(c, root, phases, threshold, max_nodes=150_000) is True
    monkeypatch.setattr(bdd, "leaf_order", lambda cone, root: list(range(cone.num_inputs)))
    assert threshold_by_bdd(c, root, phases, threshold, max_nodes=150_000) is None  # input order: too large


def test_budget_and_missing_package_give_no_answer(monkeypatch):
    c, phases = _carry_neuron(40, 20)
    root = c.output_literals()[0]
    assert threshold_by_bdd(c, root, phases, 20, max_nodes=50) is None
    monkeypatch.setattr(bdd, "MAX_MEMORY", 1 << 16)  # CUDD runs out of memory inside an operation
    assert threshold_by_bdd(c, root, phases, 20) is None
    monkeypatch.undo()
    assert threshold_by_bdd(c, root, phases, 20) is True
    monkeypatch.setitem(sys.modules, "dd", None)  # import dd fails
    assert threshold_by_bdd(c, root, phases, 20) is None


def _yosys_layer(tmp_path, n: int, thresholds: list[int], seed: int):
    """Neurons written as Verilog sums of ``n`` literals of random polarity, synthesized by Yosys."""
    from tests.foreign import yosys_layer

    return yosys_layer(tmp_path, n, len(thresholds), seed, thresholds=thresholds)


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_recover_rebuilds_a_yosys_neuron_proved_by_bdd(tmp_path):
    from nandc.passes.pipeline import run_pipeline

    c = _yosys_layer(tmp_path, 40, [22], 5)
    out, stats = run_pipeline(c, "cleanup;recover[proof_inputs=0]")
    assert stats[-1].notes["thresholds"] == 1 and stats[-1].notes["bdd"] == 1
    assert stats[-1].nand2_after < stats[-1].nand2_before
    # (a SAT miter of the two shapes is what takes too long here; both sides proved by BDDs instead)
    assert certify_equal_thresholds(c, out) and check_equivalence(c, out, method="simulation", samples=1 << 14)


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_recover_proves_the_neurons_of_a_yosys_layer(tmp_path):
    from nandc.passes.pipeline import run_pipeline

    c = _yosys_layer(tmp_path, 64, [30, 37], 5)
    out, stats = run_pipeline(c, "cleanup;recover[proof_inputs=0]")
    # (the tree's order proves each in about 0.1 s; in input order they take seconds, or run out of budget)
    assert stats[-1].notes["thresholds"] == 2 and stats[-1].notes["bdd"] == 2
    assert stats[-1].nand2_after < 0.7 * stats[-1].nand2_before
    assert check_equivalence(c, out, method="simulation", samples=1 << 16)
