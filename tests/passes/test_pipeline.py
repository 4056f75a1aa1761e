"""Pipeline strings: grammar, presets, fixpoint loops, parameters, progress, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.synth.equiv import check_equivalence
from nandc.ir.netlist import NandNetlist
from nandc.passes import PRESETS, parse_pipeline, run_pipeline
from nandc.synth.cost import nand_cost
from nandc.passes.pipeline import Loop, PassStep, parse_steps
from tests.strategies import circuits, examples


def names(text):
    return [p.name for p in parse_pipeline(text)]


def test_presets_end_with_the_lowering_and_grow():
    assert set(PRESETS) == {"O0", "O1", "O2", "O3"}
    for level in PRESETS:
        assert names(level)[-1] == names("-" + level)[-1] in ("nand", "map")
    assert names("O0") == ["nand"] and names("O1") == ["cleanup", "nand"]
    assert set(names("O2")) - {"nand"} <= set(names("O3"))  # O3 lowers by mapping


def test_grammar():
    steps = parse_steps("cleanup; (rewrite;sweep[rounds=1, seed=3])*4 ; balance* ; nand")
    assert [type(s) for s in steps] == [PassStep, Loop, Loop, PassStep]
    loop = steps[1]
    assert loop.limit == 4 and loop.fixpoint and [s.info.name for s in loop.steps] == ["rewrite", "sweep"]
    assert loop.steps[1].params == (("rounds", 1), ("seed", 3))
    assert steps[2].steps[0].info.name == "balance" and steps[2].limit == 8
    assert not parse_steps("(cleanup;balance);nand")[0].fixpoint
    assert names("cleanup;") == ["cleanup"]


@pytest.mark.parametrize("text, message", [
    ("", "empty pipeline ''; expected pass names separated by ';'"),
    ("nand;cleanup", "pipeline 'nand;cleanup': pass 'nand' produces a netlist and must come last"),
    ("(nand)*", "pipeline '(nand)*': pass 'nand' produces a netlist and cannot be repeated"),
    ("cleanup;;nand", "pipeline 'cleanup;;nand': expected a pass name, found ';'"),
    ("(cleanup", "pipeline '(cleanup': expected ')', found the end"),
    ("cleanup)", "pipeline 'cleanup)': unexpected ')' after the last step"),
    ("sweep[rounds]", "pipeline 'sweep[rounds]': expected '=', found ']'"),
    ("cleanup;nand!", "pipeline 'cleanup;nand!': unexpected character '!' at position 12"),
])
def test_syntax_errors(text, message):
    with pytest.raises(PassError) as err:
        parse_steps(text)
    assert str(err.value) == message


def test_unknown_pass_lists_the_registry():
    with pytest.raises(PassError) as err:
        parse_pipeline("cleanup;frobnicate")
    assert str(err.value).startswith("unknown pass 'frobnicate'; expected one of: andshare, balance, cleanup,")


def test_fractional_parameters_and_whole_repeat_counts():
    (step,) = parse_steps("sweep[min_duplicates=0.25]")
    assert step.params == (("min_duplicates", 0.25),)
    with pytest.raises(PassError, match=r"a repeat count must be a whole number, found '2\.5'"):
        parse_steps("rewrite*2.5")


def test_parameters_reach_the_pass():
    c = _redundant()
    _, stats = run_pipeline(c, "sweep[rounds=1,words=2]")
    assert stats[0].notes["rounds"] == 1
    with pytest.raises(PassError) as err:
        parse_steps("cleanup;sweep[bogus=1,rounds=2]")  # before any pass runs
    assert str(err.value) == (
        "pipeline 'cleanup;sweep[bogus=1,rounds=2]': pass 'sweep' has no parameter(s) 'bogus'; "
        "expected some of: words, rounds, window, conflicts, max_tries, seed, min_duplicates")
    with pytest.raises(PassError) as err:
        parse_steps("cleanup[x=1]")
    assert str(err.value) == "pipeline 'cleanup[x=1]': pass 'cleanup' has no parameter(s) 'x'; it takes none"


@settings(max_examples=examples(50), deadline=None)
@given(circuits(max_inputs=10, max_ops=40))
def test_every_preset_is_equivalent(c):
    for level in ("O0", "O1", "O2", "O3"):
        net, stats = run_pipeline(c, level)
        assert isinstance(net, NandNetlist) and stats[-1].pass_name in ("nand", "map")
        assert check_equivalence(c, net)


def test_fixpoint_loop_stops_and_keeps_the_cheapest():
    c = _redundant()
    seen = []
    out, stats = run_pipeline(c, "(rewrite;sweep)*5", on_stats=seen.append)
    assert isinstance(out, Circuit) and check_equivalence(c, out)
    assert seen == stats and 2 <= len(stats) <= 10 and len(stats) % 2 == 0
    assert nand_cost(out) == min(s.nand2_after for s in stats if s.pass_name == "rewrite")


def test_progress_reaches_passes_that_report():
    calls = []
    run_pipeline(_redundant(), "cleanup;sweep;nand", progress=lambda *a: calls.append(a[0]))
    assert calls and all(stage.startswith("sweep") for stage in calls)


def _redundant() -> Circuit:
    c = Circuit("r")
    a, b, d = c.add_input_bus("x", 3)
    c.set_output("y", [c.xor(c.xor(a, b), d), c.or_(c.and_(a, b), c.and_(a, b ^ 1))])
    return c


def test_a_loop_is_skipped_where_the_same_body_converged():
    c = _redundant()
    _, once = run_pipeline(c, "(rewrite;sweep)*3")
    _, twice = run_pipeline(c, "(rewrite;sweep)*3;(rewrite;sweep)*3")
    assert len(twice) == len(once)  # the second loop starts at the first one's fixpoint
    _, other = run_pipeline(c, "(rewrite;sweep)*3;(sweep;rewrite)*3")
    assert len(other) > len(once)  # a different body runs


def test_every_pass_has_typed_frozen_params_and_no_stored_callback():
    import dataclasses

    from nandc.passes import PASSES

    for info in PASSES.values():
        if info.params is None:
            assert info.param_names == ()
            continue
        assert dataclasses.is_dataclass(info.params) and info.params.__dataclass_params__.frozen, info.name
        assert "progress" not in info.param_names, info.name


def test_stats_carry_the_nand2_objective():
    c = _redundant()
    out, stats = run_pipeline(c, "cleanup;sweep;rewrite;nand")
    assert stats[0].nand2_before == nand_cost(c)
    for s, t in zip(stats, stats[1:]):
        assert t.nand2_before == s.nand2_after
    assert stats[-1].nand2_after == out.num_gates


def test_branches_and_snapshots_keep_structures_for_the_mapper(monkeypatch):
    """A branch {...} runs on the current circuit and keeps its result; the main line goes on
    with the circuit as it was; snapshot keeps the current circuit; map receives them, newest last."""
    from nandc.passes import pipeline
    from nandc.passes.base import PASSES
    from tests.strategies import random_circuit

    steps = parse_steps("cleanup;{sweep;balance};snapshot;map[choices=true]")
    assert isinstance(steps[1], pipeline.Branch) and [s.info.name for s in steps[1].steps] == ["sweep", "balance"]
    assert names("cleanup;{sweep;balance};map") == ["cleanup", "sweep", "balance", "map"]
    seen = {}
    real = PASSES["map"]

    def spy(circuit, params=None, progress=None, snapshots=()):
        seen["circuit"], seen["snapshots"] = circuit, snapshots
        return real.run(circuit, params, progress=progress, snapshots=snapshots)

    monkeypatch.setitem(PASSES, "map", pipeline.PassInfo("map", real.description, spy, "netlist", real.params,
                                                         True, {}, False, True))
    c = random_circuit(3, num_inputs=12, num_ops=200)
    cleaned, _ = run_pipeline(c, "cleanup")
    balanced, _ = run_pipeline(c, "cleanup;sweep;balance")
    net, stats = run_pipeline(c, "cleanup;{sweep;balance};snapshot;map[choices=true]")
    assert seen["circuit"].structural_hash() == cleaned.structural_hash()  # the branch left the main line alone
    assert [s.structural_hash() for s in seen["snapshots"]] == [balanced.structural_hash(), cleaned.structural_hash()]
    assert [s.pass_name for s in stats] == ["cleanup", "sweep", "balance", "snapshot", "map"]
    assert check_equivalence(c, net)
    many = ";".join(["snapshot"] * (pipeline.MAX_SNAPSHOTS + 2))
    run_pipeline(c, f"cleanup;{many};map")
    assert len(seen["snapshots"]) == pipeline.MAX_SNAPSHOTS


def test_one_pattern_pool_reaches_every_pass_that_asks_for_it(monkeypatch):
    """sweep, sums and map are handed the run's PatternPool, the same object each time and a new
    one in the next run; it holds the counterexamples of the run's sweeps."""
    import dataclasses

    from nandc.passes.base import PASSES
    from nandc.synth.simulation import PatternPool
    from tests.strategies import rare_detector

    assert {name for name, info in PASSES.items() if info.uses_patterns} == {"sweep", "sums", "map"}
    pools = []
    for name in ("sweep", "sums", "map"):
        real = PASSES[name]

        def spy(circuit, params=None, _real=real, **kwargs):
            pools.append((_real.name, kwargs["patterns"]))
            return _real.run(circuit, params, **kwargs)

        monkeypatch.setitem(PASSES, name, dataclasses.replace(real, run=spy))
    c = rare_detector()
    run_pipeline(c, "sweep;sums;sweep;map")
    assert [n for n, _ in pools] == ["sweep", "sums", "sweep", "map"]
    assert len({id(p) for _, p in pools}) == 1 and isinstance(pools[0][1], PatternPool)
    assert len(pools[0][1]) >= 1  # the first sweep's counterexample
    run_pipeline(c, "sweep")
    assert pools[-1][1] is not pools[0][1]


