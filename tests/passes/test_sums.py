"""sums: dense layers' outputs rebuilt as a shared base plus differences; equal on every input, never worse.

Two compressor trees that add the same inputs in different shapes are hard for a
SAT miter (no internal node of one equals a node of the other), so the proofs here
are exhaustive, on layers of up to 20 inputs; larger layers are compared by
random simulation at every density of ones.
"""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest

from nandc.errors import PassError
from nandc.ir import words
from nandc.ir.arith import linear_form
from nandc.ir.circuit import Circuit
from nandc.passes import run_pipeline
from nandc.passes.sums import SumsParams, plan_base, rebuild_words, sums
from nandc.synth.cost import nand_cost
from nandc.synth.equiv import check_equivalence
from nandc.synth.wordsums import WordSum, find_word_sums
from tests.dense import layered_sums


def _dense(n_in: int, n_out: int, coef, seed: int = 0, name: str = "dense") -> Circuit:
    """``n_out`` words ``sum_i coef(rng, i, k) * x_i + b_k`` over one input bus."""
    rng = random.Random(seed)
    c = Circuit(name)
    x = c.add_input_bus("x", n_in)
    for k in range(n_out):
        form = linear_form(c, [(lit, coef(rng, i, k)) for i, lit in enumerate(x)], rng.randint(-5, 5))
        c.set_output(f"y{k}", list(form.word.bits))
    return c


def _choice(weights):
    return lambda rng, i, k: rng.choice(weights)


def _exhaustive_equal(a: Circuit, b: Circuit) -> None:
    result = check_equivalence(a, b, method="exhaustive")
    assert result.equivalent, str(result)


def _density_equal(a: Circuit, b: Circuit, samples: int = 1 << 14) -> None:
    from nandc.ir.bits import pack_samples
    from nandc.ir.evaluate import simulate_circuit

    rng = np.random.default_rng(1)
    rows = (rng.random((samples, a.num_inputs)) < rng.random((samples, 1))).astype(np.uint8)
    x = pack_samples(rows)
    assert np.array_equal(simulate_circuit(a, x), simulate_circuit(b, x))


@pytest.mark.parametrize("n_in, seed", [(16, 0), (20, 3)])
def test_binary_layers_get_cheaper_and_stay_equal(n_in, seed):
    c = _dense(n_in, 8, _choice((-1, 1)), seed)
    out, stats = sums(c)
    assert stats.notes["groups"] == 1 and stats.notes["words"] >= 8
    assert nand_cost(out) < 0.9 * nand_cost(c)
    _exhaustive_equal(c, out)


def test_multibit_coefficients_share_their_common_part():
    # each input has a usual weight in -3..3; every output changes it by one on a fifth of the inputs
    usual = [random.Random(i).randint(-3, 3) for i in range(16)]

    def coef(rng, i, k):
        return usual[i] + (rng.choice((-1, 1)) if rng.random() < 0.2 else 0)

    c = _dense(16, 6, coef, seed=5)
    out, stats = sums(c)
    assert stats.notes["groups"] == 1
    assert nand_cost(out) < 0.9 * nand_cost(c)
    _exhaustive_equal(c, out)


def test_binary_layer_saving_is_large():
    # every output adds only its minority-sign inputs to the shared base: about a third of the bits
    c = _dense(96, 10, _choice((-1, 1)), seed=4)
    out, _ = sums(c)
    assert nand_cost(out) < 0.75 * nand_cost(c)
    _density_equal(c, out)


def test_nothing_to_share_is_left_unchanged():
    c = Circuit("one")
    x = c.add_input_bus("x", 20)
    c.set_output("y", list(words.popcount(c, x).bits))
    out, stats = sums(c)
    assert out is c and stats.notes["groups"] == 0
    other = _dense(14, 3, _choice((-3, 5, 7, -6)), seed=2)  # coefficients with no common value
    out, stats = sums(other)
    assert nand_cost(out) <= nand_cost(other)
    _exhaustive_equal(other, out)


