"""lower_to_nand: equivalence, NAND2-only structure, shared inverters, layer tags."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings

from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.ir.netlist import FIRST_INPUT, NandNetlist
from nandc.passes import PASSES, lower_to_nand
from nandc.passes.base import size_of
from tests.strategies import circuits, examples

EQUIVALENCE = settings(max_examples=examples(200), deadline=None)
PROPERTY = settings(max_examples=examples(100), deadline=None)


def inverters(net: NandNetlist) -> np.ndarray:
    """Indices (0-based) of the gates that are ``NAND(x, x)``."""
    a, b = net.gate_arrays()
    return np.flatnonzero(a == b)


def expected_inverter_layer(net: NandNetlist, gate: int) -> str:
    """The tag an inverter gate should carry.

    An inverter of a gate output takes that gate's tag; an inverter of a
    primary input takes the tag of its first reader (untagged if only outputs
    read it).
    """
    a, b = net.gate_arrays()
    source = int(a[gate])
    if source >= net.first_gate:
        return net.layer_of_gate(source)
    me = net.first_gate + gate
    readers = np.flatnonzero((a == me) | (b == me))
    return net.layer_of_gate(net.first_gate + int(readers[0])) if len(readers) else ""


@EQUIVALENCE
@given(circuits(max_inputs=20, max_ops=50))
def test_lowering_is_equivalent(c):
    net, stats = lower_to_nand(c)
    net.verify()
    assert check_equivalence(c, net)
    assert stats.pass_name == "nand" and stats.before == size_of(c) and stats.after == net.num_gates


@PROPERTY
@given(circuits(max_inputs=10, max_ops=50))
def test_one_gate_per_and_node_and_each_literal_inverted_once(c):
    net, stats = lower_to_nand(c)
    a, _ = net.gate_arrays()
    inv = inverters(net)
    assert net.num_gates - len(inv) == size_of(c)  # one NAND per live AND node
    assert stats.notes["inverters"] == len(inv)
    assert len(set(a[inv].tolist())) == len(inv)  # no signal is inverted twice
    inverter_outputs = set((net.first_gate + inv).tolist())
    assert not inverter_outputs & set(a[inv].tolist())  # never an inverter of an inverter


@PROPERTY
@given(circuits(max_inputs=10, max_ops=50))
def test_layer_tags_are_carried(c):
    net, _ = lower_to_nand(c)
    live = c.reachable()
    expected = Counter(c.layer_of(n) for n in c.and_nodes() if live[n])
    expected.update(expected_inverter_layer(net, g) for g in inverters(net).tolist())
    found = Counter(net.layer_of_gate(net.first_gate + g) for g in range(net.num_gates))
    assert found == expected


@PROPERTY
@given(circuits(max_inputs=10, max_ops=20))
def test_interface_is_kept(c):
    net, _ = lower_to_nand(c)
    assert net.num_inputs == c.num_inputs
    for kind in ("input_buses", "output_buses"):
        ours, theirs = getattr(c, kind), getattr(net, kind)
        assert list(ours) == list(theirs)
        for name, bus in ours.items():
            assert (theirs[name].shape, theirs[name].signed) == (bus.shape, bus.signed)
    position = {node: i for i, node in enumerate(c.inputs)}
    for name, bus in c.input_buses.items():
        assert net.input_buses[name].bits == tuple(FIRST_INPUT + position[lit >> 1] for lit in bus.bits)


def test_constant_outputs_are_tied_without_gates():
    c = Circuit()
    c.add_input_bus("x", 2)
    c.set_output("k", [0, 1, 1, 0])
    net, _ = lower_to_nand(c)
    assert net.num_gates == 0
    assert net.output_buses["k"].bits == (0, 1, 1, 0)


def test_complemented_input_output_uses_one_shared_inverter():
    c = Circuit()
    x, y = c.add_input_bus("x", 2)
    c.set_output("o", [x ^ 1, x ^ 1, x, c.and_(x ^ 1, y)])
    net, _ = lower_to_nand(c)
    # NOT x once (shared by both outputs and the AND), the NAND, and its inverter
    assert net.num_gates == 3
    assert check_equivalence(c, net, method="exhaustive")


def test_registered_as_the_netlist_pass():
    info = PASSES["nand"]
    assert info.produces == "netlist" and info.run is lower_to_nand


def test_old_parameter_name_map_still_works_with_a_warning():
    from nandc.passes import run_pipeline
    from tests.strategies import random_circuit

    c = random_circuit(4, num_inputs=8, num_ops=60)
    with pytest.warns(DeprecationWarning, match=r"pass 'nand': parameter 'map' is now called 'cover'"):
        old, _ = run_pipeline(c, "nand[map=true]")
    new, stats = run_pipeline(c, "nand[cover=true]")
    assert old.num_gates == new.num_gates == stats[-1].nand2_after
    assert check_equivalence(c, old)
