"""balance: equivalence, depth never larger, AND chains become trees."""

from __future__ import annotations

from hypothesis import given, settings

from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.passes import PASSES
from nandc.passes.balance import balance
from nandc.passes.base import size_of
from tests.strategies import circuits, examples


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=12, max_ops=60))
def test_balance_is_equivalent_no_deeper_no_larger(c):
    new, stats = balance(c)
    new.verify()
    assert check_equivalence(c, new)
    assert new.depth() <= c.depth()
    assert size_of(new) == new.num_ands <= size_of(c)
    assert stats.notes == {"depth_before": c.depth(), "depth_after": new.depth()}
    live = c.reachable()
    assert {new.layer_of(n) for n in new.and_nodes()} <= {c.layer_of(n) for n in c.and_nodes() if live[n]}


def test_and_chain_becomes_a_balanced_tree():
    c = Circuit("chain")
    x = c.add_input_bus("x", 8)
    acc = x[0]
    for lit in x[1:]:
        acc = c.and_(acc, lit)
    c.set_output("y", [acc, acc ^ 1])
    assert c.depth() == 7
    new, _ = balance(c)
    assert check_equivalence(c, new)
    assert new.depth() == 3 and new.num_ands == 7


def test_shared_subtrees_stay_shared():
    c = Circuit("shared")
    a, b, d, e = c.add_input_bus("x", 4)
    ab = c.and_(a, b)  # read twice: a leaf of both trees, not absorbed
    c.set_output("y", [c.and_(c.and_(ab, d), e), c.and_(ab, e ^ 1)])
    new, _ = balance(c)
    assert check_equivalence(c, new)
    assert new.num_ands == c.num_ands


def test_registered():
    assert PASSES["balance"].produces == "circuit"