@pytest.mark.parametrize("seed", range(6))
def test_random_small_layers_never_get_worse_and_stay_equal(seed):
    rng = random.Random(seed)
    weights = rng.choice([(-1, 1), (-1, 0, 1), (-2, -1, 1, 2), (1, 3), (-1, 1, 1, 1)])
    c = _dense(rng.randint(6, 14), rng.randint(2, 7), _choice(weights), seed)
    out, _ = sums(c)
    assert nand_cost(out) <= nand_cost(c)
    _exhaustive_equal(c, out)


def test_words_feeding_logic_and_each_other():
    # a comparison reads one word, and a second group's words read the first group's bits
    rng = random.Random(9)
    c = Circuit("chain")
    x = c.add_input_bus("x", 16)
    first = [linear_form(c, [(lit, rng.choice((-1, 1))) for lit in x], 0).word for _ in range(4)]
    mids = [b for w in first for b in w.bits[1:4]]
    second = [linear_form(c, [(lit, rng.choice((-1, 1))) for lit in mids], 1).word for _ in range(4)]
    flag = words.compare_const(c, first[0], 3, ">=")
    c.set_output("y", [b for w in second for b in w.bits] + [flag])
    out, stats = sums(c)
    assert stats.notes["groups"] >= 1
    assert nand_cost(out) < nand_cost(c)
    _exhaustive_equal(c, out)


def test_a_group_whose_leaves_need_its_own_roots_is_left_out():
    # the second word adds the first one's low bit: building them as one group would be a cycle
    c = Circuit("cycle")
    x = c.add_input_bus("x", 12)
    first = linear_form(c, [(lit, 1) for lit in x], 0).word
    second = linear_form(c, [(lit, 1) for lit in x[:8]] + [(first.bits[0], 4)], 0).word
    c.set_output("y", list(first.bits) + list(second.bits))
    found = [w for w in find_word_sums(c) if len(w.coef) >= 9]
    assert len(found) == 2 and first.bits[0] >> 1 in found[1].coef
    out = rebuild_words(c, [(found, plan_base(found)[0])])
    _exhaustive_equal(c, out)


def test_plan_base_takes_the_common_coefficient():
    a = WordSum({1: 1, 2: 1, 3: -1}, 0, 4, (2, 4, 6, 8))
    b = WordSum({1: 1, 2: -1, 3: -1}, 0, 4, (10, 12, 14, 16))
    c = WordSum({1: 1, 2: 1, 3: -1}, 0, 4, (18, 20, 22, 24))
    base, saving, signs = plan_base([a, b, c])
    assert signs == (1, 1, 1)
    assert base == {1: 1, 2: 1, 3: -1}
    # 9 signed digits before; after, the base's 3 and b's one difference (-2 on leaf 2), plus the
    # base's bits (a word of range -1..2) added to each of the three words
    width = words.word_type_for_range(-1, 2)[0]
    assert saving == 9 - (3 + 1) - 3 * width


def test_a_word_against_the_base_takes_it_negated():
    # four words of one pattern of signs, each with one sign flipped; the word finder reads the
    # ones with mostly negative coefficients as the bits of -1 - value (coefficients negated,
    # roots complemented), so the group has both orientations: those words take -B, complemented
    # bits and a constant, and every word adds only its one difference
    rng = random.Random(3)
    c = Circuit("negated")
    x = c.add_input_bus("x", 12)
    pattern = [rng.choice((-1, 1)) for _ in x]
    rows = [pattern[:k] + [-pattern[k]] + pattern[k + 1:] for k in range(4)]
    outs = [linear_form(c, list(zip(x, row)), k).word for k, row in enumerate(rows)]
    c.set_output("y", [b for w in outs for b in w.bits])
    found = [w for w in find_word_sums(c) if len(w.coef) == 12]
    assert len(found) == 4
    assert plan_base(found)[2] == (1, 1, 1, 1)  # from every word on +B: stuck, each side half the leaves
    base, saving, signs = plan_base(found, sides=True)
    assert sorted(set(signs)) == [-1, 1] and saving > 0
    assert [_digits_against(w, base, sign) for w, sign in zip(found, signs)] == [1, 1, 1, 1]
    _exhaustive_equal(c, rebuild_words(c, [(found, base, signs)]))


