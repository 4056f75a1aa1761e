"""sweep (SAT sweeping): equivalence, merging of equal nodes and constants, budgets, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.passes import PASSES, run_pipeline
from nandc.passes.base import size_of
from nandc.passes.sweep import SweepParams, sweep
from nandc.synth.simulation import PatternPool
from nandc.synth.fraig import DIFFERENT, EQUAL, RECYCLE_CALLS, UNKNOWN, ConeSolver, LocalProver, WindowSolver, _Strategy
from nandc.synth import fraig
from nandc.synth.simulation import level_plan, simulate_nodes
from tests.strategies import circuits, examples, random_circuit, rare_detector

EQUIVALENCE = settings(max_examples=examples(200), deadline=None)


@EQUIVALENCE
@given(circuits(max_inputs=12, max_ops=50))
def test_sweep_is_equivalent_and_never_larger(c):
    new, stats = sweep(c)
    new.verify()
    assert check_equivalence(c, new)
    assert size_of(new) == new.num_ands <= size_of(c)
    assert (stats.before, stats.after) == (size_of(c), new.num_ands)
    assert list(new.input_buses) == list(c.input_buses) and list(new.output_buses) == list(c.output_buses)
    live = c.reachable()
    assert {new.layer_of(n) for n in new.and_nodes()} <= {c.layer_of(n) for n in c.and_nodes() if live[n]}


def _xor_two_ways() -> Circuit:
    c = Circuit("two_xors")
    a, b = c.add_input_bus("x", 2)
    x1 = c.xor(a, b)  # ~(~(a & ~b) & ~(~a & b))
    t = c.nand(a, b)
    x2 = c.nand(c.nand(a, t), c.nand(b, t))  # the four-NAND form
    c.set_output("y", [x1, x2 ^ 1])
    return c


def test_equivalent_nodes_are_merged():
    c = _xor_two_ways()
    new, stats = sweep(c)
    assert check_equivalence(c, new)
    y = new.output_buses["y"].bits
    assert y[0] == y[1] ^ 1  # one node, both phases
    assert new.num_ands == 3 and stats.notes["proved"] + stats.notes["structural"] >= 1


def test_constant_nodes_become_constants():
    c = Circuit("const")
    a, b, d = c.add_input_bus("x", 3)
    zero = c.and_(c.and_(a, b), c.and_(d, c.and_(a ^ 1, b)))  # a & ~a inside: always 0
    one = c.or_(c.or_(a, b), c.and_(a ^ 1, b ^ 1))  # always 1
    c.set_output("y", [zero, one, c.and_(zero ^ 1, d)])
    new, _ = sweep(c)
    assert new.output_buses["y"].bits == (0, 1, new.input_buses["x"].bits[2])
    assert new.num_ands == 0


def _two_of_five_duplicated() -> Circuit:
    c = Circuit("dups")
    a, b = c.add_input_bus("x", 2)
    g1 = c.and_(a, b)
    g2 = c.and_(g1, a)  # a & b again: a duplicate of g1
    g3 = c.and_(a, b ^ 1)
    g4 = c.and_(a, c.or_(a, b))  # a: a duplicate of an input (the OR is a fifth AND node)
    c.set_output("y", [g2, g3, g4])
    return c


def test_min_duplicates_sweeps_only_a_circuit_that_much_duplicated():
    c = _two_of_five_duplicated()
    assert c.num_ands == 5
    same, stats = sweep(c, {"min_duplicates": 0.5})
    assert same is c and stats.notes["skipped"] and stats.notes["duplicates"] == 0.4
    new, stats = sweep(c, {"min_duplicates": 0.4})
    assert check_equivalence(c, new) and new.num_ands == 2 and stats.notes["duplicates"] == 0.4
    assert sweep(c)[0].structural_hash() == new.structural_hash()  # 0: always sweep, as before


def test_counterexamples_go_to_the_pool_and_later_sweeps_simulate_them():
    c = rare_detector()
    alone = [sweep(c)[1].notes["disproved"] for _ in range(3)]
    # without a pool, every sweep disproves the same look-alike (the lowest; a class with a failed
    # check is not checked again in that sweep)
    assert alone == [1, 1, 1]
    pool = PatternPool()
    first = sweep(c, patterns=pool)[1].notes
    assert first["disproved"] == 1 and len(pool) == 1
    # each later sweep sees the look-alikes the pool's patterns set to 1 for what they are
    rest = [sweep(c, patterns=pool)[1].notes for _ in range(c.num_ands)]
    assert rest[-1]["disproved"] == rest[-1]["sat_calls"] == 0 and len(pool) <= c.num_ands
    # a pipeline hands all its sweeps one pool
    _, history = run_pipeline(c, ";".join(["sweep"] * (c.num_ands + 1)))
    assert history[-1].notes["disproved"] == 0


def test_large_random_circuit_with_counterexample_rounds():
    c = random_circuit(7, num_inputs=40, num_ops=3000)
    new, stats = sweep(c, {"words": 1, "rounds": 3})
    assert check_equivalence(c, new, method="sat")
    assert stats.notes["rounds"] >= 1 and size_of(new) <= size_of(c)


@pytest.mark.parametrize("local", [True, False])
def test_window_solver_answers(local):
    c = _xor_two_ways()
    y = c.output_buses["y"].bits
    solver = WindowSolver(c, window=2, conflicts=100)
    if not local:
        solver.local = None
    assert solver.check(y[0], y[1] ^ 1)[0] == EQUAL
    verdict, cex = solver.check(y[0], c.input_buses["x"].bits[0])
    assert verdict == DIFFERENT and set(cex) == {n >> 1 for n in c.input_buses["x"].bits}
    a, b = (bool(cex[n >> 1]) for n in c.input_buses["x"].bits)
    assert (a != b) != a  # the assignment really distinguishes xor(a, b) from a
    assert solver.local_answers == (2 if local else 0) and solver.calls == (0 if local else 4)


def _node_values(c: Circuit, patterns: np.ndarray) -> np.ndarray:
    """Every node's value words under ``patterns`` (one row per input of ``input_literals``)."""
    plan = level_plan(c)
    return simulate_nodes(plan, patterns)


