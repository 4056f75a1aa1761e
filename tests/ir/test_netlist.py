"""NandNetlist: construction, invariants, views, conversion back to a Circuit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from nandc.errors import CircuitError
from nandc.ir.bits import pack_samples, unpack_samples
from nandc.ir.circuit import Bus
from nandc.synth.equiv import check_equivalence
from nandc.ir.evaluate import simulate_netlist
from nandc.ir.netlist import CONST0, CONST1, NandNetlist
from nandc.passes import lower_to_nand
from tests.strategies import circuits, examples

PROPERTY = settings(max_examples=examples(100), deadline=None)


def half_adder() -> NandNetlist:
    """``s = a xor b`` (4 NANDs, one shared with c), ``c = a and b`` (+1 inverter), tagged "ha"."""
    net = NandNetlist("ha")
    a, b = net.add_input_bus("x", 2)
    lay = net.layer_id("ha")
    n1 = net.nand(a, b, lay)
    s = net.nand(net.nand(a, n1, lay), net.nand(b, n1, lay), lay)
    carry = net.nand(n1, n1, lay)
    net.set_output("s", [s])
    net.set_output("c", [carry, CONST0, CONST1])
    return net


def test_signal_numbering_and_sizes():
    net = half_adder()
    assert net.num_inputs == 2 and net.first_gate == 4 and net.num_gates == 5
    assert net.num_signals == 9 and net.input_signals() == [2, 3]
    assert net.output_signals() == [7, 8, 0, 1]
    assert net.layer_counts() == {"ha": 5}
    assert net.layer_of_gate(4) == "ha"
    assert net.levels().tolist() == [0, 0, 0, 0, 1, 2, 2, 3, 2]
    assert net.depth() == 3
    net.verify()


def test_truth_table():
    net = half_adder()
    bits = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.uint8)
    out = unpack_samples(simulate_netlist(net, pack_samples(bits)), 4)
    assert out.tolist() == [[0, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1]]


@pytest.mark.parametrize("make, message", [
    (lambda n: n.add_input(), "inputs must be added before the first gate"),
    (lambda n: n.add_input_bus("w", 1), "inputs must be added before the first gate"),
    (lambda n: n.nand(2, 9), "nand(2, 9): signal out of range (have 9)"),
    (lambda n: n.nand(-1, 2), "nand(-1, 2): signal out of range (have 9)"),
    (lambda n: n.set_output("y", [9]), "output bus 'y': signal 9 does not exist"),
    (lambda n: n.add_input_bus("x", 1), "input bus 'x' exists already"),
])
def test_construction_errors(make, message):
    with pytest.raises(CircuitError) as err:
        make(half_adder())
    assert str(err.value) == message


@pytest.mark.parametrize("corrupt, message", [
    (lambda n: n._a.__setitem__(0, 4), "gate 4 reads a signal that is not lower"),
    (lambda n: n._b.__setitem__(3, 8), "gate 7 reads a signal that is not lower"),
    (lambda n: n._layer.__setitem__(2, 9), "a gate has an unknown layer id"),
    (lambda n: n.input_buses.__setitem__("x", Bus("x", (2, 4), (2,))),
     "input bus 'x' holds signal 4, which is not an input"),
    (lambda n: n.output_buses.__setitem__("s", Bus("s", (9,), (1,))),
     "output bus 's' holds signal 9, which does not exist"),
])
def test_verify_catches_corruption(corrupt, message):
    net = half_adder()
    corrupt(net)
    with pytest.raises(CircuitError) as err:
        net.verify()
    assert str(err.value) == message


def test_structural_hash_tracks_structure_and_interface():
    h = half_adder().structural_hash()
    assert h == half_adder().structural_hash() and len(h) == 64
    other = half_adder()
    other._b[0] = 2
    assert other.structural_hash() != h
    renamed = half_adder()
    renamed.set_output("c2", [4])
    assert renamed.structural_hash() != h


def test_to_circuit_keeps_buses_layers_and_function():
    net = half_adder()
    c = net.to_circuit()
    c.verify()
    assert list(c.input_buses) == ["x"] and list(c.output_buses) == ["s", "c"]
    assert c.output_buses["c"].bits[1:] == (0, 1)  # ties become constants
    assert {c.layer_of(n) for n in c.and_nodes()} == {"ha"}
    assert c.num_ands == 4  # the inverter folds into a complemented edge
    assert check_equivalence(net, c)


@PROPERTY
@given(circuits(max_inputs=8, max_ops=40))
def test_lowered_netlists_verify_and_round_trip(c):
    net, _ = lower_to_nand(c)
    net.verify()
    assert net.num_signals == net.first_gate + net.num_gates
    assert np.all(net.levels()[net.first_gate:] >= 1)
    back = net.to_circuit()
    back.verify()
    assert check_equivalence(c, back)