@pytest.mark.parametrize("text, message", [
    ("cleanup;{sweep;map}", "cannot run in a branch"),
    ("cleanup;{sweep", "expected '}'"),
    ("snapshot[x=1];nand", "has no parameter"),
])
def test_branch_errors(text, message):
    with pytest.raises(PassError, match=message):
        parse_steps(text)


def test_a_step_that_ran_on_an_equal_circuit_is_reused_not_rerun():
    """The branch ran sweep and the loop on the cleaned circuit; the main line's same steps on the same
    circuit reuse those results (passes are pure), so they appear once in the history; loops re-run their body."""
    from tests.strategies import random_circuit

    c = random_circuit(5, num_inputs=12, num_ops=200)
    out, stats = run_pipeline(c, "cleanup;{sweep;(rewrite;balance)*2};sweep;(rewrite;balance)*2;nand")
    ran = [s.pass_name for s in stats]
    assert ran.count("sweep") == 1 and ran[:2] == ["cleanup", "sweep"] and ran[-1] == "nand"
    alone, alone_stats = run_pipeline(c, "cleanup;sweep;(rewrite;balance)*2;nand")
    assert out.structural_hash() == alone.structural_hash()
    assert ran[:-1] == [s.pass_name for s in alone_stats][:-1]
    assert check_equivalence(c, out)