def _drawn_pairs(c: Circuit, data, count: int = 20):
    """Up to ``count`` pairs ``(x, y)`` of literals to compare: ``x`` of an AND node, ``y`` of any other node
    or a constant."""
    ands = [v for v in range(c.num_nodes) if c.fanin_views()[0][v]]
    for _ in range(count if ands else 0):
        x = 2 * data.draw(st.sampled_from(ands)) + data.draw(st.integers(0, 1))
        y = data.draw(st.sampled_from([0, 1] + [2 * v + p for v in range(1, c.num_nodes) for p in (0, 1)]))
        if x >> 1 != y >> 1:
            yield x, y


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=10, max_ops=80), st.data())
def test_local_proofs_and_counterexamples_are_right(c, data):
    """The local prover's verdicts against exhaustive simulation: EQUAL only for equal
    literals, DIFFERENT only with an assignment that tells them apart; twins built
    equal to AND nodes (``v`` as ``(v & a) | (a & b)`` for ``v = a & b``) are proved."""
    prover = LocalProver(leaves=data.draw(st.sampled_from([4, 6, 10])), compiled=False)  # (compiled: test_compiled_kernels)
    f0, f1 = c.fanin_views()
    twins = []
    for v in [v for v in range(c.num_nodes) if f0[v]][:5]:
        a, b = f0[v], f1[v]
        twins.append((c.or_(c.and_(2 * v, a), c.and_(a, b)), 2 * v))
    for w, v in twins:
        assert w == v or prover.check(c, w, v)[0] == EQUAL
        assert w == v or prover.check(c, w ^ 1, v)[0] != EQUAL
    n = c.num_inputs
    index = np.arange(max(64, 1 << n), dtype=np.uint64) % np.uint64(1 << n)  # pattern p: input i is bit i of p
    bits = (index[None, :] >> np.arange(n, dtype=np.uint64)[:, None]) & np.uint64(1)
    patterns = np.bitwise_or.reduce(bits.reshape(n, -1, 64) << np.arange(64, dtype=np.uint64), axis=2)
    values = _node_values(c, patterns)
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    used = (1 << n) if n < 6 else 64
    care = np.uint64((1 << used) - 1) if used < 64 else ones

    def value(lit):
        v = values[lit >> 1] ^ (ones if lit & 1 else np.uint64(0))
        return v & care

    for x, y in _drawn_pairs(c, data):
        verdict, cex = prover.check(c, x, y)
        if verdict == EQUAL:
            assert np.array_equal(value(x), value(y))
        elif verdict == DIFFERENT:
            inputs = [lit >> 1 for lit in c.input_literals()]
            assert set(cex) <= set(inputs)
            index = sum(int(cex.get(u, False)) << i for i, u in enumerate(inputs))
            word, bit = divmod(index, 64)

            def bit_of(lit):
                return (((int(values[lit >> 1][word]) >> bit) & 1) if lit >> 1 else 0) ^ (lit & 1)

            assert bit_of(x) != bit_of(y)


