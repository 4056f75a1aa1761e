"""restructure: equivalence, AND count never higher, the mapping guard; its engines
(the AIG table of 4-input functions, AND-count rewriting and refactoring)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from nandc.errors import PassError
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.passes import PASSES, run_pipeline
from nandc.passes.mapper import nand_map
from nandc.passes.restructure import GUARD_MAP, restructure
from nandc.synth.aig4 import (aig_structure, evaluate_structure, npn_canonical, npn_classes, read_table,
                              shipped_structures, synthesize_aig, table_text)
from nandc.synth.andopt import and_count, apply_if_fewer, refactor_choices, rewrite_choices, structure_program
from nandc.synth.cost import CostView
from nandc.synth.cuts import iter_cuts
from nandc.synth.equiv import check_equivalence
from nandc.synth.truth import MASK, VAR
from tests.strategies import circuits, examples, random_circuit

UNGUARDED = {"guard": False}


# ---------------------------------------------------------------------- the AIG table
def test_npn_classes_are_the_222():
    classes = npn_classes()
    assert len(classes) == 222
    assert npn_canonical(VAR[0] & VAR[1]) == npn_canonical(~(VAR[2] | VAR[3]) & MASK)


def test_every_shipped_structure_computes_its_class():
    table = shipped_structures()
    assert len(table) == 222 - 2  # the constants (one class) and the literals (one) need no AND node
    for canon, s in table.items():
        assert evaluate_structure(s) == canon, hex(canon)


def test_structures_of_known_functions_are_smallest():
    assert aig_structure(VAR[0] & VAR[1]).size == 1
    assert aig_structure(VAR[0] ^ VAR[1]).size == 3
    assert aig_structure((VAR[0] & VAR[1]) | (~VAR[0] & MASK & VAR[2])).size == 3  # a multiplexer
    assert aig_structure(VAR[0] ^ VAR[1] ^ VAR[2]).size == 6
    assert aig_structure(VAR[0]) is None and aig_structure(0) is None


@settings(max_examples=examples(300), deadline=None)
@given(st.integers(0, MASK))
def test_the_structure_of_any_table_computes_it(tt):
    s = aig_structure(tt)
    if s is None:
        assert tt in (0, MASK) or any(tt in (v, v ^ MASK) for v in VAR)
        return
    assert evaluate_structure(s) == tt
    # as a NAND2 program (inverters where a phase is missing) the function is the same
    program = structure_program(s)
    sig = list(VAR)
    for j, k in program.gates:
        sig.append(~(sig[j] & sig[k]) & MASK)
    assert sig[program.output] == tt
    assert sum(1 for j, k in program.gates if j != k) == s.size


def test_synthesis_finds_the_smallest_aig_and_the_table_text_round_trips():
    maj = (VAR[0] & VAR[1]) | (VAR[0] & VAR[2]) | (VAR[1] & VAR[2])
    s, proved = synthesize_aig(maj)
    assert proved and s.size == 4 and evaluate_structure(s) == maj
    assert read_table(table_text({maj: (proved, s)})) == {maj: (True, s)}


# ---------------------------------------------------------------------- engines
def _cuts(c):
    ctx = CostView(c)
    return ctx, iter_cuts(ctx.f0, ctx.f1, ctx.ands, 4, 8)


@settings(max_examples=examples(150), deadline=None)
@given(circuits(max_inputs=8, max_ops=40), st.booleans())
def test_and_rewriting_and_refactoring_are_equivalent_and_never_larger(c, zero):
    ctx, cuts = _cuts(c)
    new, before, after = apply_if_fewer(c, ctx, rewrite_choices(c, ctx, cuts, zero), allow_equal=zero)
    assert check_equivalence(c, new)
    assert after <= before == and_count(c) and after == and_count(new)
    ctx = CostView(new)
    newer, before, after = apply_if_fewer(new, ctx, refactor_choices(new, ctx, 8, 24, zero), allow_equal=zero)
    assert check_equivalence(c, newer)
    assert after <= before


def test_and_rewriting_finds_the_three_node_xor():
    c = Circuit("xor")
    a, b = c.add_input_bus("x", 2)
    # a XOR b written with four AND nodes: (a | b) & ~(a & b)
    c.set_output("y", [c.and_(c.or_(a, b), c.and_(c.and_(a, b), c.or_(a, b)) ^ 1)])
    assert and_count(c) == 4
    ctx, cuts = _cuts(c)
    new, _, after = apply_if_fewer(c, ctx, rewrite_choices(c, ctx, cuts))
    assert after == 3 and check_equivalence(c, new)


# ---------------------------------------------------------------------- the pass
@settings(max_examples=examples(150), deadline=None)
@given(circuits(max_inputs=10, max_ops=50))
def test_restructure_is_equivalent_and_never_adds_and_nodes(c):
    new, stats = restructure(c, UNGUARDED)
    new.verify()
    assert check_equivalence(c, new)
    assert and_count(new) <= and_count(c)
    assert stats.notes["ands_after"] == and_count(new) == stats.after


def test_restructure_of_a_larger_circuit_is_equivalent_by_sat():
    c = random_circuit(5, num_inputs=24, num_ops=600)
    new, stats = restructure(c, {"guard": False, "rounds": 2})
    assert check_equivalence(c, new, method="sat")
    assert and_count(new) < and_count(c)
    assert new.num_inputs == c.num_inputs and set(new.output_buses) == set(c.output_buses)


def test_the_guard_keeps_a_result_only_if_it_maps_smaller():
    rng = random.Random(3)
    c = Circuit("adder")  # NAND2-shaped arithmetic: smaller AIGs of it map to more gates
    a, b = c.add_input_bus("a", 8), c.add_input_bus("b", 8)
    c.set_output("s", words.add(c, words.Word(a), words.Word(b)).bits)
    c = run_pipeline(c, "cleanup;sweep")[0]
    unguarded, _ = restructure(c, UNGUARDED)
    guarded, stats = restructure(c)
    assert check_equivalence(c, guarded)
    mapped = nand_map(c, GUARD_MAP)[0].num_gates
    # the input is mapped (as the guard maps: without inverter-cover rounds) unless no variant saved the 1% of AND nodes that earns a mapping
    assert stats.notes["mapped_before"] in (mapped, None)
    assert (stats.notes["mapped_before"] is None) == all(m is None for m in stats.notes["mapped_after"])
    if nand_map(unguarded, GUARD_MAP)[0].num_gates >= mapped:
        assert guarded.structural_hash() == run_pipeline(c, "cleanup")[0].structural_hash()
    assert nand_map(guarded, GUARD_MAP)[0].num_gates <= mapped
    del rng


def test_restructure_skips_circuits_above_max_nodes():
    c = random_circuit(2, num_inputs=12, num_ops=200)
    new, stats = restructure(c, {"max_nodes": 10})
    assert stats.notes["skipped"] and and_count(new) == and_count(c)


def test_lean_above_runs_the_last_variant_mapped_once(monkeypatch):
    from nandc.passes import restructure as module

    c = random_circuit(5, num_inputs=20, num_ops=300)
    calls = []
    real = module._mapped
    monkeypatch.setattr(module, "_mapped", lambda circuit: calls.append(1) or real(circuit))
    new, stats = restructure(c, {"lean_above": 10, "slacks": "any.0"})
    assert check_equivalence(c, new, method="sat")
    assert and_count(new) <= and_count(c)
    assert len(stats.notes["mapped_after"]) == 1 and len(calls) == 2  # the input and the one variant
    ref, _ = restructure(c, {"slacks": "0", "rounds": 1})  # one round: no forecast either way
    one, _ = restructure(c, {"slacks": "any.0", "rounds": 1, "lean_above": 10})
    assert one.structural_hash() == ref.structural_hash()
    calls.clear()
    restructure(c, {"lean_above": 10_000})  # not above: both variants, forecasts after rounds
    assert len(calls) > 3


def test_a_variant_that_saves_too_few_and_nodes_is_not_mapped(monkeypatch):
    from nandc.passes import restructure as module

    c = Circuit("and_tree")  # a balanced AND tree: no rewriting saves a node
    x = c.add_input_bus("x", 16)
    c.set_output("y", [c.and_many(x)])
    calls = []
    real = module._mapped
    monkeypatch.setattr(module, "_mapped", lambda circuit: calls.append(1) or real(circuit))
    new, stats = restructure(c)
    assert calls == [] and stats.notes["mapped_before"] is None
    assert stats.notes["mapped_after"] == [None, None]
    assert new.structural_hash() == run_pipeline(c, "cleanup")[0].structural_hash()
    restructure(c, {"min_gain": 0.0})  # every variant at least as small: mapped, and the input too
    assert len(calls) >= 2


@pytest.mark.parametrize("params, message", [
    ({"script": "b.rw.dc"}, "script steps must be some of b, rw, rwz, rf, rfz separated by '.', found 'dc'"),
    ({"cut_size": 13}, "cut_size must be 2..12, found 13"),
    ({"slacks": "any.x"}, "slacks must be 'any' or numbers separated by '.', found 'any.x'"),
])
def test_bad_parameters_are_errors(params, message):
    with pytest.raises(PassError, match=message.replace(".", r"\.").replace("(", r"\(")):
        restructure(Circuit("empty"), params)


def test_registered_and_in_a_pipeline():
    info = PASSES["restructure"]
    assert info.produces == "circuit" and {"script", "guard", "max_nodes"} <= set(info.param_names)
    c = random_circuit(7, num_inputs=10, num_ops=120)
    net, stats = run_pipeline(c, "restructure[script=rw.rwz.b,rounds=2,guard=false];map")
    assert check_equivalence(c, net)
    assert stats[0].pass_name == "restructure"
