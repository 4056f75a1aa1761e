"""map (NAND2 technology mapping): equivalence, never worse than literal translation, costs, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.passes import PASSES, lower_to_nand, run_pipeline
from nandc.passes.mapper import _program, mapped_gates, nand_map
from nandc.synth.cost import INFINITE, cut_cost_tables as cost_tables
from nandc.synth.truth import MASK, VAR
from tests.strategies import circuits, random_circuit, examples


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=10, max_ops=40))
def test_map_is_equivalent_and_never_worse_than_literal_translation(c):
    net, stats = nand_map(c)
    assert check_equivalence(c, net)
    # "literal": the literal translation of the circuit after the inverter cover
    assert net.num_gates <= stats.notes["literal"] <= lower_to_nand(c)[0].num_gates
    assert stats.after == net.num_gates
    assert list(net.input_buses) == list(c.input_buses)
    for name, bus in c.output_buses.items():
        assert (net.output_buses[name].shape, net.output_buses[name].signed) == (bus.shape, bus.signed)
    live = c.reachable()
    layers = {c.layer_of(n) for n in c.and_nodes() if live[n]} | {""}
    assert {net.layer_of_gate(s) for s in range(net.first_gate, net.num_signals)} <= layers
    net.verify()


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=8, max_ops=30), st.sampled_from(["direct", "flow"]), st.integers(0, 3))
def test_every_start_and_round_count_is_equivalent(c, start, rounds):
    net, _ = nand_map(c, {"start": start, "rounds": rounds, "cuts_per_node": 4})
    assert check_equivalence(c, net)


def test_xor_of_inputs_becomes_the_four_nand_xor():
    c = Circuit("xor")
    a, b = c.add_input_bus("x", 2)
    c.set_output("y", [c.xor(a, b)])
    assert lower_to_nand(c)[0].num_gates == 5  # 3 AND nodes + 2 input inverters
    net, stats = nand_map(c)
    assert net.num_gates == 4 and check_equivalence(c, net)


def test_larger_random_circuit_is_smaller_and_mapped_deterministically():
    c = random_circuit(0, num_inputs=24, num_ops=600)
    first, stats = nand_map(c)
    second, _ = nand_map(c)
    assert check_equivalence(c, first, method="sat")
    assert first.num_gates < 0.95 * lower_to_nand(c)[0].num_gates  # 820 against 888 when written
    assert first.structural_hash() == second.structural_hash()


@settings(max_examples=examples(100), deadline=None)
@given(circuits(max_inputs=10, max_ops=60), st.sampled_from([{}, {"cover_rounds": 0, "rounds": 1},
                                                             {"start": "flow"}, {"max_nodes": 5}]))
def test_mapped_gates_is_the_netlists_count_without_building_it(c, params):
    assert mapped_gates(c, params) == nand_map(c, params)[0].num_gates


def test_mapped_gates_of_circuits_the_compiled_loops_map():
    for seed in range(3):
        c = random_circuit(seed, num_inputs=24, num_ops=600)
        assert mapped_gates(c) == nand_map(c)[0].num_gates


def test_too_large_circuits_are_lowered_directly():
    c = random_circuit(2, num_inputs=12, num_ops=200)
    net, stats = nand_map(c, {"max_nodes": 10})
    assert "too_large" in stats.notes and check_equivalence(c, net)
    assert net.num_gates == lower_to_nand(c, {"cover": True})[0].num_gates


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(0, MASK), st.integers(0, 15))
def test_cost_table_is_the_size_of_a_program_computing_the_table(tt, mask):
    neg, costs = cost_tables()
    table = int(neg[tt][mask])
    # the negated table: input i complemented where bit i of the mask is set
    rows = [(t ^ mask) for t in range(16)]
    assert table == sum(((tt >> r) & 1) << t for t, r in enumerate(rows))
    if costs[tt][mask] >= INFINITE:
        return
    if table in (0, MASK):
        assert costs[tt][mask] == 0
        return
    program, perm = _program(table)
    assert program.cost == costs[tt][mask]
    signals = [0] * 4
    for i in range(4):
        signals[perm[i]] = VAR[i]
    for j, k in program.gates:
        signals.append(~(signals[j] & signals[k]) & MASK)
    assert signals[program.output] == table


def test_registered_and_bad_parameters():
    info = PASSES["map"]
    assert info.produces == "netlist" and "rounds" in info.param_names
    with pytest.raises(PassError) as err:
        nand_map(Circuit("e"), {"start": "best"})
    assert str(err.value) == "pass 'map': start must be one of 'both', 'direct', 'flow', found 'best'"
    c = random_circuit(1, 6, 30)
    net, stats = run_pipeline(c, "cleanup;map[rounds=1]")
    assert check_equivalence(c, net) and net.num_gates == stats[-1].nand2_after <= lower_to_nand(c)[0].num_gates