def _xors_two_ways(n: int = 12, count: int = 16, seed: int = 5) -> Circuit:
    """``count`` random three-input XORs and majorities, each built twice, differently."""
    rng = np.random.default_rng(seed)
    c = Circuit("twice")
    xs = c.add_input_bus("x", n)
    outs = []
    for _ in range(count):
        a, b, d = (xs[i] for i in rng.choice(n, 3, replace=False))
        outs.append(c.xor(c.xor(a, b), d))
        t = c.nand(a, b)
        ab = c.nand(c.nand(a, t), c.nand(b, t))  # xor(a, b), the four-NAND form
        outs.append(c.or_(c.and_(ab, d ^ 1), c.and_(ab ^ 1, d)))
        outs.append(c.maj(a, b, d))
        outs.append(c.or_(c.and_(a, c.or_(b, d)), c.and_(b, d)))
    c.set_output("y", outs)
    return c


def test_the_local_prover_spares_sat_calls_and_changes_no_merge(monkeypatch):
    c = _xors_two_ways()
    assert c.num_ands < 400  # the Python loops (the fast lane does not load the compiled ones)
    local, with_local = sweep(c)
    monkeypatch.setattr(fraig, "LOCAL_LEAVES", 0)  # 0: no local proofs
    plain, without = sweep(c)
    assert local.structural_hash() == plain.structural_hash() and check_equivalence(c, local)
    assert with_local.notes["proved"] == without.notes["proved"] > 0
    assert with_local.notes["sat_calls"] < without.notes["sat_calls"]


def _swept_both_ways(c, params):
    """``sweep`` of ``c`` copying lazily and eagerly: ``(lazy, lazy notes, eager, eager notes)``."""
    import nandc.passes.sweep as sweep_module

    lazy, s1 = sweep(c, params)
    sweep_module.LAZY_COPY = False
    try:
        eager, s2 = sweep(c, params)
    finally:
        sweep_module.LAZY_COPY = True
    return lazy, s1.notes, eager, s2.notes


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=12, max_ops=120))
def test_the_lazy_copy_is_the_eager_copy_node_for_node(c):
    for params in ({"words": 1}, {"words": 1, "window": 2, "max_tries": 1}, None):
        lazy, n1, eager, n2 = _swept_both_ways(c, params)
        assert n1 == n2  # the same checks, verdicts and merges
        assert all((x == y).all() for x, y in zip(lazy.arrays(), eager.arrays()))
        assert lazy.layer_names == eager.layer_names and lazy.output_buses == eager.output_buses


def test_the_lazy_copy_starts_at_the_first_merge_and_copies_nothing_without_one():
    c = random_circuit(5, num_inputs=30, num_ops=2500)
    lazy, n1, eager, n2 = _swept_both_ways(c, {"words": 1})
    assert n1 == n2 and n1["proved"] + n1["structural"] > 0
    assert all((x == y).all() for x, y in zip(lazy.arrays(), eager.arrays()))
    import nandc.passes.sweep as sweep_module
    from nandc.passes.sweep import _signatures
    from nandc.synth.simulation import random_patterns
    import numpy as np

    patterns = random_patterns(len(lazy.input_literals()), 8, np.random.default_rng(0))
    again = sweep_module._sweep_round(lazy, patterns, SweepParams(), 1)
    assert again.circuit is lazy and again.proved == 0  # nothing merged: no copy was made


