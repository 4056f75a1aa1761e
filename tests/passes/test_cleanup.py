"""cleanup / rebuild: equivalence, no dead nodes, never larger, interface kept."""

from __future__ import annotations

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
