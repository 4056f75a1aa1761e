"""Truth tables of <= 4 variables and cut enumeration: tables match the circuit."""

from __future__ import annotations

import itertools

from hypothesis import given, settings, strategies as st

from nandc.synth.cuts import enumerate_cuts
from nandc.synth.cost import CostView
from nandc.synth.truth import (MASK, PERMS, VAR, negate_inputs, p_canonical, permute, shrink, stretch, support,
                               weight_tables)
from tests.strategies import circuits, examples

tables = st.integers(0, MASK)


def value(tt: int, assignment: tuple[int, ...]) -> int:
    return (tt >> sum(bit << i for i, bit in enumerate(assignment))) & 1


@settings(max_examples=examples(200), deadline=None)
@given(tables, st.integers(0, 15), st.sampled_from(PERMS))
def test_negate_permute_and_canonical_agree_with_the_definition(tt, mask, perm):
    rows = list(itertools.product((0, 1), repeat=4))
    neg = negate_inputs(tt, mask)
    assert all(value(neg, x) == value(tt, tuple(b ^ ((mask >> i) & 1) for i, b in enumerate(x))) for x in rows)
    moved = permute(tt, perm)
    for x in rows:
        y = [0] * 4
        for i in range(4):
            y[perm[i]] = x[i]
        assert value(moved, tuple(y)) == value(tt, x)
    canon, p = p_canonical(tt)
    assert permute(tt, p) == canon == p_canonical(moved)[0]
    assert canon == min(permute(tt, q) for q in PERMS)


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), st.integers(0, (1 << (1 << k)) - 1))),
       st.data())
def test_stretch_and_shrink_are_inverse(k_table, data):
    k, small = k_table
    tt = sum(((small >> (t % (1 << k))) & 1) << t for t in range(16))  # repeat over unused variables
    positions = tuple(sorted(data.draw(st.lists(st.integers(0, 3), min_size=k, max_size=k, unique=True))))
    wide = stretch(tt, positions)
    keep = sum(1 << p for p in positions)
    assert support(wide) & ~keep == 0
    assert shrink(wide, keep) == tt


def test_support_of_variables():
    assert [support(v) for v in VAR] == [1, 2, 4, 8]
    assert support(0) == support(MASK) == 0 and support(VAR[0] ^ VAR[3]) == 9


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=8, max_ops=30))
def test_every_cut_table_is_the_node_function(c):
    """On every input assignment, a cut's table applied to its leaves' values gives the node's value.

    (Leaves may depend on each other, so a table is only pinned down on the
    leaf values that occur.)
    """
    ctx = CostView(c)
    cuts = enumerate_cuts(ctx.f0, ctx.f1, ctx.ands, k=4, limit=6)
    values = _all_values(c, ctx)
    for v in ctx.ands:
        assert len(cuts[v]) <= 6
        for leaves, tt in cuts[v]:
            assert len(leaves) <= 4 and list(leaves) == sorted(set(leaves))
            assert support(tt) == (1 << len(leaves)) - 1  # every leaf matters
            for row in range(1 << c.num_inputs):
                x = tuple((values[u] >> row) & 1 for u in leaves)
                assert value(tt, x + (0,) * (4 - len(x))) == (values[v] >> row) & 1


def _all_values(c, ctx: CostView) -> list[int]:
    """Every node's value on every input assignment, as an int of ``2**inputs`` bits."""
    rows = 1 << c.num_inputs
    mask = (1 << rows) - 1
    values = [0] * c.num_nodes
    for i, node in enumerate(c.inputs):
        values[node] = sum(1 << t for t in range(rows) if (t >> i) & 1)
    for v in range(1, c.num_nodes):
        a, b = ctx.f0[v], ctx.f1[v]
        if a:
            values[v] = (values[a >> 1] ^ (mask if a & 1 else 0)) & (values[b >> 1] ^ (mask if b & 1 else 0))
    return values


def test_weight_tables_hold_the_rows_of_each_count():
    for k in range(0, 9):
        tables = weight_tables(k)
        assert len(tables) == k + 1
        for c, t in enumerate(tables):
            assert t == sum(1 << row for row in range(1 << k) if bin(row).count("1") == c)
