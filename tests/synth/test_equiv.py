"""Equivalence checking: interfaces, the three methods, counterexamples, planted bugs."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.errors import EquivalenceError
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.synth.equiv import (
    EquivResult,
    check_equivalence,
    exhaustive_equivalence,
    sat_equivalence,
    simulation_equivalence,
)
from nandc.ir.evaluate import evaluate
from nandc.passes import cleanup, lower_to_nand
from nandc.passes.base import size_of
from tests.strategies import circuits, random_circuit, examples

PROPERTY = settings(max_examples=examples(100), deadline=None)

# fn(new circuit, old node, new fanin literal a, new fanin literal b) -> new literal
Rebuild = Callable[[Circuit, int, int, int], int]


def rewrite(c: Circuit, fn: Rebuild) -> Circuit:
    """A copy of ``c`` (same interface) in which every AND node is rebuilt by ``fn``."""
    new, inputs = c.copy_interface()
    lit = [0] * c.num_nodes
    for node, new_lit in inputs.items():
        lit[node] = new_lit
    for node in c.and_nodes():
        a, b = c.fanins(node)
        lit[node] = fn(new, node, lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
    for bus in c.output_buses.values():
        new.set_output(bus.name, [lit[x >> 1] ^ (x & 1) for x in bus.bits], bus.shape, bus.signed)
    return new


def same(new: Circuit, node: int, a: int, b: int) -> int:
    return new.and_(a, b)


def restructured(new: Circuit, node: int, a: int, b: int) -> int:
    """``a & b`` as ``a & ~(a & ~b)``: equal, but no longer structurally."""
    return new.and_(a, new.and_(a, b ^ 1) ^ 1)


def assert_distinguishes(a: Circuit, b: Circuit, result: EquivResult) -> None:
    """The counterexample really separates ``a`` and ``b``, exactly on ``result.mismatches``."""
    assert not result and result.counterexample is not None
    for name, bus in a.input_buses.items():
        assert result.counterexample[name].shape == bus.shape
        assert result.counterexample[name].dtype == np.uint8
    out_a, out_b = (
        evaluate(c, {name: bits.reshape((1,) + c.input_buses[name].shape)
                     for name, bits in result.counterexample.items()}, as_words=False)
        for c in (a, b)
    )
    differing = []
    for name, bus in a.output_buses.items():
        flat_a, flat_b = out_a[name].reshape(-1), out_b[name].reshape(-1)
        names = bus.bit_names() if bus.shape else [name]
        differing += [n for n, x, y in zip(names, flat_a, flat_b) if x != y]
    assert differing and tuple(differing) == result.mismatches


def buses_ab() -> Circuit:
    """``o = [x0 ^ y0, x1 & y1, maj(x0, x1, y0)]`` over buses x, y (2 bits each)."""
    c = Circuit("ab")
    x = c.add_input_bus("x", 2)
    y = c.add_input_bus("y", 2)
    c.set_output("o", [c.xor(x[0], y[0]), c.and_(x[1], y[1]), c.maj(x[0], x[1], y[0])])
    return c


# ---------------------------------------------------------------------- interfaces
def test_inputs_are_matched_by_bus_name_not_creation_order():
    a = buses_ab()
    b = Circuit("ba")
    y = b.add_input_bus("y", 2)
    x = b.add_input_bus("x", 2)
    b.set_output("o", [b.xor(y[0], x[0]), b.and_(y[1], x[1]), b.maj(y[0], x[1], x[0])])
    for method in ("exhaustive", "simulation", "sat", "auto"):
        assert check_equivalence(a, b, method=method)


def test_bits_are_matched_by_position_inside_a_bus():
    a = buses_ab()
    b = Circuit("swapped")
    x = b.add_input_bus("x", 2)[::-1]  # x[0] and x[1] trade places
    y = b.add_input_bus("y", 2)
    b.set_output("o", [b.xor(x[0], y[0]), b.and_(x[1], y[1]), b.maj(x[0], x[1], y[0])])
    # sat reports "simulation" when its sweep's random samples already separate them
    for method, decided_by in (("exhaustive", "exhaustive"), ("simulation", "simulation"),
                               ("sat", "simulation")):
        result = check_equivalence(a, b, method=method)
        assert result.method == decided_by
        assert_distinguishes(a, b, result)


def _with_buses(inputs: dict[str, int], outputs: dict[str, int]) -> Circuit:
    c = Circuit("other")
    lits = [lit for name, width in inputs.items() for lit in c.add_input_bus(name, width)]
    for name, width in outputs.items():
        c.set_output(name, [lits[0]] * width)
    return c


@pytest.mark.parametrize("inputs, outputs, message", [
    ({"x": 2}, {"o": 3},
     "input buses differ: expected x (2 bits), y (2 bits); found x (2 bits) (y is missing)"),
    ({"x": 2, "y": 3}, {"o": 3},
     "input buses differ: expected x (2 bits), y (2 bits); found x (2 bits), y (3 bits) "
     "(y has 3 bits instead of 2)"),
    ({"x": 2, "z": 2}, {"o": 3},
     "input buses differ: expected x (2 bits), y (2 bits); found x (2 bits), z (2 bits) "
     "(y is missing, z is unexpected)"),
    ({"x": 2, "y": 2}, {"o": 3, "p": 1},
     "output buses differ: expected o (3 bits); found o (3 bits), p (1 bit) (p is unexpected)"),
    ({"x": 2, "y": 2}, {},
     "output buses differ: expected o (3 bits); found no buses (o is missing)"),
])
def test_mismatched_interfaces_are_errors(inputs, outputs, message):
    other = _with_buses(inputs, outputs)
    for method in ("auto", "exhaustive", "simulation", "sat"):
        with pytest.raises(EquivalenceError) as err:
            check_equivalence(buses_ab(), other, method=method)
        assert str(err.value) == message


def test_inputs_outside_buses_are_an_error():
    a = buses_ab()
    b = buses_ab()
    b.name = "loose"
    b.add_input()
    with pytest.raises(EquivalenceError) as err:
        check_equivalence(a, b)
    assert str(err.value) == (
        "circuit 'loose' has 1 input(s) outside any input bus; equivalence matches inputs by bus name"
    )


@pytest.mark.parametrize("call, message", [
    (lambda c: check_equivalence(c, c, method="bdd"),
     "unknown equivalence method 'bdd'; expected one of auto, exhaustive, simulation, sat"),
    (lambda c: check_equivalence(c, "c"),
     "second object: expected a Circuit or NandNetlist, found str"),
    (lambda c: simulation_equivalence(c, c, samples=0),
     "random simulation needs at least 1 sample, found 0"),
])
def test_usage_errors(call, message):
    with pytest.raises(EquivalenceError) as err:
        call(buses_ab())
    assert str(err.value) == message


def test_exhaustive_refuses_too_many_inputs():
    c = random_circuit(0, num_inputs=25, num_ops=10)
    with pytest.raises(EquivalenceError) as err:
        exhaustive_equivalence(c, c)
    assert str(err.value) == (
        "exhaustive equivalence enumerates 2**n assignments: at most 24 inputs are allowed, "
        "found 25; use method 'sat' or 'auto'"
    )


# ---------------------------------------------------------------------- results
def test_result_is_truthy_and_printable():
    a = buses_ab()
    ok = check_equivalence(a, a)
    assert ok and ok.method == "exhaustive" and ok.counterexample is None and ok.mismatches == ()
    assert str(ok) == "equivalent (proved by exhaustive)"
    assert str(simulation_equivalence(a, a)) == "no difference found by random simulation (not a proof)"
    b = buses_ab()
    b.set_output("o", [0, 0, 0])
    bad = exhaustive_equivalence(a, b)
    # the lowest distinguishing assignment is x0 = 1, where only x0 ^ y0 is 1
    assert str(bad) == "NOT equivalent (exhaustive): o[0] differ for inputs x=10; y=00"
    assert_distinguishes(a, b, bad)


def test_multi_dimensional_buses_and_names():
    a = Circuit("grid")
    g = a.add_input_bus("g", (2, 2))
    a.set_output("m", [g[0], g[1], g[2], g[3]], shape=(2, 2))
    b = Circuit("grid2")
    h = b.add_input_bus("g", (4,))  # same width, other shape: still comparable
    b.set_output("m", [h[0], h[1], h[2], h[3] ^ 1], shape=(2, 2))
    result = check_equivalence(a, b)
    assert result.counterexample["g"].shape == (2, 2)
    assert result.mismatches == ("m[1][1]",)
    assert_distinguishes(a, b, result)


def test_zero_input_circuits():
    a = Circuit("k")
    a.set_output("k", [1, 0])
    b = Circuit("k2")
    b.set_output("k", [1, 1])
    assert check_equivalence(a, a, method="sat") and check_equivalence(a, a, method="exhaustive")
    for method in ("exhaustive", "simulation", "sat"):
        result = check_equivalence(a, b, method=method)
        assert result.mismatches == ("k[1]",) and result.counterexample == {}


def test_complementary_outputs_are_refuted_without_search():
    a = buses_ab()
    b = rewrite(a, same)
    b.set_output("o", [lit ^ 1 for lit in a.output_buses["o"].bits])
    result = sat_equivalence(a, b)
    assert result.method == "sat" and result.mismatches == ("o[0]", "o[1]", "o[2]")


def test_netlists_are_accepted_on_either_side():
    a = buses_ab()
    net, _ = lower_to_nand(a)
    for method in ("exhaustive", "simulation", "sat"):
        assert check_equivalence(net, a, method=method) and check_equivalence(a, net, method=method)


# ---------------------------------------------------------------------- the methods agree
def mutate(c: Circuit, pick: int, kind: int) -> Circuit:
    """``c`` with AND node number ``pick`` (mod count) flipped in a fanin, or made an OR."""
    ands = list(c.and_nodes())
    if not ands:
        return rewrite(c, same)
    target = ands[pick % len(ands)]

    def fn(new: Circuit, node: int, a: int, b: int) -> int:
        if node != target:
            return new.and_(a, b)
        return new.and_(a ^ 1, b) if kind == 0 else new.or_(a, b)

    return rewrite(c, fn)


@PROPERTY
@given(circuits(max_inputs=12, max_ops=40), st.integers(0, 10**6), st.integers(0, 1))
def test_methods_agree_on_mutants(c, pick, kind):
    other = mutate(c, pick, kind)
    proof = exhaustive_equivalence(c, other)
    by_sat = sat_equivalence(c, other)
    by_sim = simulation_equivalence(c, other, samples=256)
    assert bool(proof) == bool(by_sat)
    assert bool(by_sim) or not proof  # simulation never invents a difference
    for result in (proof, by_sat, by_sim):
        if not result:
            assert_distinguishes(c, other, result)


def plant_needle(c: Circuit, pattern: list[int]) -> Circuit:
    """A copy of ``c`` whose first output bit flips on exactly one input assignment.

    ``pattern`` gives that assignment's bits in ``c.input_literals()`` order.
    """
    needle = rewrite(c, same)
    hit = needle.and_many(lit ^ 1 ^ bit for lit, bit in zip(needle.input_literals(), pattern))
    name, bus = next(iter(needle.output_buses.items()))
    needle.set_output(name, [needle.xor(bus.bits[0], hit)] + list(bus.bits[1:]), bus.shape, bus.signed)
    return needle


@settings(max_examples=examples(40), deadline=None)
@given(circuits(min_inputs=20, max_inputs=24, max_ops=40), st.data())
def test_sat_counterexamples_map_back_to_buses(c, data):
    pattern = data.draw(st.lists(st.integers(0, 1), min_size=c.num_inputs, max_size=c.num_inputs))
    needle = plant_needle(c, pattern)
    result = sat_equivalence(c, needle)
    assert result.method in ("sat", "simulation")  # the sweep's samples may hit it (rarely)
    assert_distinguishes(c, needle, result)
    flat = np.concatenate([result.counterexample[name].reshape(-1) for name in c.input_buses])
    assert flat.tolist() == pattern


@PROPERTY
@given(circuits(max_inputs=12, max_ops=40))
def test_restructured_and_cleaned_copies_are_proved_equivalent(c):
    assert sat_equivalence(c, rewrite(c, restructured))
    assert sat_equivalence(c, cleanup(c)[0])
    assert exhaustive_equivalence(c, rewrite(c, restructured))


# ---------------------------------------------------------------------- SAT on larger circuits
def big_circuit(seed: int) -> Circuit:
    """About 1100 AND nodes over 24 inputs, over 800 of them observable (seeds 0-3, 6)."""
    c = random_circuit(seed, num_inputs=24, num_ops=500, max_output_width=48)
    assert size_of(c) > 800
    return c


def test_sat_proves_lowering_and_restructuring():
    c = big_circuit(1)
    net, _ = lower_to_nand(c)
    assert sat_equivalence(c, net.to_circuit())
    assert sat_equivalence(c, net)
    result = check_equivalence(c, rewrite(c, restructured))
    assert result and result.method == "sat"


def test_sat_finds_a_planted_single_gate_difference_deep_in_the_circuit():
    c = big_circuit(2)
    rng = np.random.default_rng(0)
    samples = {name: rng.integers(0, 2, size=(512,) + bus.shape, dtype=np.uint8)
               for name, bus in c.input_buses.items()}
    expected = evaluate(c, samples, as_words=False)
    levels = c.levels()
    live = c.reachable()
    # the deepest live AND node whose replacement by an OR is observable
    for node in sorted((n for n in c.and_nodes() if live[n]), key=lambda n: -levels[n]):
        planted = rewrite(c, lambda new, n, a, b: new.or_(a, b) if n == node else new.and_(a, b))
        got = evaluate(planted, samples, as_words=False)
        if any(not np.array_equal(got[k], expected[k]) for k in expected):
            break
    assert levels[node] > 5
    result = sat_equivalence(c, planted)
    assert_distinguishes(c, planted, result)


def test_sat_finds_a_needle_that_random_simulation_misses():
    c = big_circuit(3)
    pattern = np.random.default_rng(7).integers(0, 2, size=24).tolist()
    needle = plant_needle(c, pattern)
    assert simulation_equivalence(c, needle, samples=4096)  # 1 in 2**24: not found
    for result in (sat_equivalence(c, needle), check_equivalence(c, needle)):
        assert result.method == "sat" and result.mismatches == ("out[0]",)
        flat = np.concatenate([result.counterexample[name].reshape(-1) for name in c.input_buses])
        assert flat.tolist() == pattern
        assert_distinguishes(c, needle, result)


def pigeonhole(holes: int) -> Circuit:
    """1 iff ``holes + 1`` pigeons sit in ``holes`` holes, one per hole: constant false,
    but resolution (so CDCL) needs exponentially many steps to see it."""
    c = Circuit("php")
    p = c.add_input_bus("p", (holes + 1, holes))
    rows = [p[i * holes:(i + 1) * holes] for i in range(holes + 1)]
    terms = [c.or_many(row) for row in rows]
    terms += [c.nand(rows[i][j], rows[k][j])
              for j in range(holes) for i in range(holes + 1) for k in range(i + 1, holes + 1)]
    c.set_output("ok", [c.and_many(terms)])
    return c


def constant_false(holes: int) -> Circuit:
    c = Circuit("false")
    c.add_input_bus("p", (holes + 1, holes))
    c.set_output("ok", [0])
    return c


def test_conflict_budget():
    assert sat_equivalence(constant_false(4), pigeonhole(4), conflict_budget=10**6)
    with pytest.raises(EquivalenceError) as err:
        sat_equivalence(constant_false(7), pigeonhole(7), conflict_budget=1)
    assert str(err.value) == (
        "equivalence undecided: the SAT solver gave up after its budget of 1 conflicts; "
        "raise conflict_budget or pass None"
    )
    with pytest.raises(EquivalenceError) as err:
        check_equivalence(constant_false(4), pigeonhole(4), method="sat", conflict_budget=0)
    assert str(err.value) == "conflict_budget must be at least 1 (or None for no limit), found 0"


def test_auto_refutes_by_simulation_when_differences_are_common():
    c = big_circuit(6)
    other = rewrite(c, same)
    other.set_output("out", [0] + list(c.output_buses["out"].bits[1:]))
    result = check_equivalence(c, other)
    assert result.method == "simulation"
    assert_distinguishes(c, other, result)


# ---------------------------------------------------------------------- SAT on threshold networks
def threshold_network(seed: int, n: int, hidden: int, outs: int, style: str) -> Circuit:
    """A two-layer binary neural network: ``hidden`` neurons ``popcount(x ^ phases) >= t`` over
    ``n`` inputs, then ``outs`` such neurons over the hidden ones.  ``style`` picks how each neuron
    is built (``"compare"``: popcount word and comparator, as the frontend does; ``"atleast"``:
    one offset column sum): the same function, structurally different everywhere but at the inputs,
    like the frontend's AIG against its optimized netlist."""
    rng = np.random.default_rng(seed)
    c = Circuit(f"mlp-{style}")
    x = c.add_input_bus("x", n)
    build = words.compare_threshold if style == "compare" else words.popcount_at_least

    def layer(ins: list[int], width: int) -> list[int]:
        out = []
        for _ in range(width):
            lits = [lit ^ int(p) for lit, p in zip(ins, rng.integers(0, 2, len(ins)))]
            out.append(build(c, lits, int(rng.integers(len(ins) // 3, 2 * len(ins) // 3))))
        return out

    c.set_output("y", layer(layer(list(x), hidden), outs))
    return c


@pytest.mark.slow
def test_sat_proves_threshold_networks_built_two_ways():
    for seed, shape in ((0, (16, 8, 2)), (1, (16, 6, 2))):
        a, b = (threshold_network(seed, *shape, style) for style in ("compare", "atleast"))
        assert sat_equivalence(a, b)
        assert sat_equivalence(b, a)


def test_sat_refutes_one_flipped_gate_deep_in_a_threshold_network():
    a, b = (threshold_network(2, 20, 8, 3, style) for style in ("compare", "atleast"))
    rng = np.random.default_rng(0)
    samples = {"x": rng.integers(0, 2, size=(4096, 20), dtype=np.uint8)}
    expected = evaluate(a, samples, as_words=False)["y"]
    levels, live = b.levels(), b.reachable()
    deep = sorted((n for n in b.and_nodes() if live[n]), key=lambda n: -levels[n])
    flips = []
    for node in deep[len(deep) // 4:len(deep) // 4 + 150]:  # inside the hidden neurons' popcounts
        flipped = rewrite(b, lambda new, n, x, y: new.or_(x, y) if n == node else new.and_(x, y))
        differ = int(np.any(evaluate(flipped, samples, as_words=False)["y"] != expected, axis=1).sum())
        if differ:
            flips.append((differ, node, flipped))
    flips.sort(key=lambda f: f[:2])
    methods = set()
    for _, _, flipped in flips[:3]:  # the rarest observable differences (a few in 4096 samples)
        result = sat_equivalence(a, flipped)
        assert_distinguishes(a, flipped, result)
        methods.add(result.method)
    assert "sat" in methods


def test_sat_finds_a_one_vector_difference_in_a_threshold_network():
    a, b = (threshold_network(3, 24, 6, 2, style) for style in ("compare", "atleast"))
    pattern = np.random.default_rng(5).integers(0, 2, size=24).tolist()
    needle = plant_needle(b, pattern)
    for result in (sat_equivalence(a, needle), sat_equivalence(needle, a)):
        assert result.method == "sat" and result.mismatches == ("y[0]",)
        assert result.counterexample["x"].tolist() == pattern
        assert_distinguishes(a, needle, result)
