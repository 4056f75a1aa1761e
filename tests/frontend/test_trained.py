"""Three small *trained* models: the circuit equals torch on every test sample.

Binary MLP and BitNet-style ternary MLP on scikit-learn digits, and a 4-bit
VGG-style CNN (conv-BN-ReLUQuant-MaxPool) on the 8x8 digit images.  Training
is short (the point is trained, non-random weights and BatchNorm statistics),
and every one of the 450 test samples must match.
"""

import pytest
import torch

from conftest import assert_bit_exact
from nandc.lab import datasets, zoo
from nandc.nn import training


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits(seed=0)


@pytest.fixture(scope="module")
def digit_images():
    return datasets.load_digits(seed=0, image=True)


def _train(model, ds, epochs):
    torch.manual_seed(0)
    training.fit(model, ds.x_train, ds.y_train, epochs=epochs, lr=1e-2, progress=False)
    return model


def _accuracies(model, compiled, ds):
    torch_acc = training.accuracy(training.torch_predict(model, ds.x_test).argmax(1).numpy(), ds.y_test)
    circuit_acc = training.accuracy(compiled.predict(ds.x_test, backend="reference"), ds.y_test)
    return torch_acc, circuit_acc


@pytest.mark.slow
def test_trained_binary_mlp(digits):
    torch.manual_seed(0)
    model = _train(zoo.binary_mlp(64, (48, 32), 10), digits, epochs=4)
    compiled = assert_bit_exact(model, digits.x_test)
    torch_acc, circuit_acc = _accuracies(model, compiled, digits)
    assert torch_acc == circuit_acc and torch_acc > 0.5


@pytest.mark.slow
def test_trained_ternary_mlp(digits):
    torch.manual_seed(0)
    model = _train(zoo.ternary_mlp(64, (24,), 10, input_bits=2), digits, epochs=4)
    compiled = assert_bit_exact(model, digits.x_test)
    torch_acc, circuit_acc = _accuracies(model, compiled, digits)
    assert torch_acc == circuit_acc and torch_acc > 0.5


@pytest.mark.slow
def test_trained_int4_cnn(digit_images):
    torch.manual_seed(0)
    model = _train(zoo.int4_cnn(1, 8, (4, 8), 10), digit_images, epochs=3)
    compiled = assert_bit_exact(model, digit_images.x_test)
    torch_acc, circuit_acc = _accuracies(model, compiled, digit_images)
    assert torch_acc == circuit_acc and torch_acc > 0.3