def test_a_recycling_cone_solver_empties_itself_only_after_enough_queries():
    c = random_circuit(11, num_inputs=12, num_ops=400)
    y = c.output_literals()
    keep = ConeSolver(c, conflicts=1000)
    cycle = ConeSolver(c, conflicts=1000, recycle=20)
    held = []
    for i in range(3 * RECYCLE_CALLS):
        x, t = y[i % len(y)], y[(7 * i + 3) % len(y)]
        assert cycle.check(x, t)[0] == keep.check(x, t)[0]  # the same verdicts
        held.append(len(cycle.var))
    # it grew past its size, then was emptied once every RECYCLE_CALLS queries, never sooner
    drops = [i for i in range(1, len(held)) if held[i] < held[i - 1]]
    assert drops and all(b - a >= RECYCLE_CALLS for a, b in zip([0] + drops, drops))
    assert max(len(keep.var), 1) >= max(held)
    # a solver whose queries ran out of their budget keeps what it learned: it is not emptied
    before = len(cycle.var)
    cycle.since_reset, cycle.undecided = RECYCLE_CALLS, RECYCLE_CALLS // 50
    cycle.check(y[0], y[1])
    assert len(cycle.var) >= before
    cycle.undecided = 0
    cycle.check(y[2], y[3])
    assert len(cycle.var) < before


def _run_block(strategy: _Strategy, successes: int) -> None:
    """One block of tries with ``successes`` of them successful (every request wanted)."""
    for i in range(_Strategy.BLOCK):
        assert strategy.wanted()
        strategy.record(i < successes)


def _skipped(strategy: _Strategy) -> int:
    """How many requests in a row the strategy now declines."""
    n = 0
    while not strategy.wanted():
        n += 1
    return n


