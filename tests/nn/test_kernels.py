"""Fast soft-gate kernels: forward and gradients equal the plain autograd reference (gradcheck in float64)."""

import pytest

torch = pytest.importorskip("torch")

from nandc.nn import LogicConfigError, LogicLayer, SoftNAND, set_kernel  # noqa: E402
from nandc.nn.kernels import (bilinear, gather_bilinear, reference_bilinear,  # noqa: E402
                              reference_gather_bilinear)


def inputs(seed, n=7, fin=5, gates=9, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, fin, generator=gen, dtype=dtype, requires_grad=True)
    ia = torch.randint(0, fin, (gates,), generator=gen)
    ib = torch.randint(0, fin, (gates,), generator=gen)
    ib[0] = ia[0]  # a gate reading one input twice: both pins' gradients land on it
    coef = torch.randn(gates, 4, generator=gen, dtype=dtype, requires_grad=True)
    return x, ia, ib, coef


@pytest.mark.parametrize("seed", range(4))
def test_gather_kernel_gradcheck_and_equals_reference(seed):
    x, ia, ib, coef = inputs(seed)
    assert torch.autograd.gradcheck(lambda x, c: gather_bilinear(x, ia, ib, c), (x, coef))
    y, ref = gather_bilinear(x, ia, ib, coef), reference_gather_bilinear(x, ia, ib, coef)
    assert torch.allclose(y, ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(ref)
    grads = torch.autograd.grad(y, (x, coef), g)
    ref_grads = torch.autograd.grad(ref, (x, coef), g)
    for got, want in zip(grads, ref_grads):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_bilinear_kernel_gradcheck_and_equals_reference(seed):
    gen = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(6, 8, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(2))
    coef = torch.randn(8, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(bilinear, (a, b, coef))
    assert torch.allclose(bilinear(a, b, coef), reference_bilinear(a, b, coef), rtol=1e-12, atol=1e-12)


def test_kernels_are_exact_on_bits_for_every_gate():
    from nandc.nn.hard_logic import gate_coefficient_table

    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    ia, ib = torch.zeros(16, dtype=torch.int64), torch.ones(16, dtype=torch.int64)
    y = gather_bilinear(x, ia, ib, gate_coefficient_table())
    want = torch.tensor([[(t >> (2 * a + b)) & 1 for t in range(16)] for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))],
                        dtype=torch.float32)
    assert torch.equal(y, want)


def network(cls, candidates, passthrough, kernel, **kw):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        cls(12, 20, candidates=candidates, passthrough=passthrough, seed=1, kernel=kernel, **kw),
        cls(32 if passthrough else 20, 10, candidates=candidates, seed=2, kernel=kernel, **kw),
    ).double()


@pytest.mark.parametrize("cls, candidates", [(LogicLayer, 1), (LogicLayer, None), (LogicLayer, 3),
                                             (SoftNAND, 1), (SoftNAND, None), (SoftNAND, 4)])
@pytest.mark.parametrize("passthrough", [False, True])
def test_layers_fast_and_reference_kernels_agree_in_values_and_gradients(cls, candidates, passthrough):
    fast = network(cls, candidates, passthrough, "fast")
    ref = network(cls, candidates, passthrough, "reference")
    ref.load_state_dict(fast.state_dict())
    outs, grads = [], []
    for model in (fast, ref):
        x = torch.rand(17, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3)).requires_grad_()
        model.train()
        y = model(x)
        loss = (y * torch.linspace(-1, 1, y.shape[1], dtype=y.dtype)).sum() + 0.1 * sum(
            layer.last_penalty for layer in model)
        loss.backward()
        outs.append(y.detach())
        grads.append([x.grad] + [p.grad.clone() for p in model.parameters()])
    assert torch.allclose(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    assert len(grads[0]) == len(grads[1])
    for got, want in zip(*grads):
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


def test_whole_layer_gradcheck_through_the_fast_kernel():
    layer = LogicLayer(6, 8, seed=4, kernel="fast").double()
    x = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))
    soft = SoftNAND(6, 8, candidates=3, seed=4).double()
    assert torch.autograd.gradcheck(soft, (x,))


def test_set_kernel_and_errors():
    model = network(LogicLayer, 1, True, "fast")
    set_kernel(model, "reference")
    assert [m.kernel for m in model] == ["reference", "reference"]
    with pytest.raises(LogicConfigError, match=r"^LogicLayer: kernel must be one of fast, reference, found 'cuda'$"):
        set_kernel(model, "cuda")
    with pytest.raises(LogicConfigError, match=r"^SoftNAND: kernel must be one of fast, reference, found 'x'$"):
        SoftNAND(3, 2, kernel="x")


@pytest.mark.parametrize("seed", range(3))
def test_sparse_mix_kernel_gradcheck_and_equals_reference(seed):
    from nandc.nn.kernels import reference_sparse_mix, sparse_mix

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(5, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    cand = torch.randint(0, 7, (2, 6, 3), generator=gen)
    cand[0, 0] = 2  # repeated candidates: their input gradients add up
    w = torch.softmax(torch.randn(2, 6, 3, generator=gen, dtype=torch.float64), -1).requires_grad_()
    assert torch.autograd.gradcheck(sparse_mix, (x, cand, w))
    y, ref = sparse_mix(x, cand, w), reference_sparse_mix(x, cand, w)
    assert y.shape == (2, 6, 5) and torch.allclose(y, ref, rtol=1e-12, atol=1e-12)