def _digits_against(w: WordSum, base: dict[int, int], sign: int) -> int:
    return sum(len(words.csd_digits(abs(a - sign * base.get(v, 0)))) for v, a in w.coef.items())


@pytest.mark.slow  # Yosys and recover
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_a_group_its_first_word_spoils_is_tried_without_it(tmp_path):
    # a Yosys 64x16 binary layer after recover: the layer's shared count is found as a word too,
    # heads the first group and makes it cost more than the circuit; without it the group pays
    from tests.foreign import yosys_layer

    c, _ = run_pipeline(yosys_layer(tmp_path, 64, 16), "cleanup;recover")
    out, stats = sums(c)
    assert stats.notes["groups"] == 1 and stats.notes["retried"] == 1
    assert nand_cost(out) < nand_cost(c)
    _density_equal(c, out)


def test_params_are_checked():
    with pytest.raises(PassError, match="overlap"):
        SumsParams(overlap=0)
    with pytest.raises(PassError, match="groups"):
        SumsParams(groups=0)
    c = _dense(16, 4, _choice((-1, 1)))
    out, stats = sums(c, {"max_nodes": 10})
    assert out is c and stats.notes["words"] == 0


@pytest.mark.slow  # runs -O3
def test_runs_in_a_pipeline_and_in_O3():
    c = _dense(20, 6, _choice((-1, 1)), seed=1)
    net, stats = run_pipeline(c, "cleanup;sums;sweep;nand")
    assert "sums" in [s.pass_name for s in stats]
    _exhaustive_equal(c, net.to_circuit())
    net3, stats3 = run_pipeline(c, "O3")
    assert any(s.pass_name == "sums" and s.notes["groups"] == 1 for s in stats3)
    _exhaustive_equal(c, net3.to_circuit())


def test_a_wrong_rebuild_is_caught(monkeypatch):
    import nandc.passes.sums as mod

    real = mod._build_group

    def off_by_one(c, group, base, lit_of, *signs):  # every word's low bit complemented
        return [(bits[0] ^ 1,) + tuple(bits[1:]) for bits in real(c, group, base, lit_of, *signs)]

    monkeypatch.setattr(mod, "_build_group", off_by_one)
    with pytest.raises(PassError, match="differs from its input"):
        sums(_dense(16, 4, _choice((-1, 1))))


@pytest.mark.slow  # runs -O3
def test_signed_multibit_activations_with_argmax_and_foreign_adders():
    # a layer over 2-bit signed activations (weight -2 on the sign bit), its outputs read by an argmax,
    # and one output summed by a foreign ripple-carry chain instead of nandc's compressor tree
    from tests.foreign import ripple_add

    rng = random.Random(11)
    c = Circuit("mixed")
    x = c.add_input_bus("x", 16)
    acts = [(x[2 * i], x[2 * i + 1]) for i in range(8)]
    outs = []
    for k in range(5):
        signs = [rng.choice((-1, 1)) for _ in acts]
        terms = [(lo, s) for (lo, _), s in zip(acts, signs)] + [(hi, -2 * s) for (_, hi), s in zip(acts, signs)]
        outs.append(words.to_signed(linear_form(c, terms, rng.randint(-3, 3)).word))
    signs = [rng.choice((0, 1)) for _ in range(16)]
    acc = [x[0] ^ signs[0]]
    for lit, s in zip(x[1:], signs[1:]):
        acc = ripple_add(c, acc, [lit ^ s])
    c.set_output("cls", list(words.argmax(c, outs).bits))
    c.set_output("y0", list(outs[0].bits))
    c.set_output("pop", list(acc))
    out, stats = sums(c)
    assert stats.notes["groups"] == 1 and nand_cost(out) < nand_cost(c)
    _exhaustive_equal(c, out)
    net, _ = run_pipeline(c, "O3")
    _exhaustive_equal(c, net.to_circuit())