def test_strategy_is_judged_on_its_recent_record():
    s = _Strategy()
    for _ in range(100):  # a long good history (a model's early layers: easy proofs)
        _run_block(s, successes=_Strategy.BLOCK)
    _run_block(s, successes=_Strategy.BLOCK // 8 - 1)  # then a poor block: paused at once
    assert _skipped(s) == _Strategy.FIRST_PAUSE
    _run_block(s, successes=0)  # tried again after the pause: still poor, so twice as long
    assert _skipped(s) == 2 * _Strategy.FIRST_PAUSE
    _run_block(s, successes=_Strategy.BLOCK // 8)  # a good block (one in eight) resets the pause
    assert _skipped(s) == 0
    _run_block(s, successes=0)
    assert _skipped(s) == _Strategy.FIRST_PAUSE
    _run_block(s, successes=0)
    assert _skipped(s) == 2 * _Strategy.FIRST_PAUSE
    _run_block(s, successes=0)  # the third poor block in a row: never again
    assert not any(s.wanted() for _ in range(100 * _Strategy.FIRST_PAUSE))


def test_full_cones_are_paused_then_tried_again():
    c = _xor_two_ways()
    y = c.output_buses["y"].bits
    solver = WindowSolver(c, window=2, conflicts=100)
    solver.local = None  # (it would prove this pair)
    solver.window_tries, solver.window_answers = 64, 0  # the windows have given up: every query goes to the cones
    calls = []

    class Hopeless:  # full cones that never decide
        def check(self, x, t):
            calls.append((x, t))
            return UNKNOWN, None

        def close(self):
            pass

    solver.cones = Hopeless()
    block, pause = _Strategy.BLOCK, _Strategy.FIRST_PAUSE
    verdicts = [solver.check(y[0], y[1] ^ 1)[0] for _ in range(block + pause + block)]
    assert verdicts == [UNKNOWN] * len(verdicts)
    assert len(calls) == 2 * block  # a poor block, the pause, then one more block


@pytest.mark.parametrize("local", [True, False])
def test_windows_are_judged_sooner_when_local_proofs_come_first(local, monkeypatch):
    c = _xor_two_ways()
    y = c.output_buses["y"].bits
    solver = WindowSolver(c, window=2, conflicts=100)
    windows = []

    class Silent:  # local proofs and full cones that never decide
        def check(self, *args):
            return UNKNOWN, None

        def close(self):
            pass

    solver.local = Silent() if local else None
    solver.cones = Silent()
    monkeypatch.setattr(solver, "_window_check", lambda x, t: windows.append(x) or (UNKNOWN, None))
    for _ in range(100):
        solver.check(y[0], y[1] ^ 1)
    assert len(windows) == (fraig.LOCAL_TRIAL_TRIES if local else fraig.TRIAL_TRIES)


def test_registered_with_parameters():
    info = PASSES["sweep"]
    assert info.produces == "circuit" and "rounds" in info.param_names and info.params is SweepParams
    assert info.progress and "progress" not in info.param_names  # a callback, never a frozen parameter


def test_unknown_parameter_is_an_error():
    with pytest.raises(PassError) as err:
        sweep(_xor_two_ways(), {"round": 2})
    assert str(err.value) == (
        "pass 'sweep': unknown parameter(s) 'round'; expected some of: "
        "words, rounds, window, conflicts, max_tries, seed, min_duplicates"
    )
    with pytest.raises(PassError, match=r"min_duplicates must be 0\.\.1, found 1\.5"):
        sweep(_xor_two_ways(), {"min_duplicates": 1.5})


def test_progress_is_reported():
    seen = []
    sweep(random_circuit(3, 10, 200), SweepParams(), progress=lambda *a: seen.append(a))
    assert seen and seen[0][0] == "sweep round 1" and all(done <= total for _, done, total in seen)


def _exhaustive_values(c: Circuit):
    """Every node's values over every input pattern (input ``i`` is bit ``i`` of the pattern) and a
    function giving literal ``lit``'s value on the pattern an assignment ``{input node: bool}`` makes."""
    n = c.num_inputs
    index = np.arange(max(64, 1 << n), dtype=np.uint64) % np.uint64(1 << n)
    bits = (index[None, :] >> np.arange(n, dtype=np.uint64)[:, None]) & np.uint64(1)
    patterns = np.bitwise_or.reduce(bits.reshape(n, -1, 64) << np.arange(64, dtype=np.uint64), axis=2)
    values = _node_values(c, patterns)
    inputs = [lit >> 1 for lit in c.input_literals()]

    def at(lit, cex):
        word, bit = divmod(sum(int(cex.get(u, False)) << i for i, u in enumerate(inputs)), 64)
        return (((int(values[lit >> 1][word]) >> bit) & 1) if lit >> 1 else 0) ^ (lit & 1)

    return values, at


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=10, max_ops=80), st.data())
def test_stop_cut_verdicts_are_right(c, data):
    """Over a cut that stops at arbitrary nodes, with the leaf values SAT proves impossible: EQUAL only
    for equal literals, DIFFERENT only with an assignment that tells them apart (exhaustive simulation)."""
    import nandc.synth.kernels  # noqa: F401  (the compiled loops: stop cuts have no Python loop)

    f0, f1 = c.fanin_views()
    twins = []
    for v in [v for v in range(c.num_nodes) if f0[v]][:5]:  # built equal to AND nodes: proved or undecided
        a, b = f0[v], f1[v]
        twins.append((c.or_(c.and_(2 * v, a), c.and_(a, b)), 2 * v))
    solver = WindowSolver(c, 32, 1000)
    assert solver.local is not None and solver.local.compiled
    solver.stops = np.array(data.draw(st.lists(st.booleans(), min_size=c.num_nodes, max_size=c.num_nodes)), dtype=bool)
    for w, v in twins:
        assert w == v or solver._stop_check(w, v)[0] != DIFFERENT
        assert w == v or solver._stop_check(w ^ 1, v)[0] != EQUAL
    values, at = _exhaustive_values(c)
    n = c.num_inputs
    care = np.uint64((1 << (1 << n)) - 1) if n < 6 else np.uint64(0xFFFFFFFFFFFFFFFF)
    for x, y in _drawn_pairs(c, data):
        verdict, cex = solver._stop_check(x, y)
        if verdict == EQUAL:
            vx, vy = (values[lit >> 1] ^ np.uint64(0xFFFFFFFFFFFFFFFF if lit & 1 else 0) if lit >> 1 else
                      np.full(values.shape[1], np.uint64(0xFFFFFFFFFFFFFFFF if lit & 1 else 0)) for lit in (x, y))
            assert np.array_equal(vx[:1] & care, vy[:1] & care) and np.array_equal(vx[1:], vy[1:])
        elif verdict == DIFFERENT:
            assert at(x, cex) != at(y, cex)
    solver.close()


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=10, max_ops=80), st.data())
def test_stop_diff_lists_every_value_where_the_tables_differ(c, data):
    """The compiled stop cut's minterms are exactly the values of its leaves on which the two literals'
    tables (over those leaves, in Python) differ, in increasing order; None only for more than
    MAX_MINTERMS of them (or a cut too large)."""
    from nandc.synth.factor import cone_table

    import nandc.synth.kernels  # noqa: F401

    f0, f1 = c.fanin_views()
    stops = np.array(data.draw(st.lists(st.booleans(), min_size=c.num_nodes, max_size=c.num_nodes)), dtype=bool)
    local = LocalProver(compiled=True)
    for x, y in _drawn_pairs(c, data):
        got = local.stop_diff(c, x, y, stops)
        if got is None:
            continue
        leaves, minterms = got
        mask = (1 << (1 << len(leaves))) - 1
        tx, ty = ((cone_table(lit >> 1, tuple(leaves), f0, f1) if lit >> 1 else 0) ^ (mask if lit & 1 else 0)
                  for lit in (x, y))
        d = tx ^ ty
        assert minterms == [m for m in range(1 << len(leaves)) if (d >> m) & 1]
        assert len(minterms) <= fraig.MAX_MINTERMS


