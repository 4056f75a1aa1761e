"""Transformer language models: the fixed-point specification, and compiled == torch bit for bit."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
import torch

import nandc
from nandc.errors import BackendError, QuantizationError
from nandc.ir import fixedpoint
from nandc.nn.transformer import LanguageModel


# ---------------------------------------------------------------------- the written specification
def spec_attention(q, k, v, heads, shift, frac_bits, prob_bits):
    """The docstring of nandc.nn.transformer, step by step with Python integers and fractions."""
    t_len, width = len(q), len(q[0])
    dh = width // heads
    table = [round(Fraction(2 ** prob_bits) * Fraction(2) ** Fraction(-j, 2 ** frac_bits)) for j in range(2 ** frac_bits)]
    out = [[0] * width for _ in range(t_len)]
    for h in range(heads):
        cols = range(h * dh, (h + 1) * dh)
        for t in range(t_len):
            scores = [sum(q[t][d] * k[u][d] for d in cols) for u in range(t + 1)]
            top = max(scores)
            e = []
            for s in scores:
                z = (top - s) >> shift
                whole, part = z >> frac_bits, z % (2 ** frac_bits)
                e.append(table[part] >> whole if whole <= prob_bits else 0)
            den = sum(e)
            for d in cols:
                x = Fraction(sum(ei * v[u][d] for u, ei in enumerate(e)), den)
                fl = x.numerator // x.denominator
                rest = x - fl
                out[t][d] = fl + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and fl % 2) else 0)
    return out


@pytest.mark.parametrize("frac_bits, prob_bits", [(0, 4), (2, 6), (4, 8), (5, 10)])
def test_softmax_table_is_the_rounded_power_of_two(frac_bits, prob_bits):
    import math

    table = fixedpoint.softmax_table(frac_bits, prob_bits)
    for j, entry in enumerate(table.tolist()):
        real = 2 ** prob_bits * 2 ** (-j / 2 ** frac_bits)
        assert abs(entry - real) <= 0.5 and (entry == round(real) or math.isclose(abs(entry - real), 0.5))


def test_attention_equals_its_specification_exhaustively_on_small_widths():
    """Every q, k, v in {-2..2} for 2 tokens, 1 head of width 1, several temperatures and tables."""
    combos = np.array(list(itertools.product(range(-2, 3), repeat=6)))  # (15625, 6): q0 q1 k0 k1 v0 v1
    q, k, v = (combos[:, 2 * i: 2 * i + 2, None] for i in range(3))  # (N, T=2, width=1) each
    for shift, frac_bits, prob_bits in [(0, 0, 2), (0, 1, 3), (1, 2, 4), (2, 1, 2)]:
        got = fixedpoint.attention(q, k, v, 1, shift, frac_bits, prob_bits)
        for i in range(len(combos)):
            expected = spec_attention(q[i].tolist(), k[i].tolist(), v[i].tolist(), 1, shift, frac_bits, prob_bits)
            assert got[i].tolist() == expected, combos[i]


def test_attention_equals_its_specification_on_random_codes():
    rng = np.random.default_rng(0)
    for heads, dh, t in [(1, 3, 5), (2, 4, 6), (3, 2, 7)]:
        q, k, v = (rng.integers(-127, 128, size=(t, heads * dh)) for _ in range(3))
        for shift in (0, 5, 9):
            got = fixedpoint.attention(q[None], k[None], v[None], heads, shift, 4, 8)
            assert got[0].tolist() == spec_attention(q.tolist(), k.tolist(), v.tolist(), heads, shift, 4, 8)


# ---------------------------------------------------------------------- compiled == torch
def compile_lm(model, ids):
    model.eval()
    compiled = nandc.compile(model, ids[:1], passes="O1", staged=True)
    with torch.no_grad():
        ref = model(ids)
    out = compiled.run(ids, backend="reference")
    assert torch.equal(compiled.to_torch_output(out["logits"]), ref)
    assert np.array_equal(out["class"], ref.argmax(-1).numpy())
    return compiled, out


@pytest.mark.slow
@pytest.mark.parametrize("linear, layers, heads", [("ternary", 1, 1), ("ternary", 2, 2), ("mbok", 1, 2)])
def test_tiny_language_models_are_bit_exact(linear, layers, heads):
    torch.manual_seed(layers + heads)
    model = LanguageModel(vocab=13, d_model=16, layers=layers, heads=heads, context=8, linear=linear, kernels=2)
    ids = torch.randint(0, 13, (40, 8), generator=torch.Generator().manual_seed(1))
    ids[0] = 0  # every token the same: equal scores, ties in the softmax
    compiled, _ = compile_lm(model, ids)
    kinds = [type(op).__name__ for op in compiled.program.ops]
    assert kinds.count("Attention") == layers and kinds[0] == "Embed" and kinds[-1] == "Argmax"
    # q, k and v share one kernel (one absmax of the block input)
    assert kinds.count("Kernel") == 3 * layers + 1


@pytest.mark.slow
def test_mbok_sums_beyond_float32_stay_exact():
    """Trained MBOK scales make sums of more than 24 bits: eval runs in float64, so torch stays the spec."""
    torch.manual_seed(0)
    model = LanguageModel(vocab=23, d_model=32, layers=1, heads=2, context=16, linear="mbok", kernels=2)
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "s_in") and hasattr(layer, "latent"):
                layer.s_in.mul_(torch.exp(torch.randn_like(layer.s_in)) * 3)
                layer.s_out.mul_(torch.exp(torch.randn_like(layer.s_out)) * 3)
                so, si = layer.int_scales()
                assert int(so.abs().max()) * int(si.abs().max()) * 127 * layer.in_features > 2 ** 24
    ids = torch.randint(0, 23, (24, 16), generator=torch.Generator().manual_seed(2))
    compile_lm(model, ids)  # asserts compiled == torch eval on every position


@pytest.mark.slow
def test_language_model_runs_through_the_jit_and_a_file(tmp_path):
    torch.manual_seed(5)
    model = LanguageModel(vocab=11, d_model=16, layers=1, heads=2, context=6)
    ids = torch.randint(0, 11, (300, 6), generator=torch.Generator().manual_seed(2))
    compiled, ref = compile_lm(model, ids)
    jit = compiled.run(ids, threads=2)
    assert np.array_equal(jit["logits"], ref["logits"]) and np.array_equal(jit["class"], ref["class"])
    compiled.save(tmp_path / "lm.nandc")
    loaded = nandc.load(tmp_path / "lm.nandc")
    assert np.array_equal(loaded.run(ids.numpy(), backend="reference")["class"], ref["class"])
    report = compiled.report()
    assert "fixed-point attention" in "\n".join(report.movement)
    assert {r.layer for r in report.rows} >= {"blocks.0.q", "blocks.0.up", "blocks.0.down", "head"}


@pytest.mark.slow
def test_greedy_generation_through_the_netlists_equals_torch():
    from nandc.lab.zoo import generate_greedy

    torch.manual_seed(7)
    model = LanguageModel(vocab=9, d_model=16, layers=1, heads=2, context=8).eval()
    compiled = nandc.compile(model, torch.zeros(1, 8, dtype=torch.long), passes="O1", staged=True)
    for prompt in ([1], [3, 4, 5], [0, 8, 2, 2]):
        by_torch = generate_greedy(model, prompt, 8)
        by_netlists = generate_greedy(compiled, prompt, 8)
        assert by_torch == by_netlists and len(by_torch) == 8


def test_token_errors_are_pinned():
    model = LanguageModel(vocab=9, d_model=8, layers=1, heads=1, context=4)
    compiled = nandc.compile(model, torch.zeros(1, 4, dtype=torch.long), passes="O0", staged=True)
    with pytest.raises(BackendError) as err:
        compiled.run(np.array([[0, 1, 9, 2]]))
    assert str(err.value) == "token ids must lie in [0, 9), found [0, 9]"
    with pytest.raises(QuantizationError) as err:
        nandc.compile(model, torch.zeros(1, 4, dtype=torch.long), passes="O0", staged=False)
    assert str(err.value) == ("layer 'embed' (TokenEmbedding): language models compile only as staged programs, "
                              "one position per token; compile with staged=True (or --staged)")
    with pytest.raises(QuantizationError) as err:
        nandc.compile(model, torch.zeros(1, 5, dtype=torch.long), passes="O0", staged=True)
    assert str(err.value) == "layer 'embed': 5 tokens exceed its context of 4"


@pytest.mark.parametrize("t, dh, shift, frac_bits, prob_bits", [(1, 2, 0, 2, 4), (3, 2, 3, 2, 5), (4, 3, 7, 4, 8)])
def test_gate_level_attention_equals_the_specification(t, dh, shift, frac_bits, prob_bits):
    """One query position over t keys, as a circuit, against nandc.ir.fixedpoint.attention."""
    from nandc.frontend.attention import query_attention
    from nandc.ir.circuit import Circuit
    from nandc.ir.evaluate import evaluate
    from nandc.ir.words import Word

    c = Circuit("attention")
    bus = lambda name, n: [Word(tuple(c.add_input_bus(f"{name}{i}", 8, signed=True)), True)  # noqa: E731
                           for i in range(n)]
    q = bus("q", dh)
    keys = [bus(f"k{u}_", dh) for u in range(t)]
    values = [bus(f"v{u}_", dh) for u in range(t)]
    out = query_attention(c, q, keys, values, shift, frac_bits, prob_bits)
    c.set_output("o", [b for w in out for b in w.bits], (dh, 8), signed=True)
    rng = np.random.default_rng(t * 7 + dh)
    n = 300
    qs = rng.integers(-127, 128, size=(n, dh))
    ks, vs = rng.integers(-127, 128, size=(n, t, dh)), rng.integers(-127, 128, size=(n, t, dh))
    qs[:20] = 0  # equal scores: ties
    inputs = {f"q{i}": qs[:, i] for i in range(dh)}
    inputs.update({f"k{u}_{i}": ks[:, u, i] for u in range(t) for i in range(dh)})
    inputs.update({f"v{u}_{i}": vs[:, u, i] for u in range(t) for i in range(dh)})
    got = evaluate(c, inputs)["o"]
    q_seq = np.zeros((n, t, dh), dtype=np.int64)
    q_seq[:, -1] = qs  # the query sits at the last position; earlier queries do not matter
    expected = fixedpoint.attention(q_seq, ks, vs, 1, shift, frac_bits, prob_bits)[:, -1]
    assert np.array_equal(got, expected)


def test_nandc_run_reads_token_files(tmp_path):
    from nandc.cli import main

    torch.manual_seed(3)
    model = LanguageModel(vocab=7, d_model=8, layers=1, heads=1, context=5).eval()
    compiled = nandc.compile(model, torch.zeros(1, 5, dtype=torch.long), passes="O0", staged=True)
    compiled.save(tmp_path / "lm.nandc")
    ids = np.random.default_rng(0).integers(0, 7, size=(6, 5))
    np.save(tmp_path / "ids.npy", ids)
    assert main(["run", str(tmp_path / "lm.nandc"), "--inputs", str(tmp_path / "ids.npy"),
                 "-o", str(tmp_path / "next.npy"), "-q"]) == 0
    with torch.no_grad():
        expected = model(torch.from_numpy(ids)).argmax(-1).numpy()
    assert np.array_equal(np.load(tmp_path / "next.npy"), expected)  # the next token at every position
