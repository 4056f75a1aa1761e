"""refactor: equivalence, NAND2 cost never higher; its pieces (cut, table, cover, factoring)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings, strategies as st

from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.passes import PASSES
from nandc.synth.cost import nand_cost
from nandc.synth.factor import (
    cone_table,
    cover_program,
    factor,
    isop,
    minimize_cover,
    MAX_CONE,
    reconvergent_cut,
)
from nandc.passes.refactor import refactor
from nandc.synth.cost import CostView
from tests.strategies import circuits, examples


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=10, max_ops=50))
def test_refactor_is_equivalent_and_never_costlier(c):
    new, stats = refactor(c, {"min_saved": 1})
    new.verify()
    assert check_equivalence(c, new)
    assert nand_cost(new) <= nand_cost(c)
    assert stats.nand2_after == nand_cost(new) and stats.nand2_before == nand_cost(c)


def _cube_value(cube, x):
    return all(v == 2 or v == b for v, b in zip(cube, x))


def _form_value(form, x):
    kind = form[0]
    if kind == "const":
        return form[1]
    if kind == "lit":
        return x[form[1]] == form[2]
    vals = [_form_value(f, x) for f in form[1]]
    return all(vals) if kind == "and" else any(vals)


def _cover_table(cubes, k):
    """The table a sum of ``cubes`` covers, row by row."""
    return sum(1 << row for row in range(1 << k)
               if any(_cube_value(c, [(row >> i) & 1 for i in range(k)]) for c in cubes))


@settings(max_examples=examples(150), deadline=None)
@given(st.integers(0, 7).flatmap(lambda k: st.tuples(st.just(k), st.integers(0, (1 << (1 << k)) - 1),
                                                     st.integers(0, (1 << (1 << k)) - 1))))
def test_isop_covers_the_care_set_within_the_bound_and_is_irredundant(k_tables):
    k, on, dc = k_tables
    lower, upper = on & ~dc, on | dc  # dc: the rows that may go either way
    cubes, covered = isop(lower, upper, k)
    assert covered == _cover_table(cubes, k)
    assert lower & ~covered == 0 and covered & ~upper == 0
    for i in range(len(cubes)):  # no cube can go: each covers a row of the care set no other covers
        assert lower & ~_cover_table(cubes[:i] + cubes[i + 1:], k)
    for c in cubes:  # prime within the bound: no literal can go
        for j, x in enumerate(c):
            if x != 2:
                assert _cover_table([c[:j] + (2,) + c[j + 1:]], k) & ~upper


def test_covers_of_wide_tables_are_valid_and_no_larger_than_the_isop_they_start_from():
    import random

    rng = random.Random(3)
    for k in (5, 6, 8):
        for _ in range(6):
            table = rng.getrandbits(1 << k) & rng.getrandbits(1 << k)
            cubes = minimize_cover(table, k)
            assert _cover_table(cubes, k) == table
            start, _ = isop(table, table, k)
            assert len(cubes) <= len(start)


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(1, 5).flatmap(lambda k: st.tuples(st.just(k), st.integers(0, (1 << (1 << k)) - 1))),
       st.lists(st.integers(0, 1), min_size=5, max_size=5))
def test_cover_factoring_and_program_compute_the_table(k_table, free):
    k, table = k_table
    cubes = minimize_cover(table, k)
    rows = list(itertools.product((0, 1), repeat=k))
    for t, x in enumerate(itertools.product((0, 1), repeat=k)):
        x = tuple(reversed(x))  # x[i] = bit i of the row number
        row = sum(b << i for i, b in enumerate(x))
        want = (table >> row) & 1
        assert any(_cube_value(c, x) for c in cubes) == want
        assert _form_value(factor(cubes), x) == want
    program = cover_program(cubes, k, free[:k])
    if program is None:
        assert table in (0, (1 << (1 << k)) - 1)
        return
    for row in range(1 << k):
        sig = [((row >> i) & 1) ^ free[i] for i in range(k)]  # free-phase signals
        for a, b in program.gates:
            sig.append(1 - (sig[a] & sig[b]))
        assert sig[program.output] == (table >> row) & 1
    assert len(rows) == 1 << k


@settings(max_examples=examples(100), deadline=None)
@given(circuits(max_inputs=10, max_ops=40), st.integers(2, 8))
def test_reconvergent_cut_is_a_cut_and_its_table_is_right(c, k):
    ctx = CostView(c)
    for v in ctx.ands:
        leaves = reconvergent_cut(v, ctx.f0, ctx.f1, k)
        assert 1 <= len(leaves) <= max(k, 2)
        table = cone_table(v, leaves, ctx.f0, ctx.f1)  # raises KeyError if the cone escapes the cut
        assert 0 <= table < 1 << (1 << len(leaves))


def _long_chain(depth: int) -> Circuit:
    """``t = t & x`` / ``t | ~y`` for ``depth`` levels over two inputs: every expansion of a
    cut leaf re-reads a visited input, so it never adds a leaf."""
    c = Circuit("chain")
    x, y = c.add_input_bus("x", 2)
    t = x
    for i in range(depth):
        t = c.and_(t, y) if i % 2 else c.or_(t, x ^ 1)
    c.set_output("y", [t])
    return c


def _cone_size(v, leaves, f0, f1):
    cone, stack = set(), [v]
    while stack:
        u = stack.pop()
        if u in cone or u in leaves or not f0[u]:
            continue
        cone.add(u)
        stack += [f0[u] >> 1, f1[u] >> 1]
    return len(cone)


def test_reconvergent_cut_cone_is_bounded_on_a_long_chain():
    """Found by benchmarks/synth_fuzz.py: on a chain over a few inputs the cut grew down to the
    chain's bottom, so refactor (and resub, restructure) took time quadratic in the depth
    (refactor alone: 163 s on a 16k-node chain).  The cone stops at MAX_CONE AND nodes."""
    c = _long_chain(3000)
    ctx = CostView(c)
    top = ctx.ands[-1]
    leaves = reconvergent_cut(top, ctx.f0, ctx.f1, 8)
    assert 2 <= len(leaves) <= 8
    assert _cone_size(top, set(leaves), ctx.f0, ctx.f1) == MAX_CONE
    cone_table(top, leaves, ctx.f0, ctx.f1)  # the cone stays inside the cut
    new, _ = refactor(c)
    assert check_equivalence(c, new, method="exhaustive")


def test_redundant_sum_of_products_collapses():
    c = Circuit("sop")
    a, b, d, e = c.add_input_bus("x", 4)
    ab = c.and_(a, b)
    # a&b&d | a&b&~d | a&~b == a, and (a | e) & ~(~a & e) == a
    y = c.or_(c.or_(c.and_(ab, d), c.and_(ab, d ^ 1)), c.and_(a, b ^ 1))
    c.set_output("y", [c.and_(y, e), c.and_(c.or_(a, e), c.or_(a, e ^ 1))])
    new, stats = refactor(c)
    assert check_equivalence(c, new)
    assert new.output_buses["y"].bits[1] == a and new.num_ands == 1  # y[0] == a & e
    assert nand_cost(new) == 2 and stats.notes["replacements"] >= 1


def test_registered():
    assert "cut_size" in PASSES["refactor"].param_names
