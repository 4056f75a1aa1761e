"""The compiled loops (nandc.synth.kernels) give exactly what the Python reference loops give.

Cuts (all and local), the mapper's covers, rewriting's, refactoring's and
resubstitution's decisions are computed both ways on random circuits and compared; the
results of the compiled paths are also checked for equivalence.  These
tests compile the loops on a fresh checkout (tens of seconds): slow lane.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings, strategies as st

from nandc.passes import run_pipeline
from nandc.passes.mapper import nand_map
from nandc.passes.refactor import RefactorParams, refactor_once
from nandc.passes.resub import resub
from nandc.passes.rewrite import RewriteParams, choose_replacements, rewrite
from nandc.synth import compiled
from nandc.synth.cost import CostView
from nandc.synth.cuts import LocalCuts, enumerate_cuts
from nandc.synth.factor import reconvergent_cut
from nandc.synth.resub import resub_replacements, window
from nandc.synth.equiv import check_equivalence
from tests.strategies import circuits, examples, random_circuit

pytestmark = pytest.mark.slow

# imported on use: loading nandc.synth.kernels at collection would switch the
# fast lane's engines to the compiled loops (see nandc.synth.compiled)
pytest.importorskip("numba", reason="numba is not installed")


def _both(monkeypatch, fn):
    """``fn()`` by the Python loops, then by the compiled ones."""
    monkeypatch.setattr(compiled, "MIN_NODES", 1 << 60)
    monkeypatch.delitem(sys.modules, "nandc.synth.kernels", raising=False)
    reference = fn()
    monkeypatch.undo()
    monkeypatch.setattr(compiled, "MIN_NODES", 0)
    return reference, fn()


@settings(max_examples=examples(100), deadline=None)
@given(circuits(max_inputs=10, max_ops=60), st.sampled_from([2, 3, 4, 8]), st.integers(1, 4))
def test_cut_arrays_are_the_python_cuts(c, limit, depth):
    from nandc.synth import kernels

    ctx = CostView(c)
    f0, f1, _ = c.arrays()
    for k in (3, 4):
        got = dict(kernels.cut_lists(kernels.cut_arrays(f0, f1, ctx.ands, k, limit), ctx.ands))
        assert got == enumerate_cuts(ctx.f0, ctx.f1, ctx.ands, k, limit)
        local = LocalCuts(ctx.f0, ctx.f1, k, limit, depth)
        nodes = ctx.ands[::2]
        got = dict(kernels.cut_lists(kernels.local_cut_arrays(f0, f1, ctx.ands, nodes, k, limit, depth), nodes))
        assert got == {v: local.cuts(v) for v in nodes}


@pytest.mark.parametrize("seed", [0, 1])
def test_mapper_covers_are_the_python_covers(monkeypatch, seed):
    c = random_circuit(seed, num_inputs=24, num_ops=700)
    (ref, ref_stats), (got, got_stats) = _both(monkeypatch, lambda: nand_map(c))
    assert got.structural_hash() == ref.structural_hash()
    assert got_stats.notes == ref_stats.notes
    assert check_equivalence(c, got, method="sat")


@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=8, max_ops=50), st.sampled_from(["direct", "flow"]), st.integers(0, 2))
def test_mapper_covers_agree_on_small_circuits(c, start, rounds):
    params = {"start": start, "rounds": rounds, "cuts_per_node": 4}
    with pytest.MonkeyPatch.context() as mp:
        (ref, _), (got, _) = _both(mp, lambda: nand_map(c, params))
    assert got.structural_hash() == ref.structural_hash()
    assert check_equivalence(c, got)


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=8, max_ops=60), st.integers(0, 2))
def test_counted_cover_gates_are_the_built_netlists_gates(c, rounds):
    # the compiled covers count their netlist's gates (hashed as the builder hashes them) and build
    # only the smallest cover; every count must be what building that cover gives
    import numpy as np

    from nandc.passes import mapper

    f0 = c.arrays()[0]
    ands = np.flatnonzero(c.reachable() & (f0 != 0)).tolist()
    p = mapper.MapParams(rounds=rounds, cuts_per_node=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "MIN_NODES", 0)
        covers = list(mapper._covers(c, ands, p, ("direct", "flow"), None))
    assert [start for start, _ in covers] == ["direct", "flow"]
    for _, cover in covers:
        net = mapper._build(c, *cover.choices())
        assert cover.gates == net.num_gates == cover.netlist().num_gates
        assert check_equivalence(c, net)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scope", ["all", "inverters"])
def test_rewrite_decisions_are_the_python_decisions(monkeypatch, seed, scope):
    c = random_circuit(seed, num_inputs=20, num_ops=800)
    params = RewriteParams(scope=scope)
    (_, ref), (_, got) = _both(monkeypatch, lambda: choose_replacements(c, params))
    assert got == ref and ref  # the same replacements, and some were found
    monkeypatch.setattr(compiled, "MIN_NODES", 0)
    new, _ = rewrite(c, {"scope": scope})
    assert check_equivalence(c, new, method="sat")


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=8, max_ops=50))
def test_rewrite_decisions_agree_on_small_circuits(c):
    with pytest.MonkeyPatch.context() as mp:
        (_, ref), (_, got) = _both(mp, lambda: choose_replacements(c, RewriteParams()))
    assert got == ref


@pytest.mark.parametrize("min_saved", [1, 3, 6])
def test_refactor_candidates_lose_no_replacement(monkeypatch, min_saved):
    c = random_circuit(3, num_inputs=16, num_ops=600)
    params = RefactorParams(min_saved=min_saved)
    (_, ref), (_, got) = _both(monkeypatch, lambda: refactor_once(c, params))
    assert got == ref and ref


@pytest.mark.parametrize("seed,cut_size,odc,max_gates,max_divisors", [
    (5, 10, 2, 2, 80), (6, 6, 1, 2, 80), (7, 8, 3, 2, 80), (8, 12, 2, 3, 80), (9, 4, 0, 1, 80), (10, 10, 2, 0, 80),
    (11, 10, 3, 3, 12), (12, 12, 1, 2, 30)])
def test_resub_replacements_are_the_python_ones(monkeypatch, seed, cut_size, odc, max_gates, max_divisors):
    c = random_circuit(seed, num_inputs=20, num_ops=800)
    ref, got = _both(monkeypatch, lambda: resub_replacements(c, CostView(c), cut_size, max_gates, max_divisors, odc))
    assert got == ref and ref  # the same replacements, and some were found
    monkeypatch.setattr(compiled, "MIN_NODES", 0)
    new, _ = resub(c, {"cut_size": cut_size, "odc_levels": odc, "max_gates": max_gates,
                       "max_divisors": max_divisors})
    assert check_equivalence(c, new, method="sat")


@pytest.mark.parametrize("seed,cut_size,odc", [(10, 6, 0), (10, 10, 2), (13, 8, 1)])
def test_resub_replacements_agree_on_deep_circuits(monkeypatch, seed, cut_size, odc):
    """Every node reads recent ones: here some node equals two divisors, the first of which would
    need a new inverter and a later one not (the later one wins)."""
    c = random_circuit(seed, num_inputs=16, num_ops=500, recent=16)
    ref, got = _both(monkeypatch, lambda: resub_replacements(c, CostView(c), cut_size, odc_levels=odc))
    assert got == ref and ref


@pytest.mark.parametrize("odc", [0, 2])
def test_resub_replacements_agree_in_windows_of_hundreds_of_nodes(monkeypatch, odc):
    """A ladder (every node reads the one before and one of the three before that) over five
    inputs: the windows stop at factor.MAX_CONE nodes (more divisors than max_divisors)."""
    from nandc.synth.factor import MAX_CONE
    import random

    from nandc.ir.circuit import Circuit

    rng = random.Random(0)
    c = Circuit("ladder")
    lits = list(c.add_input_bus("x", 5))
    for _ in range(400):
        a, b = lits[-1], lits[-1 - rng.randint(1, 3)]
        lits.append(c.and_(a ^ rng.randint(0, 1), b ^ rng.randint(0, 1)))
    c.set_output("y", lits[-1:-60:-7])
    ctx = CostView(c)
    assert max(len(window(v, ctx.f0, ctx.f1, 10).nodes) for v in ctx.ands) == MAX_CONE
    ref, got = _both(monkeypatch, lambda: resub_replacements(c, CostView(c), 10, 3, 80, odc))
    assert got == ref and ref


def test_resub_windows_keep_to_k_leaves_where_a_fanin_reconverges_inside_the_cone(monkeypatch):
    """On this circuit a fanin of an expanded leaf was once expanded itself; the cut used to take
    it back as a leaf (10 leaves for k = 8).  Python's and the compiled windows keep to k leaves
    and give the same replacements."""
    c = random_circuit(8, num_inputs=14, num_ops=208)
    ctx = CostView(c)
    assert max(len(reconvergent_cut(v, ctx.f0, ctx.f1, 8)) for v in ctx.ands) == 8
    for k in (6, 8):
        ref, got = _both(monkeypatch, lambda k=k: resub_replacements(c, CostView(c), k, odc_levels=2))
        assert got == ref and ref


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=12, max_ops=90), st.integers(2, 12), st.integers(0, 3), st.integers(0, 3),
       st.sampled_from([4, 80]))
def test_resub_replacements_agree_on_small_circuits(c, k, max_gates, odc, max_divisors):
    with pytest.MonkeyPatch.context() as mp:
        ref, got = _both(mp, lambda: resub_replacements(c, CostView(c), k, max_gates, max_divisors, odc))
    assert got == ref


def test_adders_are_the_python_adders(monkeypatch):
    import random

    from nandc.ir.circuit import Circuit
    from nandc.synth.adders import adder_certificate, adder_tables, find_adders
    from tests.foreign import ge, tree_count

    rng = random.Random(3)
    c = Circuit("neuron")
    x = c.add_input_bus("x", 40)
    phases = [rng.randint(0, 1) for _ in x]
    c.set_output("y", [ge(c, tree_count(c, [lit ^ p for lit, p in zip(x, phases)]), 17)])
    root = c.output_literals()[0]
    for circuit in (c, random_circuit(8, num_inputs=16, num_ops=600)):
        ref, got = _both(monkeypatch, lambda: find_adders(circuit))
        assert got == ref and (ref[0] or circuit is not c)  # the same adders (the neuron's: full adders)
        # the cuts they come from, every XOR of each leaf set included, in the same order
        ref, got = _both(monkeypatch, lambda: adder_tables(circuit, every=True))
        assert got == ref and all(ref[:2])
    ref, got = _both(monkeypatch, lambda: adder_certificate(c, root, phases, 17))
    assert ref is True and got is True


def test_o3_gives_the_same_netlist_both_ways(monkeypatch):
    c = random_circuit(4, num_inputs=16, num_ops=500)
    (ref, _), (got, _) = _both(monkeypatch, lambda: run_pipeline(c, "O3"))
    assert got.structural_hash() == ref.structural_hash()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("limit", [4, 8, 16])
def test_cut_arrays_with_choices_are_the_python_cuts(seed, limit):
    from nandc.synth import kernels
    from nandc.synth.choices import build_choices

    c = random_circuit(seed + 20, num_inputs=18, num_ops=400)
    main, _ = run_pipeline(c, "cleanup;sweep;rewrite;balance;refactor;rewrite")
    start, _ = run_pipeline(c, "cleanup")
    net = build_choices(main, [start])
    assert net.num_members
    f0, f1, _ = net.circuit.arrays()
    got = dict(kernels.cut_lists(kernels.cut_arrays(f0, f1, net.order, 4, limit, net.members), net.order))
    assert got == enumerate_cuts(f0.tolist(), f1.tolist(), net.order, 4, limit, net.members)


@pytest.mark.parametrize("seed", [0, 1])
def test_mapper_covers_over_choices_are_the_python_covers(monkeypatch, seed):
    c = random_circuit(seed + 30, num_inputs=20, num_ops=700)
    pipeline = "cleanup;snapshot;sweep;rewrite;balance;refactor;rewrite;map[choices=true]"
    (ref, ref_stats), (got, got_stats) = _both(monkeypatch, lambda: run_pipeline(c, pipeline))
    assert got.structural_hash() == ref.structural_hash()
    assert got_stats[-1].notes == ref_stats[-1].notes and ref_stats[-1].notes["choice_members"]
    assert check_equivalence(c, got, method="sat")


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("zero,slack", [(False, None), (True, None), (False, 0), (True, 1)])
def test_and_rewrite_decisions_are_the_python_decisions(monkeypatch, seed, zero, slack):
    from nandc.passes.restructure import _step, RestructureParams

    c = random_circuit(seed, num_inputs=20, num_ops=800)
    step = "rwz" if zero else "rw"
    ref, got = _both(monkeypatch, lambda: _step(c, step, RestructureParams(), slack, None))
    assert got.structural_hash() == ref.structural_hash()
    assert check_equivalence(c, got, method="sat")

    def choices():
        from nandc.passes import restructure

        ctx = CostView(c)
        captured = {}
        real = restructure.apply_if_fewer

        def spy(circuit, cv, replaced, allow_equal=False):
            captured.update(replaced)
            return real(circuit, cv, replaced, allow_equal)

        monkeypatch.setattr(restructure, "apply_if_fewer", spy)
        restructure._step(c, step, RestructureParams(), slack, None)
        return captured

    ref, got = _both(monkeypatch, choices)
    assert got == ref and ref  # the same replacements, and some were found


@pytest.mark.parametrize("zero", [False, True])
def test_and_refactor_candidates_lose_no_replacement(monkeypatch, zero):
    from nandc.synth.andopt import refactor_candidates, refactor_choices

    c = random_circuit(2, num_inputs=20, num_ops=800)
    ctx = CostView(c)
    ref, got = _both(monkeypatch, lambda: refactor_choices(c, ctx, 10, 24, zero))
    assert got == ref and ref
    monkeypatch.setattr(compiled, "MIN_NODES", 0)
    nodes, cones = refactor_candidates(ctx, 10)
    assert len(nodes) < len(ctx.ands) and set(cones) == set(nodes)  # the filter skips some nodes


@pytest.mark.parametrize("k", [2, 5, 6, 7, 10, 12])
def test_cone_tables_are_the_python_cuts_and_tables(k):
    from nandc.synth import kernels
    from nandc.synth.factor import cone_table

    c = random_circuit(11, num_inputs=16, num_ops=500)
    ctx = CostView(c)
    got = kernels.cone_tables(ctx.ands, ctx.f0, ctx.f1, k)
    assert len(got) > len(ctx.ands) // 2
    for v in ctx.ands:
        leaves = reconvergent_cut(v, ctx.f0, ctx.f1, k)
        if v in got:
            assert got[v] == (leaves, cone_table(v, leaves, ctx.f0, ctx.f1))
        else:
            assert len(leaves) < 2


@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=8, max_ops=50))
def test_restructure_agrees_on_small_circuits(c):
    from nandc.passes.restructure import restructure

    with pytest.MonkeyPatch.context() as mp:
        (ref, _), (got, _) = _both(mp, lambda: restructure(c, {"guard": False, "max_nodes": 0}))
    assert got.structural_hash() == ref.structural_hash()


def test_cut_cone_limit_is_the_same_in_both_loops():
    """The compiled reconvergent cut stops at the same cone size as the Python one: on a chain of
    3000 levels over two inputs (where nothing else stops it) their cuts and tables agree, and so
    do resub's replacements."""
    from nandc.synth import factor, kernels
    from tests.passes.test_refactor import _long_chain

    assert kernels._MAX_CONE == factor.MAX_CONE
    c = _long_chain(3000)
    ctx = CostView(c)
    got = kernels.cone_tables(ctx.ands, ctx.f0, ctx.f1, 8)
    for v in ctx.ands:
        leaves = reconvergent_cut(v, ctx.f0, ctx.f1, 8)
        assert got.get(v, (leaves,))[0] == leaves
    with pytest.MonkeyPatch.context() as mp:
        ref, comp = _both(mp, lambda: resub_replacements(c, CostView(c), 8, 2, 80, 2))
    assert comp == ref


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=12, max_ops=80), st.sampled_from([2, 4, 6, 10]), st.data())
def test_local_proofs_are_the_python_ones(c, leaves, data):
    from nandc.synth.fraig import LocalProver

    python, compiled_ = LocalProver(leaves, compiled=False), LocalProver(leaves, compiled=True)
    f0 = c.fanin_views()[0]
    ands = [v for v in range(c.num_nodes) if f0[v]]
    for _ in range(20):
        if not ands:
            break
        x = 2 * data.draw(st.sampled_from(ands)) + data.draw(st.integers(0, 1))
        y = data.draw(st.integers(0, 2 * c.num_nodes - 1))
        if x >> 1 == y >> 1:
            continue
        assert compiled_.check(c, x, y) == python.check(c, x, y)
        c.and_(x, y ^ 1)  # the circuit grows between checks, as a sweep's copy does