def test_runs_collect_garbage_sparsely_and_restore_the_collector(monkeypatch):
    import gc

    from nandc.passes import base, pipeline
    from nandc.passes.pipeline import GC_THRESHOLD, sparse_collections

    seen = []

    def probe(circuit, params=None):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        return circuit, base.pass_stats("_gc_probe", circuit, circuit, 0.0)

    monkeypatch.setitem(base.PASSES, "_gc_probe", base.PassInfo("_gc_probe", "the collector's settings", probe,
                                                               "circuit"))
    c = Circuit("t")
    x = c.add_input_bus("x", 2)
    c.set_output("y", [c.and_(x[0], x[1])])
    threshold, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    try:
        run_pipeline(c, "_gc_probe")
        assert seen[0][0] == max(threshold[0], GC_THRESHOLD) and seen[0][1] > 0
        assert gc.get_threshold() == threshold and gc.get_freeze_count() <= frozen_before  # thawed (or the caller's)
        # objects the caller froze stay frozen: the run neither freezes more nor thaws them
        gc.freeze()  # (more of them: a freeze count stays positive)
        frozen = gc.get_freeze_count()
        with sparse_collections():
            # (a frozen object may be freed meanwhile: the count can only fall, unless the run froze more)
            assert gc.get_freeze_count() <= frozen and not pipeline._GC_SETTING.saved[1]  # (the run froze nothing)
            run_pipeline(c, "_gc_probe")  # nested: leaves the outer settings alone
            assert gc.get_threshold()[0] == max(threshold[0], GC_THRESHOLD)
        assert 0 < gc.get_freeze_count() <= frozen and gc.get_threshold() == threshold
        # concurrent runs (threads) leave in any order: the last one out restores the settings
        first, second = sparse_collections(), sparse_collections()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert gc.get_threshold()[0] == max(threshold[0], GC_THRESHOLD)
        second.__exit__(None, None, None)
        assert gc.get_threshold() == threshold and 0 < gc.get_freeze_count() <= frozen
    finally:
        if not frozen_before:
            gc.unfreeze()
        gc.set_threshold(*threshold)


def test_runs_use_one_blas_thread_and_restore_the_librarys_own(monkeypatch):
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from nandc.passes import base
    from nandc.passes.pipeline import single_threaded_blas

    np.ones((4, 4), np.float32) @ np.ones((4, 4), np.float32)  # BLAS loaded and used

    def blas_threads():
        return sorted(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    seen = []

    def probe(circuit, params=None):
        seen.append(blas_threads())
        return circuit, base.pass_stats("_blas_probe", circuit, circuit, 0.0)

    monkeypatch.setitem(base.PASSES, "_blas_probe", base.PassInfo("_blas_probe", "BLAS threads", probe, "circuit"))
    c = Circuit("t")
    x = c.add_input_bus("x", 2)
    c.set_output("y", [c.and_(x[0], x[1])])
    with threadpool_limits(limits=2, user_api="blas"):  # two threads, whatever the machine's cores
        before = blas_threads()
        assert before and set(before) == {2}  # numpy's BLAS is there to limit
        run_pipeline(c, "_blas_probe")
        assert seen[-1] == [1] * len(before) and blas_threads() == before
        first, second = single_threaded_blas(), single_threaded_blas()  # concurrent runs leave in any order
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert blas_threads() == [1] * len(before)
        second.__exit__(None, None, None)
        assert blas_threads() == before
