"""rewrite: equivalence, NAND2 cost never higher, known improvements, layer tags."""

from __future__ import annotations

from hypothesis import given, settings

from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.passes import PASSES, lower_to_nand
from nandc.passes.base import size_of
from nandc.synth.cost import nand_cost
from nandc.passes.rewrite import rewrite
from tests.strategies import circuits, random_circuit, examples

EQUIVALENCE = settings(max_examples=examples(200), deadline=None)
FAST = {"max_gates": 6, "conflicts": 500}  # keep the library's SAT searches short in tests


@EQUIVALENCE
@given(circuits(max_inputs=10, max_ops=40))
def test_rewrite_is_equivalent_and_never_costlier(c):
    new, stats = rewrite(c, FAST)
    new.verify()
    assert check_equivalence(c, new)
    assert nand_cost(new) <= nand_cost(c)
    assert stats.nand2_after == nand_cost(new) == lower_to_nand(new)[0].num_gates
    assert size_of(new) == new.num_ands
    live = c.reachable()
    assert {new.layer_of(n) for n in new.and_nodes()} <= {c.layer_of(n) for n in c.and_nodes() if live[n]}


def test_three_and_xor_becomes_the_four_nand_xor():
    c = Circuit("xor")
    a, b = c.add_input_bus("x", 2)
    c.set_output("y", [c.xor(a, b)])  # 3 AND nodes + 2 input inverters = 5 NAND2
    assert nand_cost(c) == 5
    new, stats = rewrite(c)
    assert check_equivalence(c, new)
    assert nand_cost(new) == 4 and stats.notes["replacements"] >= 1


def test_xor3_of_and_form_xors_reaches_eight_gates():
    c = Circuit("xor3")
    a, b, d = c.add_input_bus("x", 3)
    c.set_output("y", [c.xor(c.xor(a, b), d)])
    assert nand_cost(c) == 10
    new, _ = rewrite(c)
    assert check_equivalence(c, new)
    assert nand_cost(new) == 8  # the known optimum of XOR3 in NAND2 gates


def test_rewrite_keeps_the_interface_of_a_larger_circuit():
    c = random_circuit(11, num_inputs=16, num_ops=400)
    new, _ = rewrite(c, FAST)
    assert check_equivalence(c, new, method="sat")
    for name, bus in c.output_buses.items():
        assert (new.output_buses[name].shape, new.output_buses[name].signed) == (bus.shape, bus.signed)
    assert new.num_inputs == c.num_inputs


def test_registered():
    info = PASSES["rewrite"]
    assert info.produces == "circuit" and "cut_size" in info.param_names
