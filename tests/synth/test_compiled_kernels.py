"""The compiled loops (nandc.synth.kernels) give exactly what the Python reference loops give.

Cuts (all and local), the mapper's covers, rewriting's and refactoring's
decisions are computed both ways on random circuits and compared; the
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


def _fanout_csr(ctx):
    import numpy as np

    ands = np.asarray(ctx.ands, dtype=np.int64)
    f0, f1 = np.asarray(ctx.f0), np.asarray(ctx.f1)
    src = np.concatenate([f0[ands] >> 1, f1[ands] >> 1])
    dst = np.concatenate([ands, ands])
    order = np.argsort(src, kind="stable")
    return np.searchsorted(src[order], np.arange(len(f0) + 1)), dst[order]


def _may_be_divisor(ctx, v, w, care, starts, dst):
    """Python reference of resub_windows' flags: in window ``w`` (holding v), is v constant or equal
    to a divisor resub_replacements' divisors could pick (nothing excluded) where ``care`` is 1?"""
    inside = [x for x in (*w.leaves, *w.nodes) if x < v and x]
    have, table, mask = set(inside), dict(w.table), w.mask
    found = list(inside)
    for x in inside:
        outs = dst[starts[x]:starts[x + 1]].tolist()
        if len(outs) > 16:
            continue
        for u in outs:
            a, b = ctx.f0[u], ctx.f1[u]
            if u < v and u not in have and (a >> 1) in have and (b >> 1) in have:
                table[u] = (table[a >> 1] ^ (mask if a & 1 else 0)) & (table[b >> 1] ^ (mask if b & 1 else 0))
                have.add(u)
                found.append(u)
    f = table[v] & care
    return f in (0, care) or any((table[x] ^ table[v]) & care in (0, care) for x in found)


def _verdict(ctx, v, w, care, starts, dst):
    """resub_windows' verdict for v in window w: 2 (maybe a constant or divisor), else 1 if v's cone
    above w's leaves frees more than one gate (a form may be found), else 0."""
    if _may_be_divisor(ctx, v, w, care, starts, dst):
        return 2
    return int(ctx.mffc(v, w.leaves, {})[0] + (ctx.pos[v] > 0) > 1)


def _python_flags(ctx, v, k, odc, starts, dst):
    """The verdicts of resub_windows for v, as resub_replacements' decide would meet them."""
    w = window(v, ctx.f0, ctx.f1, k)  # (more than k leaves: wider than the compiled tables, no claim)
    flags = [2 if not 2 <= len(w.leaves) <= k else _verdict(ctx, v, w, w.mask, starts, dst)]
    chain, x = [], v
    while len(chain) < odc and ctx.refs[x] == 1 and starts[x + 1] - starts[x] == 1:
        x = int(dst[starts[x]])
        chain.append(x)
        wr = window(x, ctx.f0, ctx.f1, k)
        if len(wr.leaves) < 2 or v not in set(wr.nodes):
            flags.append(0 if len(wr.leaves) <= k else 2)
            continue
        if len(wr.leaves) > k:
            flags.append(2)
            continue
        care = wr.mask
        for y in chain:
            a, b = ctx.f0[y], ctx.f1[y]
            lit = b if (a >> 1) in (v, *chain) else a
            care &= wr.table[lit >> 1] ^ (wr.mask if lit & 1 else 0)
        flags.append(_verdict(ctx, v, wr, care, starts, dst) if care != wr.mask else 0)
    return flags + [2] * (odc + 1 - len(flags))


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=12, max_ops=90), st.integers(2, 12), st.integers(0, 3))
def test_resub_windows_are_the_python_windows(c, k, odc):
    from nandc.synth import kernels

    ctx = CostView(c)
    starts, dst = _fanout_csr(ctx)
    got = kernels.resub_windows(ctx.ands, ctx.f0, ctx.f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, k, odc, starts, dst)
    for i, v in enumerate(ctx.ands):
        leaves, nodes, maybe = got[i]
        w = window(v, ctx.f0, ctx.f1, k)
        assert (leaves, nodes) == (w.leaves, w.nodes)
        assert maybe == _python_flags(ctx, v, k, odc, starts, dst)


def test_resub_windows_keep_to_k_leaves_where_a_fanin_reconverges_inside_the_cone():
    """On this circuit a fanin of an expanded leaf was once expanded itself; the cut used to take
    it back as a leaf (10 leaves for k = 8).  Python's and the compiled windows keep to k leaves
    and agree."""
    from nandc.synth import kernels

    c = random_circuit(8, num_inputs=14, num_ops=208)
    ctx = CostView(c)
    assert max(len(reconvergent_cut(v, ctx.f0, ctx.f1, 8)) for v in ctx.ands) == 8
    starts, dst = _fanout_csr(ctx)
    for k in (6, 8):
        got = kernels.resub_windows(ctx.ands, ctx.f0, ctx.f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, k, 2, starts, dst)
        for i, v in enumerate(ctx.ands):
            w = window(v, ctx.f0, ctx.f1, k)
            assert got[i] == (w.leaves, w.nodes, _python_flags(ctx, v, k, 2, starts, dst))


@pytest.mark.parametrize("seed,cut_size,odc", [(5, 10, 2), (6, 6, 1), (7, 8, 3)])
def test_resub_replacements_are_the_python_ones(monkeypatch, seed, cut_size, odc):
    c = random_circuit(seed, num_inputs=20, num_ops=800)
    (ref, got) = _both(monkeypatch, lambda: resub_replacements(c, CostView(c), cut_size, odc_levels=odc))
    assert got == ref and ref  # the same replacements, and some were found


def test_adders_are_the_python_adders(monkeypatch):
    import random

    from nandc.ir.circuit import Circuit
    from nandc.synth.adders import adder_certificate, find_adders
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
    assert len(refactor_candidates(ctx, 10)) < len(ctx.ands)  # the filter skips some nodes


@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=8, max_ops=50))
def test_restructure_agrees_on_small_circuits(c):
    from nandc.passes.restructure import restructure

    with pytest.MonkeyPatch.context() as mp:
        (ref, _), (got, _) = _both(mp, lambda: restructure(c, {"guard": False, "max_nodes": 0}))
    assert got.structural_hash() == ref.structural_hash()


def test_cut_cone_limit_is_the_same_in_both_loops():
    """The compiled reconvergent cut stops at the same cone size as the Python one: on a chain of
    3000 levels over two inputs (where nothing else stops it) their resub windows agree."""
    from nandc.synth import factor, kernels
    from tests.passes.test_refactor import _long_chain

    assert kernels._MAX_CONE == factor.MAX_CONE
    c = _long_chain(3000)
    ctx = CostView(c)
    starts, dst = _fanout_csr(ctx)
    got = kernels.resub_windows(ctx.ands, ctx.f0, ctx.f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, 8, 2, starts, dst)
    for i, v in enumerate(ctx.ands):
        w = window(v, ctx.f0, ctx.f1, 8)
        assert got[i][:2] == (w.leaves, w.nodes)