@pytest.mark.parametrize("n_in, n_out, rebuilt", [(20, 6, True), (16, 48, False)])
def test_with_sweep_the_smaller_of_both_swept_circuits_is_kept(n_in, n_out, rebuilt):
    # sweeping merges equal partial sums of different words; on a wide layer that can beat the base
    from nandc.passes.sweep import sweep

    c = _dense(n_in, n_out, _choice((-1, 1)), 1)
    out, stats = sums(c, {"sweep": True})
    swept_input = nand_cost(sweep(c)[0])
    assert (stats.notes["groups"] == 1) == rebuilt
    assert stats.notes.get("swept_input_smaller", False) == (not rebuilt)
    assert nand_cost(out) < swept_input if rebuilt else nand_cost(out) == swept_input
    _exhaustive_equal(c, out)


def test_with_sweep_a_swept_input_is_not_swept_again(monkeypatch):
    from nandc.passes import sweep as sweep_module

    c = _dense(16, 48, _choice((-1, 1)), 1)
    swept, _ = sweep_module.sweep(c)
    assert sweep_module.swept(swept) and not sweep_module.swept(c)
    calls = []
    real = sweep_module.sweep
    monkeypatch.setattr(sweep_module, "sweep", lambda circuit, *a, **k: calls.append(circuit) or real(circuit, *a, **k))
    out, stats = sums(swept, {"sweep": True})
    assert swept not in calls and nand_cost(out) <= nand_cost(swept)
    _exhaustive_equal(c, out)
    sums(c, {"sweep": True})
    assert c in calls  # not swept: swept here


def test_a_circuit_grown_after_its_sweep_is_not_taken_for_swept():
    from nandc.passes.sweep import sweep, swept

    out, _ = sweep(_dense(8, 2, _choice((-1, 1)), 1))
    assert swept(out)
    out.and_(out.input_literals()[0], out.input_literals()[1] ^ 1)
    assert not swept(out)


def test_a_layer_whose_words_the_next_layer_adds_is_still_rebuilt():
    # the words of "fc1" are leaves of "fc2"'s words: parts of those across layers, words of their own within
    c, fc, (nxt,), _ = layered_sums(2, 16, 8, 1, skip_low=1)
    c.set_output("y", list(nxt.bits) + [w.bits[0] for w in fc])
    out, stats = sums(c)
    assert stats.notes["groups"] >= 1 and nand_cost(out) < nand_cost(c)
    _exhaustive_equal(c, out)


def test_with_sweep_each_layer_keeps_what_sweeps_smaller_in_it():
    # a narrow layer, where the base wins, beside a wide one over few inputs, where sweeping's sharing wins
    from nandc.passes.sweep import sweep

    rng = random.Random(0)
    c = Circuit("two layers")
    x, y = c.add_input_bus("x", 20), c.add_input_bus("y", 12)
    with c.layer("narrow"):
        narrow = [linear_form(c, [(lit, rng.choice((-1, 1))) for lit in x], rng.randint(-5, 5)).word
                  for _ in range(6)]
    with c.layer("wide"):
        wide = [linear_form(c, [(lit, rng.choice((-1, 1))) for lit in y], rng.randint(-5, 5)).word
                for _ in range(32)]
    for k, w in enumerate(narrow + wide):
        c.set_output(f"y{k}", list(w.bits))
    alone, plain = sums(c)
    assert plain.notes["groups"] == 2
    out, stats = sums(c, {"sweep": True})
    assert stats.notes["groups"] == 1
    assert nand_cost(out) < min(nand_cost(sweep(c)[0]), nand_cost(sweep(alone)[0]))
    _density_equal(c, out)
