"""Convolutional logic layers compile to window kernels (or a flat circuit), bit-exact with torch."""

from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nandc  # noqa: E402
import nandc.nn as qnn  # noqa: E402
from nandc.errors import QuantizationError  # noqa: E402
from nandc.ir.program import Kernel, MaxPool, Window  # noqa: E402


def sequential(**layers):
    return torch.nn.Sequential(OrderedDict(layers))


def conv_model(padding=1, stride=1, dilation=1, pool=(2, 2, 0), thresholds=(0.3, 0.6), depth=2, seed=0,
               dense=None, residual=0.0):
    """Untrained random model: thresholds, two logic convolutions, OR pooling, a count head."""
    k, s, p = pool
    layers = dict(
        input=qnn.ThresholdInput(thresholds),
        conv1=qnn.LogicConv2d(len(thresholds), 4, 3, depth=depth, stride=stride, padding=padding,
                              dilation=dilation, init_std=3.0, residual=residual, seed=seed + 1),
        pool1=qnn.OrPool2d(k, s, p),
        conv2=qnn.LogicConv2d(4, 10, 3, depth=3, padding=1, init_std=3.0, seed=seed + 2),
        flatten=torch.nn.Flatten(),
    )
    if dense:
        layers["gates1"] = dense
    layers["groups"] = qnn.GroupSum(10, tau=2.0)
    return sequential(**layers).eval()


def images(n=48, side=9, seed=0):
    x = torch.rand((n, 1, side, side), generator=torch.Generator().manual_seed(seed))
    x[:4] = torch.tensor([0.3, 0.6, 0.0, 1.0]).view(4, 1, 1, 1)  # values at the thresholds themselves
    return x


def check_exact(model, x, staged, passes="O1", backend="reference"):
    compiled = nandc.compile(model, x[:1], passes=passes, staged=staged)
    with torch.no_grad():
        ref = model(x)
    out = compiled.run(x.numpy(), backend=backend)
    assert torch.equal(compiled.to_torch_output(out["logits"]), ref)
    assert np.array_equal(out["class"], ref.argmax(1).numpy())
    return compiled


@pytest.mark.parametrize("staged", [True, False])
@pytest.mark.parametrize("padding, stride, pool", [
    (1, 1, (2, 2, 0)), (0, 1, (2, 2, 0)), (2, 2, (2, 1, 1)), ((1, 0), (2, 1), (3, 2, 1)), (1, 1, (1, 1, 0)),
])
def test_random_conv_logic_models_compile_bit_exact(staged, padding, stride, pool):
    model = conv_model(padding, stride, pool=pool, seed=3)
    compiled = check_exact(model, images(), staged)
    assert compiled.staged == staged


def test_dilated_trees_compile_as_staged_programs():
    model = conv_model(padding=2, dilation=2, seed=5)
    compiled = check_exact(model, images(), staged=True)
    windows = [op.gather for op in compiled.program.ops if isinstance(op, Kernel) and isinstance(op.gather, Window)]
    assert Window(3, 1, 2, 2) in windows


def test_staged_program_has_one_kernel_per_logic_layer_and_pooling_is_data_movement():
    model = conv_model(seed=1)
    compiled = check_exact(model, images(), staged=True, backend="jit")
    kernels = compiled.program.kernels
    # thresholds -> channels (wires only), conv1, conv2, the count head
    assert [op.layer.split(".")[-1] for op in kernels] == ["input", "conv1", "conv2", "groups"]
    assert [type(op) for op in compiled.program.ops].count(MaxPool) == 1
    stages = compiled.program.stages
    assert stages[kernels[0].stage].netlist.num_gates == 0
    # a tree of depth d has at most 2**d - 1 gates per output channel; each NAND2-mapped gate costs at most 3
    conv1 = stages[kernels[1].stage].netlist.num_gates
    assert 0 < conv1 <= 4 * 3 * 3
    positions = [compiled.program.positions(op) for op in kernels]
    assert positions == [81, 81, 16, 1]
    assert compiled.gate_evaluations == sum(stages[op.stage].netlist.num_gates * p
                                            for op, p in zip(kernels, positions))


def test_staged_and_flat_programs_agree_and_survive_a_save(tmp_path):
    model = conv_model(seed=2, thresholds=(0.1, 0.4, 0.7))
    x = images(40, side=10, seed=1)
    staged = check_exact(model, x, staged=True)
    flat = check_exact(model, x, staged=False)
    assert np.array_equal(staged.run(x.numpy())["logits"], flat.run(x.numpy())["logits"])
    staged.save(tmp_path / "conv.nandc")
    loaded = nandc.load(tmp_path / "conv.nandc")
    assert np.array_equal(loaded.run(x.numpy())["logits"], staged.run(x.numpy())["logits"])


def test_hardened_model_with_dense_logic_layers_compiles_bit_exact():
    dense = qnn.LogicLayer(10 * 4 * 4, 30, seed=4)
    soft = conv_model(seed=6, dense=dense)
    model = qnn.harden(soft)
    assert isinstance(model.conv1, qnn.BooleanConv2d) and isinstance(model.gates1, qnn.BooleanLayer)
    x = images(32)
    for staged in (True, False):
        check_exact(model, x, staged)
    with torch.no_grad():  # an eval-mode LogicConv2d is already the hard layer
        assert torch.equal(soft.conv1(soft.input(x)), model.conv1(model.input(x)))


def test_a_model_left_in_training_mode_compiles_its_eval_mode():
    model = conv_model(seed=7, residual=2.0).train()
    compiled = nandc.compile(model, images()[:1], passes="O1", staged=True)
    assert model.training  # restored
    model.eval()
    with torch.no_grad():
        ref = model(images())
    assert torch.equal(compiled.to_torch_output(compiled.run(images().numpy())["logits"]), ref)


def test_threshold_input_must_read_the_float_input():
    model = sequential(scale=qnn.InputQuant(2, 0.25), input=qnn.ThresholdInput([0.5]), conv=qnn.LogicConv2d(1, 10, 3),
                       flatten=torch.nn.Flatten(), groups=qnn.GroupSum(10))
    with pytest.raises(QuantizationError, match=r"layer 'input' \(ThresholdInput\) must read the float model "
                                                r"input directly, found IntTensor; make it the model's first layer"):
        nandc.compile(model, images()[:1], staged=True)


def test_logic_convolution_refuses_multi_bit_codes():
    model = sequential(input=qnn.InputQuant(2, 0.25), conv=qnn.LogicConv2d(1, 10, 3),
                       flatten=torch.nn.Flatten(), groups=qnn.GroupSum(10))
    for staged in (True, False):
        with pytest.raises(QuantizationError, match=r"layer 'conv' reads 0/1 bits, but the output of 'input' is "
                                                    r"not 0/1 \(step 0.25"):
            nandc.compile(model, images()[:1], staged=staged)


def test_threshold_input_needs_images():
    model = sequential(input=qnn.ThresholdInput([0.5]), flatten=torch.nn.Flatten(), groups=qnn.GroupSum(2))
    with pytest.raises(QuantizationError, match=r"expects images \(C, H, W\) per sample, found shape \(8,\)"):
        nandc.compile(model, torch.zeros(1, 8), staged=False)
