"""from_difflogic: exact conversion of difflogic models (a pure-torch stand-in, and the vendored original)."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nandc  # noqa: E402
from nandc.nn import BooleanLayer, LogicConfigError, from_difflogic  # noqa: E402
from nandc.nn.difflogic_import import difflogic_to_truth_table  # noqa: E402
from nandc.nn.gate_functions import evaluate  # noqa: E402

from tests.nn import difflogic_standin as dl  # noqa: E402

ROWS = ((0, 0), (0, 1), (1, 0), (1, 1))


def test_gate_id_is_the_truth_table_with_its_bits_reversed():
    for i, op in enumerate(dl.OPERATORS):
        t = difflogic_to_truth_table(i)
        outputs = [int(op(torch.tensor(float(a)), torch.tensor(float(b)))) for a, b in ROWS]
        assert outputs == [evaluate(t, a, b) for a, b in ROWS], i
        # difflogic's table: the outputs at AB = 00, 01, 10, 11 are the bits of i, most significant first
        assert outputs == [int(c) for c in f"{i:04b}"], i
    assert difflogic_to_truth_table(14) == 7 and difflogic_to_truth_table(1) == 8  # NAND, AND
    assert sorted(difflogic_to_truth_table(i) for i in range(16)) == list(range(16))
    with pytest.raises(LogicConfigError, match=r"^a difflogic gate id is in 0\.\.15, found 16$"):
        difflogic_to_truth_table(16)


def random_model(seed, in_dim, widths, k, tau, flatten=False):
    gen = torch.Generator().manual_seed(seed)
    layers, width = [nn_flatten()] if flatten else [], in_dim
    for j, w in enumerate(widths):
        layer = dl.LogicLayer(width, w, seed=seed * 100 + j)
        with torch.no_grad():  # every one of the 16 gate ids occurs in every layer
            layer.weights[torch.arange(w), torch.arange(w) % 16] += 20.0 + torch.rand(w, generator=gen)
        layers.append(layer)
        width = w
    return torch.nn.Sequential(*layers, dl.GroupSum(k, tau)).eval()


def nn_flatten():
    return torch.nn.Flatten()


@pytest.mark.parametrize("seed, in_dim, widths, k, tau", [
    (0, 6, (32, 40), 4, 1.0), (1, 12, (48, 48, 30), 3, 10.0), (2, 9, (16,), 2, 0.25),
])
def test_converted_model_equals_difflogic_eval_on_bits_and_on_rounded_floats(seed, in_dim, widths, k, tau):
    model = random_model(seed, in_dim, widths, k, tau)
    conv = from_difflogic(model)
    ops = [m.ops for m in conv if isinstance(m, BooleanLayer)]
    assert all(set(o.tolist()) == set(range(16)) for o in ops)
    gen = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (300, in_dim), generator=gen).float()
    floats = torch.rand(300, in_dim, generator=gen)
    floats[:5] = 0.5  # ties round to 0 in both
    with torch.no_grad():
        assert torch.equal(conv(bits), model(bits))
        assert torch.equal(conv(floats), model(floats.round()))
    assert not conv.training


def test_compiled_predictions_equal_difflogic_on_every_sample():
    model = random_model(3, 10, (64, 60), 5, 2.0)
    conv = from_difflogic(model)
    x = torch.rand(1024, 10, generator=torch.Generator().manual_seed(7))
    compiled = nandc.compile(conv, x[:1], passes="O1")
    with torch.no_grad():
        ref = model(x.round())
    out = compiled.run(x.numpy(), backend="reference")
    assert torch.equal(compiled.to_torch_output(out["logits"]), ref)
    assert np.array_equal(out["class"], ref.argmax(1).numpy())
    assert len(set(ref.argmax(1).tolist())) > 1  # the test sees several classes


def test_exhaustive_inputs_every_gate_id_single_layer():
    """One layer whose gate j reads inputs (0, 1) and computes gate id j: exact on all four input rows."""
    layer = dl.LogicLayer(2, 16)
    layer.indices = torch.zeros(16, dtype=torch.int64), torch.ones(16, dtype=torch.int64)
    with torch.no_grad():
        layer.weights.copy_(torch.eye(16) * 5)
    model = torch.nn.Sequential(layer, dl.GroupSum(16, 1.0)).eval()
    conv = from_difflogic(model)
    x = torch.tensor(ROWS, dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(conv(x), model(x))
    compiled = nandc.compile(conv, x[:1], passes="O1")
    out = compiled.run(x.numpy(), backend="reference")
    assert torch.equal(compiled.to_torch_output(out["logits"]), model(x).detach())


def test_flatten_nested_sequential_and_single_layer():
    inner = torch.nn.Sequential(dl.LogicLayer(16, 40, seed=1), dl.LogicLayer(40, 20, seed=2))
    model = torch.nn.Sequential(torch.nn.Flatten(), inner, dl.GroupSum(2, 3.0)).eval()
    conv = from_difflogic(model)
    assert [n for n, _ in conv.named_children()] == ["input", "0", "1_0", "1_1", "2"]
    x = torch.randint(0, 2, (50, 1, 4, 4)).float()
    with torch.no_grad():
        assert torch.equal(conv(x), model(x))
    compiled = nandc.compile(conv, x[:1], passes="O1")
    out = compiled.run(x.numpy(), backend="reference")
    assert torch.equal(compiled.to_torch_output(out["logits"]), model(x).detach())
    single = dl.LogicLayer(5, 7, seed=4).eval()
    x = torch.randint(0, 2, (20, 5)).float()
    with torch.no_grad():
        assert torch.equal(from_difflogic(single)(x), single(x))


def test_wiring_is_not_in_difflogic_state_dict_but_is_in_the_converted_one():
    model = random_model(5, 8, (24,), 2, 1.0)
    assert set(model.state_dict()) == {"0.weights"}  # the caveat: no wiring
    conv = from_difflogic(model)
    assert {"0.index_a", "0.index_b", "0.ops"} <= set(conv.state_dict())


def test_errors_are_pinned():
    with pytest.raises(LogicConfigError, match=r"^from_difflogic converts an nn\.Sequential of difflogic "
                                                r"LogicLayer and GroupSum modules \(and Flatten / Identity\); "
                                                r"found ReLU at '1'$"):
        from_difflogic(torch.nn.Sequential(dl.LogicLayer(4, 4), torch.nn.ReLU()))
    bad = dl.LogicLayer(4, 4)
    bad.indices = bad.indices[0], bad.indices[1] + 10
    with pytest.raises(LogicConfigError, match=r"^difflogic layer 'model': BooleanLayer: index_b must lie in "
                                                r"0\.\.3, found 1[0-3]\.\.1[0-3]$"):
        from_difflogic(bad)
    short = dl.LogicLayer(4, 4)
    short.indices = short.indices[0][:3], short.indices[1]
    with pytest.raises(LogicConfigError, match=r"^difflogic layer '0': 4 gates but 3 and 4 indices$"):
        from_difflogic(torch.nn.Sequential(short))
    with pytest.raises(LogicConfigError, match=r"^from_difflogic: the model contains no difflogic LogicLayer$"):
        from_difflogic(torch.nn.Sequential(dl.GroupSum(2)))


VENDORED = Path(__file__).resolve().parents[2] / "benchmarks" / "third_party"


@pytest.mark.skipif(not (VENDORED / "difflogic").is_dir(), reason="vendored difflogic not present")
def test_vendored_difflogic_original_converts_exactly():
    sys.path.insert(0, str(VENDORED))
    try:
        import difflogic_cpu
    finally:
        sys.path.remove(str(VENDORED))
    difflogic = difflogic_cpu.load()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        difflogic.LogicLayer(20, 64, device="cpu", implementation="python"),
        difflogic.LogicLayer(64, 64, device="cpu", implementation="python", connections="unique"),
        difflogic.GroupSum(4, 2.0, device="cpu"),
    )
    with torch.no_grad():
        for layer in (model[1], model[2]):
            layer.weights[torch.arange(64), torch.arange(64) % 16] += 20.0  # all 16 gate ids
    model.eval()
    conv = from_difflogic(model)
    x = torch.rand(500, 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), difflogic_cpu.quiet():
        ref = model(x.round())
    assert torch.equal(conv(x), ref)
    compiled = nandc.compile(conv, x[:1], passes="O1")
    out = compiled.run(x.numpy(), backend="reference")
    assert torch.equal(compiled.to_torch_output(out["logits"]), ref)
    assert np.array_equal(out["class"], ref.argmax(1).numpy())
