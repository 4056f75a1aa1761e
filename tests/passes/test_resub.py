"""resub: equivalence, NAND2 cost never higher, the forms it finds, don't cares, window tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.passes import run_pipeline
from nandc.passes.resub import resub
from nandc.synth.cost import CostView, nand_cost
from nandc.synth.equiv import check_equivalence
from nandc.synth.resub import window
from tests.strategies import circuits, examples, random_circuit


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=10, max_ops=60), st.integers(2, 12), st.integers(0, 3), st.integers(0, 4))
def test_resub_is_equivalent_and_never_costlier(c, cut_size, max_gates, odc_levels):
    new, stats = resub(c, {"cut_size": cut_size, "max_gates": max_gates, "odc_levels": odc_levels})
    new.verify()
    assert check_equivalence(c, new, method="exhaustive")
    assert nand_cost(new) <= nand_cost(c)
    assert stats.nand2_after == nand_cost(new) and stats.nand2_before == nand_cost(c)


@pytest.mark.parametrize("seed", range(3))
def test_resub_on_larger_random_circuits(seed):
    """Deep circuits with many reconvergent windows (the don't-care rules combine
    replacements of neighbouring nodes); proved by SAT."""
    c = random_circuit(seed, 24, 400, recent=12)
    c, _ = run_pipeline(c, "cleanup")
    for odc_levels in (0, 1, 3):
        new, _ = resub(c, {"odc_levels": odc_levels, "max_gates": 3})
        assert nand_cost(new) <= nand_cost(c)
        result = check_equivalence(c, new, method="sat")
        assert result, result


def test_zero_one_and_two_resub_are_found():
    c = Circuit("forms")
    a, b, d, e = c.add_input_bus("x", 4)
    ab = c.and_(a, b)
    abd = c.and_(ab, d)
    # 0-resub: the same function built differently (a & (b & d))
    same = c.and_(a, c.and_(b, d))
    # 1-resub: a & b & d & e from the existing abd and e, built the long way
    long = c.and_(c.and_(a, e), c.and_(b, d))
    c.set_output("y", [abd, same ^ 1, long, ab])
    new, stats = resub(c, {"odc_levels": 0})
    assert check_equivalence(c, new, method="exhaustive")
    assert nand_cost(new) < nand_cost(c)
    assert new.num_ands == 3  # ab, abd and abd & e
    assert stats.notes["replacements"] >= 2


def test_and_or_form():
    c = Circuit("andor")
    a, b, d = c.add_input_bus("x", 3)
    # (a & ~b) | (a & ~d) = a & ~(b & d): no inverters
    c.set_output("y", [c.or_(c.and_(a, b ^ 1), c.and_(a, d ^ 1))])
    new, _ = resub(c, {"odc_levels": 0})
    assert check_equivalence(c, new, method="exhaustive")
    assert new.num_ands == 2 and nand_cost(new) < nand_cost(c)
    one, _ = resub(c, {"odc_levels": 0, "max_gates": 1})
    assert nand_cost(one) == nand_cost(c)  # it takes a two-gate form


@pytest.mark.parametrize("seed", [3, 7, 12])
def test_observability_dont_cares_find_more(seed):
    """Random circuits where single-reader don't cares save gates that exact windows do not."""
    c, _ = run_pipeline(random_circuit(seed, 6, 40, recent=6), "cleanup")
    exact, _ = resub(c, {"odc_levels": 0})
    new, _ = resub(c, {"odc_levels": 1})
    assert check_equivalence(c, new, method="exhaustive")
    assert nand_cost(new) < nand_cost(exact) <= nand_cost(c)


def test_window_tables_match_evaluation():
    c = random_circuit(5, 8, 60, recent=8)
    ctx = CostView(c)
    for v in ctx.ands[-10:]:
        w = window(v, ctx.f0, ctx.f1, 6)
        k = len(w.leaves)
        assert k <= 6 and w.nodes[-1] == v
        # drive the leaves directly: evaluate the cone as a function of them
        for row in range(1 << k):
            value = {0: 0}
            for i, x in enumerate(w.leaves):
                value[x] = (row >> i) & 1
            for u in w.nodes:
                a, b = ctx.f0[u], ctx.f1[u]
                value[u] = (value[a >> 1] ^ (a & 1)) & (value[b >> 1] ^ (b & 1))
            assert (w.table[v] >> row) & 1 == value[v]


def test_bad_parameters():
    c = Circuit("p")
    x = c.add_input_bus("x", 2)
    c.set_output("y", [c.and_(*x)])
    for params in ({"cut_size": 1}, {"cut_size": 13}, {"max_gates": 4}, {"max_divisors": 0}, {"odc_levels": -1},
                   {"nope": 1}):
        with pytest.raises(PassError):
            resub(c, params)
