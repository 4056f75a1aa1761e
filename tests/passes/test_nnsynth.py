"""nnsynth: threshold builders are exact, recognition is exact, the pass is equivalent and never costlier."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.ir.evaluate import evaluate
from nandc.synth.cost import nand_cost
from nandc.passes.nnsynth import (
    BUILDERS,
    nnsynth,
    popcount_at_least,
    shared_popcounts,
    sorting_threshold,
    symmetric_threshold,
)
from tests.strategies import circuits, examples


def _threshold_circuit(builder, n, threshold, phases):
    c = Circuit("t")
    x = c.add_input_bus("x", n)
    c.set_output("y", [builder(c, [lit ^ p for lit, p in zip(x, phases)], threshold)])
    return c


@pytest.mark.parametrize("builder", BUILDERS)
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_builders_compute_the_threshold(builder, n):
    for threshold in range(-1, n + 2):
        phases = [i % 2 for i in range(n)]
        c = _threshold_circuit(builder, n, threshold, phases)
        rows = [list(r) for r in itertools.product((0, 1), repeat=n)]
        got = evaluate(c, {"x": rows})["y"].reshape(-1)
        want = [int(sum(b ^ p for b, p in zip(r, phases)) >= threshold) for r in rows]
        assert got.tolist() == want, (builder.__name__, n, threshold)


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(1, 6).flatmap(lambda k: st.tuples(st.just(k), st.integers(0, (1 << (1 << k)) - 1))))
def test_symmetric_threshold_recognition_is_exact(k_table):
    k, table = k_table
    found = symmetric_threshold(table, k)
    rows = range(1 << k)
    is_threshold = None
    for phases in itertools.product((0, 1), repeat=k):
        flip = sum(p << i for i, p in enumerate(phases))
        for t in range(1, k + 1):
            if all(((table >> r) & 1) == (bin(r ^ flip).count("1") >= t) for r in rows):
                is_threshold = (phases, t)
    assert (found is None) == (is_threshold is None)
    if found is not None:
        phases, t = found
        flip = sum(p << i for i, p in enumerate(phases))
        assert all(((table >> r) & 1) == (bin(r ^ flip).count("1") >= t) for r in rows)


def test_sorting_network_neuron_is_rebuilt_cheaper():
    c = _threshold_circuit(sorting_threshold, 8, 4, [0, 1, 1, 0, 1, 0, 0, 0])
    new, stats = nnsynth(c, {"min_saved": 1})
    assert check_equivalence(c, new)
    assert nand_cost(new) < nand_cost(c) and stats.notes["thresholds"] == 1


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=10, max_ops=40))
def test_nnsynth_is_equivalent_and_never_costlier(c):
    new, stats = nnsynth(c, {"min_saved": 1, "cut_size": 8})
    new.verify()
    assert check_equivalence(c, new)
    assert nand_cost(new) <= nand_cost(c) == stats.nand2_before


def test_shared_popcounts_share_partial_sums():
    c = Circuit("layer")
    x = c.add_input_bus("x", 9)
    rows = [[lit ^ ((i >> j) & 1) for j, lit in enumerate(x)] for i in range(4)]
    words_ = shared_popcounts(c, rows)
    c.set_output("y", [b for w in words_ for b in w.bits], shape=(4, 4))
    alone = 0
    for row in rows:
        d = Circuit("one")
        xd = d.add_input_bus("x", 9)
        w = shared_popcounts(d, [[xd[(lit >> 1) - 1] ^ (lit & 1) for lit in row]])[0]
        d.set_output("y", list(w.bits))
        alone += d.num_ands
    assert c.num_ands < alone  # equal partial sums were built once
    sample = [1, 0, 1, 1, 0, 0, 1, 0, 1]
    got = evaluate(c, {"x": [sample]})["y"].reshape(4)
    assert got.tolist() == [sum(b ^ ((i >> j) & 1) for j, b in enumerate(sample)) for i in range(4)]


def test_popcount_at_least_constant_cases():
    c = Circuit("c")
    x = c.add_input_bus("x", 3)
    assert popcount_at_least(c, list(x), 0) == 1 and popcount_at_least(c, list(x), 4) == 0
