"""BDD proofs of threshold functions: right ones proved, wrong ones refuted, budgets kept."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys

import pytest

from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.synth.adders import adder_certificate
from nandc.synth import bdd
from nandc.synth.bdd import have_bdd, threshold_by_bdd
from nandc.synth.equiv import check_equivalence
from nandc.synth.symmetric import certify_equal_thresholds
from tests.foreign import ge, tree_count

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


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_recover_rebuilds_a_yosys_neuron_proved_by_bdd(tmp_path):
    from nandc.ir.io import read
    from nandc.passes.pipeline import run_pipeline

    rng = random.Random(5)
    n = 40
    terms = " + ".join(f"{{5'd0, {'~' if rng.randint(0, 1) else ''}x[{i}]}}" for i in range(n))
    (tmp_path / "n.v").write_text(f"module neuron(input [{n - 1}:0] x, output y);\n  wire [5:0] s = {terms};\n"
                                  f"  assign y = s >= 22;\nendmodule\n")
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {tmp_path / 'n.v'}; synth -top neuron; aigmap; opt_clean; "
                    f"write_aiger -ascii {tmp_path / 'n.aag'}"], check=True, capture_output=True)
    c = read(tmp_path / "n.aag")
    out, stats = run_pipeline(c, "cleanup;recover[proof_inputs=0]")
    assert stats[-1].notes["thresholds"] == 1 and stats[-1].notes["bdd"] == 1
    assert stats[-1].nand2_after < stats[-1].nand2_before
    # (a SAT miter of the two shapes is what takes too long here; both sides proved by BDDs instead)
    assert certify_equal_thresholds(c, out) and check_equivalence(c, out, method="simulation", samples=1 << 14)
