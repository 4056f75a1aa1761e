"""nand_cost equals the lowering's gate count; node simulation agrees with the reference evaluator."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from nandc.ir.evaluate import simulate_circuit
from nandc.passes import lower_to_nand
from nandc.synth.cost import nand_cost, phase_use
from nandc.synth.simulation import PatternPool, level_plan, random_patterns, signature_keys, simulate_nodes
from tests.strategies import circuits, examples


@settings(max_examples=examples(200), deadline=None)
@given(circuits(max_inputs=12, max_ops=60))
def test_nand_cost_is_the_lowered_gate_count(c):
    assert nand_cost(c) == lower_to_nand(c)[0].num_gates


def test_remembered_nand_cost_follows_new_nodes_and_outputs():
    from nandc.ir.circuit import Circuit

    c = Circuit("t")
    x = c.add_input_bus("x", 3)
    c.set_output("y", [c.and_(x[0], x[1])])
    assert nand_cost(c) == lower_to_nand(c)[0].num_gates == 2  # NAND and its inverter
    c.set_output("y", [c.and_(x[0], x[1]) ^ 1])  # the outputs changed: no inverter now
    assert nand_cost(c) == lower_to_nand(c)[0].num_gates == 1
    c.set_output("y", [c.and_(c.and_(x[0], x[1]), x[2]) ^ 1])  # a node added
    assert nand_cost(c) == lower_to_nand(c)[0].num_gates == 3


@settings(max_examples=examples(100), deadline=None)
@given(circuits(max_inputs=12, max_ops=60))
def test_phase_use_counts_reads(c):
    use = phase_use(c)
    reads = [lit for n in c.and_nodes() if use.live[n] for lit in c.fanins(n)] + c.output_literals()
    assert use.pos.sum() + use.neg.sum() == len(reads)
    assert all(use.live[lit >> 1] for lit in reads)


@settings(max_examples=examples(100), deadline=None)
@given(circuits(max_inputs=12, max_ops=60))
def test_node_simulation_matches_the_evaluator(c):
    plan = level_plan(c)
    words = random_patterns(len(plan.inputs), 3, np.random.default_rng(1))
    vals = simulate_nodes(plan, words)
    outs = c.output_literals()
    got = np.array([vals[lit >> 1] ^ (np.uint64(0xFFFFFFFFFFFFFFFF) if lit & 1 else np.uint64(0)) for lit in outs],
                   dtype=np.uint64).reshape(len(outs), 3)
    rows = {node: i for i, node in enumerate(plan.inputs.tolist())}
    order = [rows[node] for node in c.inputs]
    assert np.array_equal(got, simulate_circuit(c, words[order], outs))
    keys, phase = signature_keys(vals)
    assert np.all((keys == 0) == ~(vals ^ (phase.astype(np.uint64) * np.uint64(0xFFFFFFFFFFFFFFFF))[:, None]).any(1))
    again, _ = signature_keys(~vals)
    assert np.array_equal(keys, again)  # a node and its complement share a key


def test_pattern_densities():
    words = random_patterns(2000, 8, np.random.default_rng(0))
    ones = [np.unpackbits(np.ascontiguousarray(words[:, w]).view(np.uint8)).mean() for w in range(8)]
    assert abs(ones[0] - 0.5) < 0.02 and ones[6] < 0.05 and ones[7] > 0.95


def _pattern_of(words: np.ndarray, j: int) -> list[bool]:
    """Pattern ``j`` of ``(num_inputs, k)`` pattern words: bit ``j % 64`` of word ``j // 64``."""
    return [bool((int(w) >> (j % 64)) & 1) for w in words[:, j // 64]]


def test_a_pattern_pool_holds_every_pattern_it_keeps():
    rng = np.random.default_rng(3)
    pool = PatternPool(capacity=100)
    rows = [rng.random(5) < 0.5 for _ in range(70)]
    pool.add(5, [{i: bool(v) for i, v in enumerate(r) if v} for r in rows[:30]])  # 0s left out
    pool.add(5, [dict(enumerate(r.tolist())) for r in rows[30:]])
    words = pool.words(5)
    assert words.shape == (5, 2) and words.dtype == np.uint64 and len(pool) == 70
    assert all(_pattern_of(words, j) == rows[j].tolist() for j in range(70))
    assert all(_pattern_of(words, j) == rows[j - 70].tolist() for j in range(70, 128))  # spare bits: the first ones again


def test_a_pattern_pool_keeps_the_newest_and_forgets_another_input_count():
    pool = PatternPool(capacity=3)
    pool.add(2, [{0: True}, {1: True}, {0: True, 1: True}, {}])
    assert len(pool) == 3 and _pattern_of(pool.words(2), 0) == [False, True]  # the first one is gone
    assert _pattern_of(pool.words(2), 2) == [False, False]
    assert pool.words(3).shape == (3, 0)  # nothing kept for another circuit
    pool.add(3, [{2: True}])
    assert len(pool) == 1 and pool.words(2).shape == (2, 0)
