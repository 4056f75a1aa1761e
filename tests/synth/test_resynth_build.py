"""resynth.build (and every pass that cleans a circuit) returns the circuit it has when a rebuild
would copy it node for node."""

from __future__ import annotations

import random

import pytest

from nandc.ir.circuit import Circuit
from nandc.passes.pipeline import run_pipeline
from nandc.synth import rebuild as rebuild_module, resynth
from nandc.synth.rebuild import cleaned, rebuild, rebuilt_as_is


def _layered(seed: int, num_inputs: int = 14, num_ops: int = 300) -> Circuit:
    """A random circuit whose nodes are tagged with layers that interleave and recur."""
    rng = random.Random(seed)
    c = Circuit(f"layered{seed}")
    lits = list(c.add_input_bus("x", num_inputs)) + [c.add_input()]
    names = ["", "conv", "act", "pool", "head"]
    for i in range(num_ops):
        if i % 25 == 0:
            c.current_layer = rng.choice(names)
        a, b = rng.choice(lits[-60:]) ^ rng.randint(0, 1), rng.choice(lits) ^ rng.randint(0, 1)
        op = rng.randint(0, 2)
        lits.append(c.and_(a, b) if op == 0 else c.or_(a, b) if op == 1 else c.xor(a, b))
    c.current_layer = ""
    c.set_output("y", [lit ^ rng.randint(0, 1) for lit in lits[-12:]])
    c.set_output("z", [lits[-40], 0, lits[3]])
    return c


def _shape(c: Circuit):
    f0, f1, lay = c.arrays()
    return (f0.tolist(), f1.tolist(), [c.layer_names[i] for i in lay.tolist()], c.layer_names, c.inputs,
            {n: (b.bits, b.shape, b.signed) for n, b in c.output_buses.items()},
            {n: (b.bits, b.shape) for n, b in c.input_buses.items()})


@pytest.mark.parametrize("passes", ["rewrite", "resub", "refactor[min_saved=1]", "sweep;sweep", "rewrite;resub;sweep",
                                    pytest.param("restructure[guard=false,max_nodes=0,rounds=1,slacks=any]",
                                                 marks=pytest.mark.slow)])
def test_build_gives_what_a_rebuild_would(monkeypatch, passes):
    kept = []
    check = rebuild_module.rebuilt_as_is

    def counted(c):
        kept.append(check(c))
        return kept[-1]

    for seed in range(4):
        c = _layered(seed)
        monkeypatch.setattr(rebuild_module, "rebuilt_as_is", counted)
        fast, _ = run_pipeline(c, passes)
        monkeypatch.setattr(rebuild_module, "rebuilt_as_is", lambda c: False)  # always the second copy
        slow, _ = run_pipeline(c, passes)
        assert _shape(fast) == _shape(slow)
        assert _shape(rebuild(fast)[0]) == _shape(fast)
    assert True in kept  # the copy was saved


def _both_builds(monkeypatch, c: Circuit, replaced):
    from nandc.synth.cost import CostView

    fast = resynth.build(c, CostView(c), replaced)
    monkeypatch.setattr(rebuild_module, "rebuilt_as_is", lambda c: False)
    slow = resynth.build(c, CostView(c), replaced)
    return fast, slow


def test_a_node_left_dead_is_dropped(monkeypatch):
    c = Circuit("dead")
    x = c.add_input_bus("x", 3)
    with c.layer("p"):
        a = c.and_(x[0], x[1])
    with c.layer("q"):
        b = c.and_(a, x[2])
    c.set_output("y", [b])
    # b becomes the constant 0; its leaf a is still built, and nothing reads it
    fast, slow = _both_builds(monkeypatch, c, {b >> 1: resynth.Replacement((a >> 1, x[2] >> 1), None, (), 0, 1, 0)})
    assert _shape(fast) == _shape(slow) and fast.num_ands == 0 and fast.layer_names == [""]


def test_layer_names_keep_the_order_of_their_first_nodes(monkeypatch):
    from nandc.synth.library import Program

    c = Circuit("order")
    x = c.add_input_bus("x", 4)
    with c.layer("p"):
        u = c.and_(x[0], x[1])
    with c.layer("q"):
        w = c.and_(x[2], x[3])
    with c.layer("p"):
        z = c.and_(x[0], x[2])
    c.set_output("y", [u, w, z])
    # u becomes its leaf x0 (no node): 'p' is named first, but the first node built is w, in 'q'
    ident = resynth.Replacement((x[0] >> 1,), Program((), 0, 1), (0,), c.free_phase(x[0] >> 1), 1)
    fast, slow = _both_builds(monkeypatch, c, {u >> 1: ident})
    assert _shape(fast) == _shape(slow) and fast.layer_names == ["", "q", "p"]


def test_rebuilt_as_is_says_whether_the_copy_is_the_circuit():
    for seed in range(6):
        c = _layered(seed)
        copy = rebuild(c)[0]
        for x in (c, copy, rebuild(copy)[0]):
            if rebuilt_as_is(x):
                assert _shape(rebuild(x)[0]) == _shape(x) and cleaned(x) is x
            else:
                assert _shape(cleaned(x)) == _shape(rebuild(x)[0])
        assert rebuilt_as_is(copy)  # a rebuild's copy is its own copy (layers recur, but in first-node order)


def _small() -> tuple[Circuit, list[int]]:
    c = Circuit("small")
    x = c.add_input_bus("x", 3)
    return c, x


def test_what_a_rebuild_would_change_is_seen():
    c, x = _small()
    a = c.and_(x[0], x[1])
    c.and_(a, x[2])  # dead
    c.set_output("y", [a])
    assert not rebuilt_as_is(c) and cleaned(c).num_ands == 1

    c, x = _small()
    a = c.and_(x[0], x[1])
    extra = c.add_input()  # an input after an AND node: the copy numbers it first
    c.set_output("y", [c.and_(a, extra)])
    assert not rebuilt_as_is(c) and _shape(cleaned(c)) == _shape(rebuild(c)[0])

    c, x = _small()
    with c.layer("q"):
        pass
    with c.layer("p"):
        a = c.and_(x[0], x[1])
    with c.layer("q"):
        b = c.and_(a, x[2])
    c.set_output("y", [b])
    assert c.layer_names == ["", "q", "p"] and not rebuilt_as_is(c)
    assert cleaned(c).layer_names == ["", "p", "q"]

    c, x = _small()
    c.set_output("y", [c.and_(c.and_(x[0], x[1]), x[2])])
    assert rebuilt_as_is(c) and cleaned(c) is c
