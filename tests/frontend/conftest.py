import numpy as np
import pytest

torch = pytest.importorskip("torch")


def randomize_batchnorm(model, seed=0, negative_fraction=0.3):
    """Give every BatchNorm random running stats and some negative gammas."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 3)
                m.running_var.copy_(torch.rand(n, generator=gen) * 5 + 0.1)
                sign = torch.where(torch.rand(n, generator=gen) < negative_fraction, -1.0, 1.0)
                m.weight.copy_(sign * (torch.rand(n, generator=gen) + 0.2))
                m.bias.copy_(torch.randn(n, generator=gen))
    return model


def assert_bit_exact(model, x, passes="O1"):
    """Compile ``model`` and check circuit == torch on every sample of ``x``; returns the CompiledModel."""
    import nandc

    model.eval()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    compiled = nandc.compile(model, xt[:1], passes=passes)
    with torch.no_grad():
        ref = model(xt)
    out = compiled.run(xt, backend="reference")
    got = compiled.to_torch_output(out["logits"])
    bad = (got != ref).reshape(len(xt), -1).any(1).nonzero().flatten().tolist()
    assert not bad, f"{len(bad)} of {len(xt)} samples differ, first {bad[:5]}: {got[bad[:1]]} vs {ref[bad[:1]]}"
    if "class" in out:
        assert np.array_equal(out["class"], ref.argmax(1).numpy())
    return compiled
