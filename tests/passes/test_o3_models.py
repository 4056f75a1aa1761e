"""The example models' architectures, compiled with -O3, stay bit-exact with torch.

Small instances of the three example models (binary MLP, ternary MLP with
int8 absmax requantization, 4-bit CNN with thresholds and max pooling), with
random BatchNorm statistics so thresholds are not trivial; every output of
every sample must equal torch's.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nandc.lab import zoo  # noqa: E402


def _calibrate(model, shape, seed):
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(64, *shape))
    return model.eval()


def _assert_bit_exact(model, shape, passes="O3", samples=256, seed=0):
    import nandc

    x = torch.rand(samples, *shape, generator=torch.Generator().manual_seed(seed))
    compiled = nandc.compile(model, x[:1], passes=passes)
    with torch.no_grad():
        ref = model(x)
    out = compiled.run(x, backend="reference")
    got = compiled.to_torch_output(out["logits"])
    assert torch.equal(got, ref)
    assert np.array_equal(out["class"], ref.argmax(1).numpy())
    return compiled


@pytest.mark.slow
@pytest.mark.parametrize("name, build, shape", [
    ("binary_mlp", lambda: zoo.binary_mlp(64, (16,), 10), (64,)),
    ("ternary_mlp", lambda: zoo.ternary_mlp(8, (4,), 3, input_bits=2), (8,)),
    ("int4_cnn", lambda: zoo.int4_cnn(1, 4, (2, 2), 4), (1, 4, 4)),
])
def test_example_architectures_are_bit_exact_after_O3(name, build, shape):
    model = _calibrate(build(), shape, seed=1)
    o3 = _assert_bit_exact(model, shape, "O3")
    o1 = _assert_bit_exact(model, shape, "O1")
    assert o3.num_gates <= o1.num_gates
