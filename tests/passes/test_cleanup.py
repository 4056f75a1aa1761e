"""cleanup / rebuild: equivalence, no dead nodes, never larger, interface kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.passes import PASSES, cleanup
from nandc.passes.base import size_of
from nandc.synth.rebuild import rebuild
from tests.strategies import circuits, examples

EQUIVALENCE = settings(max_examples=examples(200), deadline=None)
PROPERTY = settings(max_examples=examples(100), deadline=None)


@EQUIVALENCE
@given(circuits(max_inputs=20, max_ops=60))
def test_cleanup_is_equivalent_small_and_dead_free(c):
    new, stats = cleanup(c)
    new.verify()
    assert check_equivalence(c, new)
    assert size_of(new) == new.num_ands  # every AND node is reachable from an output
    assert new.num_ands <= size_of(c)
    assert (stats.before, stats.after) == (size_of(c), new.num_ands)
    assert c is not new and c.num_ands >= new.num_ands  # the input is untouched


@PROPERTY
@given(circuits(max_inputs=10, max_ops=40))
def test_cleanup_is_idempotent_and_keeps_interface_and_layers(c):
    new, _ = cleanup(c)
    again, _ = cleanup(new)
    assert again.num_ands == new.num_ands
    assert list(new.input_buses) == list(c.input_buses)
    assert list(new.output_buses) == list(c.output_buses)
    for name, bus in c.output_buses.items():
        assert (new.output_buses[name].shape, new.output_buses[name].signed) == (bus.shape, bus.signed)
    assert new.num_inputs == c.num_inputs
    live = c.reachable()
    old_layers = {c.layer_of(n) for n in c.and_nodes() if live[n]}
    assert {new.layer_of(n) for n in new.and_nodes()} <= old_layers


def test_dead_nodes_are_dropped():
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    keep = c.and_(a, b)
    c.xor(b, d)  # three dead nodes
    c.set_output("y", [keep ^ 1])
    new, stats = cleanup(c)
    assert (c.num_ands, new.num_ands, stats.before, stats.after) == (4, 1, 1, 1)
    assert new.output_buses["y"].bits == (new.and_(a, b) ^ 1,)


def test_rebuild_with_preassigned_constant_propagates_it():
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    ab = c.and_(a, b)
    c.set_output("y", [c.or_(ab, d), c.and_(ab, d)])
    new, lit = rebuild(c, _assign(c, ab >> 1, 0))
    assert new.num_ands == 0
    assert new.output_buses["y"].bits == (d, 0)
    assert lit[ab >> 1] == 0


def _assign(c: Circuit, node: int, literal: int) -> list[int]:
    table = [-1] * c.num_nodes
    table[node] = literal
    return table


def test_registered():
    assert PASSES["cleanup"].produces == "circuit" and PASSES["cleanup"].run is cleanup


def _node_for_node(a: Circuit, b: Circuit) -> bool:
    return (all((x == y).all() for x, y in zip(a.arrays(), b.arrays())) and a.layer_names == b.layer_names
            and a.output_buses == b.output_buses and a.input_buses == b.input_buses and a.inputs == b.inputs)


@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=10, max_ops=60))
def test_rebuild_in_one_go_is_the_node_by_node_copy(c):
    import nandc.synth.rebuild as rebuild_module

    # tags, and an input created after AND nodes: the copy puts every input first
    late = c.add_input()
    with c.layer("late"):
        extra = c.and_(late, c.output_literals()[0] if c.output_literals() else late)
    c.set_output("extra", [extra ^ 1])
    assert rebuild_module._compact(c) is not None  # a circuit built by and_: the one-go copy applies
    fast, lit_fast = rebuild(c)
    compact = rebuild_module._compact
    rebuild_module._compact = lambda circuit: None  # the node-by-node copy
    try:
        slow, lit_slow = rebuild(c)
    finally:
        rebuild_module._compact = compact
    assert _node_for_node(fast, slow) and lit_fast == lit_slow
    fast.verify()


@pytest.mark.parametrize("compiled", [False, True])
def test_append_canonical_refuses_pairs_and_would_fold_or_merge(compiled, monkeypatch):
    """Refused pairs leave the circuit as it was (nodes, table, layers), with the compiled walks
    (which find repeated pairs while rehashing) and with the Python ones."""
    from nandc.errors import CircuitError
    import nandc.ir.circuit as circuit_module

    if compiled:
        import nandc.ir.walks  # noqa: F401  (loads numba)
    else:
        monkeypatch.setattr(circuit_module, "_walks", lambda: None)
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    ab = c.and_(a, b)
    before = (c.structural_hash(), bytes(c._table), c._mask, c.layer_names, c.num_ands)
    for f0, f1 in (([a], [a ^ 1]),  # x & ~x folds
                   ([b], [a]),  # not ordered
                   ([0], [a]),  # a constant
                   ([a], [b]),  # a & b exists
                   ([a, a], [d, d]),  # twice
                   ([a, a], [d, b]),  # a new pair, then one that exists
                   ([a], [2 * c.num_nodes + 2])):  # a node that does not come earlier
        with pytest.raises(CircuitError, match="append_canonical"):
            c.append_canonical(f0, f1, ["refused"], [0] * len(f0))
        assert (c.structural_hash(), bytes(c._table), c._mask, c.layer_names, c.num_ands) == before
    c.append_canonical([a, ab], [d, 2 * c.num_nodes], ["one", "two"], [0, 1])
    assert c.num_ands == 3 and c.lookup_and(a, d) == 2 * (c.num_nodes - 2)
    assert c.lookup_and(ab, 2 * (c.num_nodes - 2)) == 2 * (c.num_nodes - 1)
    assert [c.layer_of(n) for n in c.and_nodes()] == ["", "one", "two"]