@pytest.mark.parametrize("seed", [0, 1])
def test_pair_cuts_are_the_python_cuts(seed):
    import numpy as np

    from nandc.synth import kernels
    from nandc.synth.factor import pair_cut

    c = random_circuit(seed, num_inputs=24, num_ops=600)
    f0, f1 = c.fanin_views()
    vis, lv = np.zeros(c.num_nodes, dtype=np.int64), np.zeros(16, dtype=np.int64)
    ands = [v for v in range(c.num_nodes) if f0[v]]
    stamp = 0
    for x, y in zip(ands, ands[7:] + [0] * 7):
        for k in (2, 5, 10):
            stamp += 1
            nl = kernels._pair_cut(x, y, f0, f1, k, vis, stamp, lv)
            assert tuple(sorted(lv[:nl].tolist())) == pair_cut(x, y, f0, f1, k)


@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=8, max_ops=60), st.data())
def test_needed_nodes_is_the_search_from_the_outputs(c, data):
    """The compiled sweep of the nodes a rebuild with replacements keeps, against the search from the
    outputs, for random replacements whose leaves are lower nodes; None for a leaf that is not."""
    from nandc.synth import kernels
    from nandc.synth.resynth import Replacement, _needed

    ctx = CostView(c)
    ands = [v for v in range(c.num_nodes) if c.is_and(v)]
    replaced = {}
    for v in data.draw(st.lists(st.sampled_from(ands), max_size=8, unique=True)) if ands else []:
        leaves = tuple(data.draw(st.lists(st.integers(1, v - 1), max_size=4, unique=True)))
        replaced[v] = Replacement(leaves, None, (), 0, 1)
    f0, f1, _ = c.arrays()
    got = kernels.needed_nodes(f0, f1, c.output_literals(), {v: r.leaves for v, r in replaced.items()})
    with pytest.MonkeyPatch.context() as m:
        m.setattr("nandc.synth.resynth.use_compiled", lambda n: False)
        assert got.tolist() == _needed(c, ctx, replaced)
    if ands:
        v = ands[0]
        assert kernels.needed_nodes(f0, f1, c.output_literals(), {v: (v,)}) is None


@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=10, max_ops=80), st.integers(1, 9), st.data())
def test_signature_arrays_are_the_level_plan_signatures(c, words, data):
    """The compiled simulation in node order gives the keys and phases of simulate_nodes over the
    level plan and signature_keys, for the live nodes and for any set closed under fanins."""
    import numpy as np

    from nandc.synth import simulation

    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    patterns = simulation.random_patterns(len(c.input_literals()), words, rng)
    roots = data.draw(st.lists(st.integers(0, 2 * c.num_nodes - 1), max_size=5))
    for nodes in (np.flatnonzero(c.reachable()), np.flatnonzero(c.reachable(roots))):
        plan = simulation.level_plan(c, nodes)
        want = simulation.signature_keys(simulation.simulate_nodes(plan, patterns))
        with pytest.MonkeyPatch.context() as m:
            m.setattr(simulation, "use_compiled", lambda n: True)
            inputs, keys, phase = simulation.signatures(c, nodes, patterns)
        assert np.array_equal(inputs, plan.inputs)
        assert np.array_equal(keys, want[0]) and np.array_equal(phase, want[1])
