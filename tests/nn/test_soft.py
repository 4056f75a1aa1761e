"""Soft logic layers: schedules, gate tables, relaxations, straight-through, penalty, hardening."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

import nandc.nn as qnn  # noqa: E402
from nandc.nn import (  # noqa: E402
    AnnealConfig, BooleanLayer, ConstantSchedule, CosineSchedule, ExponentialSchedule, GroupSum,
    LinearSchedule, LogicConfigError, LogicLayer, SoftNAND, anneal_fit, binarization_penalty, harden,
    is_hardened, logic_classifier, make_schedule, set_straight_through, set_temperature,
)
from nandc.nn import gate_functions as gates  # noqa: E402
from tests.strategies import examples  # noqa: E402

PROPERTY = settings(max_examples=examples(40), deadline=None)
BITS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


# ---------------------------------------------------------------------- schedules
def test_schedule_values_at_start_middle_end_and_beyond():
    exp = ExponentialSchedule(1.0, 0.05, 10)
    assert exp(0) == 1.0 and exp(10) == 0.05 and exp(25) == 0.05 and exp(-3) == 1.0
    assert exp(5) == pytest.approx(math.sqrt(0.05))
    assert exp(2.5) == pytest.approx(0.05 ** 0.25)
    lin = LinearSchedule(1.0, 0.05, 10)
    assert lin(5) == pytest.approx(0.525) and lin(10) == 0.05
    cos = CosineSchedule(1.0, 0.05, 10)
    assert cos(5) == pytest.approx(0.525)
    assert cos(2.5) == pytest.approx(0.05 + 0.95 * (1 + math.cos(math.pi / 4)) / 2)
    assert ConstantSchedule.of(0.3)(7) == 0.3
    assert make_schedule("cosine", 2.0, 1.0, 4) == CosineSchedule(2.0, 1.0, 4)


@PROPERTY
@given(kind=st.sampled_from(["exponential", "linear", "cosine"]),
       start=st.floats(0.01, 10), end=st.floats(0.01, 10), steps=st.integers(1, 50))
def test_schedules_move_monotonically_from_start_to_end(kind, start, end, steps):
    s = make_schedule(kind, start, end, steps)
    values = [s(t / 4) for t in range(4 * steps + 1)]
    assert values[0] == pytest.approx(start) and values[-1] == end
    diffs = np.diff(values) * np.sign(end - start)
    assert np.all(diffs >= -1e-12)


def test_schedule_errors_are_pinned():
    with pytest.raises(LogicConfigError, match=r"^ExponentialSchedule: start and end must be positive, "
                                                r"found start=1.0, end=0.0$"):
        ExponentialSchedule(1.0, 0.0, 10)
    with pytest.raises(LogicConfigError, match=r"^LinearSchedule: steps must be positive, found 0$"):
        LinearSchedule(1.0, 0.5, 0)
    with pytest.raises(LogicConfigError, match=r"^unknown schedule 'step'; expected one of constant, "
                                                r"exponential, linear, cosine$"):
        make_schedule("step", 1, 0, 1)


# ---------------------------------------------------------------------- gate tables
def test_truth_table_numbering_and_names():
    assert [gates.evaluate(gates.NAND_FN, a, b) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))] == [1, 1, 1, 0]
    assert [gates.evaluate(gates.XOR_FN, a, b) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))] == [0, 1, 1, 0]
    for t, name in ((gates.AND_FN, "AND"), (gates.OR_FN, "OR"), (gates.NAND_FN, "NAND"), (1, "NOR"),
                    (9, "XNOR"), (0, "0"), (15, "1"), (12, "a"), (10, "b"), (3, "~a"), (5, "~b")):
        assert gates.function_name(t) == name
    meaning = {
        "0": lambda a, b: 0, "NOR": lambda a, b: 1 - (a | b), "~a&b": lambda a, b: (1 - a) & b,
        "~a": lambda a, b: 1 - a, "a&~b": lambda a, b: a & (1 - b), "~b": lambda a, b: 1 - b,
        "XOR": lambda a, b: a ^ b, "NAND": lambda a, b: 1 - (a & b), "AND": lambda a, b: a & b,
        "XNOR": lambda a, b: 1 - (a ^ b), "b": lambda a, b: b, "~a|b": lambda a, b: (1 - a) | b,
        "a": lambda a, b: a, "a|~b": lambda a, b: a | (1 - b), "OR": lambda a, b: a | b, "1": lambda a, b: 1,
    }
    assert set(meaning) == set(gates.FUNCTION_NAMES)
    for t, name in enumerate(gates.FUNCTION_NAMES):
        assert [meaning[name](a, b) for a in (0, 1) for b in (0, 1)] == \
            [gates.evaluate(t, a, b) for a in (0, 1) for b in (0, 1)], name


def test_multilinear_coefficients_reproduce_every_table():
    for t in range(16):
        c0, c1, c2, c3 = gates.coefficients(t)
        for a in (0, 1):
            for b in (0, 1):
                assert c0 + c1 * a + c2 * b + c3 * a * b == gates.evaluate(t, a, b)


# ---------------------------------------------------------------------- soft gates
def fixed_nand(relaxation="multilinear", tau=1.0):
    """One SoftNAND gate wired to inputs 0 and 1 (candidates=1 draws a random wiring; force it)."""
    layer = SoftNAND(2, 1, candidates=1, tau=tau, relaxation=relaxation, seed=0)
    layer.pins.candidates.copy_(torch.tensor([[[0]], [[1]]]))
    return layer


@pytest.mark.parametrize("relaxation", ["multilinear", "sigmoid"])
@pytest.mark.parametrize("tau", [1.0, 0.2, 0.05])
def test_soft_nand_on_bits_is_the_seed_neuron(relaxation, tau):
    layer = fixed_nand(relaxation, tau)
    with torch.no_grad():
        y = layer(BITS).flatten()
    assert torch.allclose(y, torch.sigmoid((1.5 - BITS.sum(1)) / tau), atol=1e-6)


def test_soft_nand_relaxations_differ_off_the_corners_and_multilinear_tends_to_one_minus_ab():
    x = torch.tensor([[0.5, 0.5]])
    with torch.no_grad():
        assert fixed_nand("sigmoid", 0.01)(x).item() == pytest.approx(1.0)  # a threshold on a + b
        assert fixed_nand("multilinear", 0.01)(x).item() == pytest.approx(0.75, abs=1e-6)  # 1 - ab


def test_random_candidates_are_distinct_in_range_and_seeded():
    a, b = SoftNAND(10, 7, candidates=4, seed=5), SoftNAND(10, 7, candidates=4, seed=5)
    cand = a.pins.candidates
    assert cand.shape == (2, 7, 4) and int(cand.min()) >= 0 and int(cand.max()) < 10
    assert all(len(set(row)) == 4 for row in cand.reshape(-1, 4).tolist())
    assert torch.equal(cand, b.pins.candidates) and torch.equal(a.pins.logits, b.pins.logits)
    assert not torch.equal(cand, SoftNAND(10, 7, candidates=4, seed=6).pins.candidates)
    fixed = LogicLayer(10, 7, seed=1)  # difflogic default: one random candidate, nothing to learn
    assert fixed.pins.logits is None and [n for n, _ in fixed.named_parameters()] == ["function_logits"]
    assert SoftNAND(10, 7, candidates=50).pins.dense


def test_layer_parameter_errors_are_pinned():
    with pytest.raises(LogicConfigError, match=r"^SoftNAND: relaxation must be one of multilinear, sigmoid, "
                                                r"found 'tanh'$"):
        SoftNAND(4, 2, relaxation="tanh")
    with pytest.raises(LogicConfigError, match=r"^LogicLayer: tau must be a positive finite number, found 0.0$"):
        LogicLayer(4, 2, tau=0)
    with pytest.raises(LogicConfigError, match=r"^SoftNAND expects input of shape \(N, 4\), found \(3, 5\); "
                                                r"flatten the input first$"):
        SoftNAND(4, 2)(torch.zeros(3, 5))
    with pytest.raises(LogicConfigError, match=r"^GroupSum: 7 input features cannot be split into 2 equal groups$"):
        GroupSum(2)(torch.zeros(1, 7))
    with pytest.raises(LogicConfigError, match=r"^BooleanLayer: index_b must lie in 0\.\.2, found 0\.\.3$"):
        BooleanLayer(3, [0, 1], [3, 0], [7, 7])


@pytest.mark.parametrize("cls, candidates", [(SoftNAND, None), (SoftNAND, 3), (LogicLayer, 1), (LogicLayer, None)])
def test_straight_through_forward_is_the_hardened_layer_and_gradients_flow(cls, candidates):
    torch.manual_seed(0)
    layer = cls(6, 9, candidates=candidates, passthrough=True, seed=3)
    x = torch.randint(0, 2, (40, 6)).float()
    hard = layer.hardened()
    layer.straight_through = True
    layer.train()
    y = layer(x)
    assert torch.equal(y, hard(x))
    y.sum().backward()
    grads = [p.grad for p in layer.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_binarization_penalty_is_sum_y_one_minus_y_averaged_over_the_batch():
    torch.manual_seed(1)
    model = torch.nn.Sequential(SoftNAND(5, 4, seed=1), LogicLayer(4, 6, seed=2))
    x = torch.rand(8, 5)
    model.train()
    h = model[0](x)
    y = model[1](h)
    expected = (h * (1 - h)).sum(1).mean() + (y * (1 - y)).sum(1).mean()
    assert torch.allclose(binarization_penalty(model), expected)
    model.eval()
    model(x)
    assert binarization_penalty(model).item() == 0.0


def test_set_temperature_and_straight_through_reach_every_soft_layer():
    model = logic_classifier(10, (6, 4), 2, gate="nand")
    set_temperature(model, tau=0.07, select_tau=0.3)
    set_straight_through(model)
    layers = [model.gates1, model.gates2]
    assert [(m.tau, m.select_tau, m.straight_through) for m in layers] == [(0.07, 0.3, True)] * 2


# ---------------------------------------------------------------------- hardening
def test_harden_is_deterministic_and_leaves_the_soft_model_alone():
    torch.manual_seed(2)
    model = logic_classifier(12, (10, 8), 4, gate="logic", candidates=3)
    model.train()
    model(torch.rand(5, 12)).sum().backward()  # a pending penalty tensor must not break the copy
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a, b = harden(model), harden(model)
    assert is_hardened(a) and not is_hardened(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    clone = logic_classifier(12, (10, 8), 4, gate="logic", candidates=3, seed=99)
    clone.load_state_dict(model.state_dict())
    sc = harden(clone).state_dict()
    assert all(torch.equal(sa[k], sc[k]) for k in sa)


def test_harden_picks_the_most_likely_inputs_and_functions():
    layer = LogicLayer(4, 2, candidates=None, seed=0)
    with torch.no_grad():
        layer.pins.logits.zero_()
        layer.pins.logits[0, 0, 3] = 5  # gate 0, pin a -> input 3
        layer.pins.logits[1, 0, 2] = 5  # gate 0, pin b -> input 2
        layer.function_logits.zero_()
        layer.function_logits[0, gates.XOR_FN] = 1
        layer.function_logits[1, gates.AND_FN] = 1
    hard = harden(layer)
    assert isinstance(hard, BooleanLayer) and not hard.training
    assert hard.index_a.tolist() == [3, 0] and hard.index_b.tolist() == [2, 0]  # ties: first input
    assert hard.ops.tolist() == [gates.XOR_FN, gates.AND_FN]
    assert hard.function_counts() == {"XOR": 1, "AND": 1}


def test_boolean_layer_on_bits_computes_every_function_exactly():
    ops = list(range(16))
    layer = BooleanLayer(2, [0] * 16, [1] * 16, ops)
    y = layer(BITS)
    expected = torch.tensor([[gates.evaluate(t, a, b) for t in ops] for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))])
    assert torch.equal(y, expected.float())


def test_group_sum_counts_per_group_divided_by_tau():
    x = torch.tensor([[1.0, 1.0, 0.0, 1.0, 0.0, 0.0]])
    assert torch.equal(GroupSum(3, tau=2.0)(x), torch.tensor([[1.0, 0.5, 0.0]]))


# ---------------------------------------------------------------------- training
def test_anneal_fit_follows_the_schedule_and_ends_clean():
    torch.manual_seed(3)
    x = np.random.default_rng(0).random((64, 8)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    model = logic_classifier(8, (8, 4), 2, gate="nand")
    cfg = AnnealConfig(epochs=3, batch_size=16, tau=ExponentialSchedule(0.5, 0.05, 3),
                       select_tau=LinearSchedule(1.0, 0.5, 3), penalty=0.01, hard_epochs=1)
    seen = []
    model.gates1.register_forward_hook(lambda m, i, o: seen.append((m.tau, m.straight_through)))
    result = anneal_fit(model, x, y, cfg)
    assert [round(t, 6) for t, _ in seen[::4]] == [round(cfg.tau(e), 6) for e in range(3)]
    assert [s for _, s in seen] == [False] * 8 + [True] * 4
    assert model.gates1.tau == 0.05 and model.gates2.select_tau == 0.5
    assert not model.training and not model.gates1.straight_through
    assert (result.tau, result.select_tau, result.epochs) == (0.05, 0.5, 3)


def test_anneal_fit_errors_are_pinned():
    with pytest.raises(LogicConfigError, match=r"^anneal_fit: the model has no soft logic layer "):
        anneal_fit(torch.nn.Sequential(qnn.InputQuant(1, 1.0)), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(LogicConfigError, match=r"^AnnealConfig: hard_epochs must be in 0\.\.epochs \(2\), found 3$"):
        AnnealConfig(epochs=2, hard_epochs=3)