def test_stop_diff_gives_up_beyond_max_minterms():
    """A parity of seven inputs against its complement differs on all 128 values of the leaves: too many
    to ask about one by one.  Two literals over three inputs: every value where they differ listed."""
    import nandc.synth.kernels  # noqa: F401

    c = Circuit("many")
    x = c.add_input_bus("x", 7)
    parity = x[0]
    for lit in x[1:]:
        parity = c.xor(parity, lit)
    a = c.xor(c.and_(x[0], x[1]), x[2])
    b = c.and_(c.and_(x[0], x[1]), x[2])
    c.set_output("y", [parity, a, b])
    stops = np.zeros(c.num_nodes, dtype=bool)
    local = LocalProver(compiled=True)
    assert local.stop_diff(c, parity, parity ^ 1, stops) is None
    leaves, minterms = local.stop_diff(c, parity, parity, stops)
    assert len(leaves) == 7 and minterms == []
    assert local.stop_diff(c, a, b, stops) == ([x[0] >> 1, x[1] >> 1, x[2] >> 1], [3, 4, 5, 6, 7])


def _below_the_maximum(words: int = 12, width: int = 2) -> Circuit:
    """Words and their maximum; per word, whether it exceeds the maximum (never) and whether it
    equals it, built twice: as ``w >= top`` and as ``not (w < top)`` (equal given ``w <= top`` only)."""
    from nandc.ir import words as W

    c = Circuit("below")
    ws = [W.Word(tuple(c.add_input_bus(f"x{j}", width)), False) for j in range(words)]
    top = W.maximum_many(c, ws)
    over = [W.compare(c, w, top, ">") for w in ws]
    reach = [W.compare(c, w, top, ">=") for w in ws] + [W.compare(c, w, top, "==") for w in ws]
    c.set_output("y", over + reach)
    return c


def test_stop_cuts_prove_what_rests_on_signals_read_all_over(monkeypatch):
    from nandc.passes import sweep as sweep_module

    c = _below_the_maximum()
    answers = []
    real = WindowSolver._stop_check

    def counted(self, x, y):
        got = real(self, x, y)
        answers.append(got[0])
        return got

    monkeypatch.setattr(WindowSolver, "_stop_check", counted)
    monkeypatch.setattr(sweep_module, "STOP_FANOUT", 6)  # the maximum's bits: read by every comparison
    import nandc.synth.kernels  # noqa: F401  (the compiled loops, on a small circuit)

    out, stats = sweep(c)
    assert check_equivalence(c, out, method="sat")
    y = out.output_buses["y"].bits
    assert all(lit == 0 for lit in y[:12])  # no word exceeds the maximum
    assert EQUAL in answers and stats.notes["proved"] > 0
    assert len(set(y[12:24]) | set(y[24:])) < 24  # ">=" and "==" merged: equal below the maximum
