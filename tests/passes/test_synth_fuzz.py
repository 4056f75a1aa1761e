"""A fast, deterministic slice of the synthesis fuzz campaign (benchmarks/synth_fuzz.py).

Circuits of shapes nandc's frontend does not make (tests/synth_shapes.py: hand-made edge-case
AIGs, mutated adder trees, Verilog synthesized by Yosys) go through O3, every registered pass
alone and a pipeline with a branch and a loop; each result must compute the same function
(exhaustively up to 16 inputs, else by SAT), and nothing may raise.
"""

from __future__ import annotations

import random
import shutil

import pytest

from nandc.passes import PASSES, run_pipeline
from nandc.synth.equiv import check_equivalence
from tests import foreign
from tests.synth_shapes import EDGE, VERILOG, mutate_circuit, yosys_circuit

# every pass alone (restructure, the slowest, runs inside O3), and a pipeline with a branch and a loop
JOBS = ["O3", *sorted(set(PASSES) - {"restructure"}), "nand[cover=true]",
        "snapshot;{rewrite;resub};(refactor;sweep)*2;balance;map[choices=true,swap=true]"]


def _same(a, b):
    method = "exhaustive" if a.num_inputs <= 16 else "sat"
    result = check_equivalence(a, b, method=method)
    assert result, f"{a.name}: {result}"


def _run_all(c):
    for job in JOBS:
        out, _ = run_pipeline(c, job)
        _same(c, out)


@pytest.mark.parametrize("shape", sorted(EDGE))
def test_edge_shapes(shape):
    fn, (lo, hi) = EDGE[shape]
    c = fn(random.Random(len(shape)), 40 if hi else 0)
    c.name = shape
    _run_all(c)


def _adder_tree(n: int):
    from nandc.ir.circuit import Circuit

    c = Circuit("tree")
    xs = list(c.add_input_bus("x", n))
    total = foreign.tree_count(c, xs)
    c.set_output("count", total)
    c.set_output("ge", [foreign.ge(c, total, n // 2)])
    return c


@pytest.mark.parametrize("seed", [0, 1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_mutated_adder_trees(seed):
    kind, c = mutate_circuit(_adder_tree(10 + seed), random.Random(seed))
    c.name = f"tree-{kind}-{seed}"
    _run_all(c)


# seeds of small instances (20..200 AND nodes) of each template (yosys_circuit picks it by seed % 11)
YOSYS_SEEDS = {"alu": 44, "barrel": 23, "cmp": 57, "crc": 69, "expr": 15, "fsm": 60, "lzc": 50, "popcount": 18,
               "prienc": 63, "satadd": 20, "smul": 54}


@pytest.mark.slow  # (Yosys runs: the full suite only)
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
@pytest.mark.parametrize("shape", sorted(VERILOG))
def test_yosys_circuits(shape, tmp_path):
    got, c = yosys_circuit(YOSYS_SEEDS[shape], tmp_path)
    assert got == shape
    _run_all(c)
