"""Fast CPU autograd kernels for soft two-input gate layers.

Every soft gate of :mod:`nandc.nn.soft_logic` computes a bilinear polynomial of its
two pin values ``a``, ``b``::

    y = c0 + c1 * a + c2 * b + c3 * a * b

with per-gate coefficients ``c``: for a :class:`~nandc.nn.soft_logic.LogicLayer`
the softmax-weighted sum of the 16 functions' coefficients (``p @ T``, a
``(gates, 16) x (16, 4)`` product), for a multilinear
:class:`~nandc.nn.soft_logic.SoftNAND` three sigmoid values.  So a layer never
needs a ``(batch, gates, 16)`` tensor, nor 16 separate gate expressions.

Two :class:`torch.autograd.Function` s with hand-written backward passes:

* :class:`GatherBilinear` — fixed wiring: gathers the pins ``x[:, ia]``,
  ``x[:, ib]`` and evaluates the polynomial.  It works on the transposed,
  gate-major layout ``(features, batch)`` where a gather is a copy of whole
  rows, and returns the transposed view of its ``(gates, batch)`` result,
  so a following layer's transpose is free.  Backward recomputes the pins
  (nothing of size ``batch x gates`` is saved besides the output's
  gradient), gives ``dL/dc`` as four row sums and scatters
  ``dL/da = g (c1 + c3 b)``, ``dL/db = g (c2 + c3 a)`` back with
  ``index_add_``.
* :class:`Bilinear` — the same polynomial on given pin values (learned
  wiring, where the pins are softmax mixtures).
* :class:`SparseMix` — learned sparse wiring: each pin's value is the
  softmax-weighted mixture of its ``k`` candidate inputs, gathered as whole
  rows of the gate-major input and reduced by a batched ``(1 x k) @ (k x
  batch)`` product; backward recomputes the gather, gives the weight
  gradients by the transposed product and scatters the input gradients.

Both are checked against the plain autograd expressions
(:func:`reference_gather_bilinear`) by ``torch.autograd.gradcheck`` in
float64.
"""

from __future__ import annotations

import torch

__all__ = ["GatherBilinear", "Bilinear", "SparseMix", "gather_bilinear", "bilinear", "sparse_mix",
           "reference_gather_bilinear", "reference_bilinear", "reference_sparse_mix", "KERNELS"]

#: kernel choices of the soft layers: ``"fast"`` (this module) or ``"reference"`` (plain autograd)
KERNELS = ("fast", "reference")


def _poly(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``c0 + c1 a + c2 b + c3 a b`` for gate-major ``a``, ``b`` of shape ``(gates, batch)``."""
    c0, c1, c2, c3 = (c[:, k:k + 1] for k in range(4))
    y = torch.addcmul(c1, c3, b)  # c1 + c3 b
    y.mul_(a)
    y.addcmul_(c2, b)
    return y.add_(c0)


def _poly_backward(g: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                   need_ab: bool, need_c: bool):
    """``(dL/da, dL/db, dL/dc)`` for gate-major ``g``, ``a``, ``b`` (entries None when not needed)."""
    c1, c2, c3 = (c[:, k:k + 1] for k in range(1, 4))
    ga = g * a
    gb = g * b
    grad_c = None
    if need_c:
        grad_c = torch.stack([g.sum(1), ga.sum(1), gb.sum(1), (ga * b).sum(1)], 1)
    grad_a = grad_b = None
    if need_ab:
        grad_a = torch.addcmul(gb.mul_(c3), g, c1)  # g c1 + c3 g b
        grad_b = torch.addcmul(ga.mul_(c3), g, c2)  # g c2 + c3 g a
    return grad_a, grad_b, grad_c


class GatherBilinear(torch.autograd.Function):
    """``y[n, j] = poly_j(x[n, ia[j]], x[n, ib[j]])``; ``x`` ``(batch, in)``, ``coef`` ``(gates, 4)``."""

    @staticmethod
    def forward(ctx, x, ia, ib, coef):
        xt = x.t().contiguous()  # (in, batch): free when x is the transposed output of a previous kernel
        a = xt.index_select(0, ia)
        b = xt.index_select(0, ib)
        ctx.save_for_backward(xt, ia, ib, coef)
        return _poly(a, b, coef.to(x.dtype)).t()

    @staticmethod
    def backward(ctx, grad_y):
        xt, ia, ib, coef = ctx.saved_tensors
        g = grad_y.t().contiguous()
        a = xt.index_select(0, ia)
        b = xt.index_select(0, ib)
        need_x, need_c = ctx.needs_input_grad[0], ctx.needs_input_grad[3]
        grad_a, grad_b, grad_c = _poly_backward(g, a, b, coef.to(g.dtype), need_x, need_c)
        grad_x = None
        if need_x:
            gx = torch.zeros_like(xt)
            gx.index_add_(0, ia, grad_a)
            gx.index_add_(0, ib, grad_b)
            grad_x = gx.t()
        return grad_x, None, None, None if grad_c is None else grad_c.to(coef.dtype)


class Bilinear(torch.autograd.Function):
    """``y[n, j] = poly_j(a[n, j], b[n, j])``; ``a``, ``b`` ``(batch, gates)``, ``coef`` ``(gates, 4)``."""

    @staticmethod
    def forward(ctx, a, b, coef):
        at, bt = a.t().contiguous(), b.t().contiguous()
        ctx.save_for_backward(at, bt, coef)
        return _poly(at, bt, coef.to(a.dtype)).t()

    @staticmethod
    def backward(ctx, grad_y):
        at, bt, coef = ctx.saved_tensors
        g = grad_y.t().contiguous()
        need_ab = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        grad_a, grad_b, grad_c = _poly_backward(g, at, bt, coef.to(g.dtype), need_ab, ctx.needs_input_grad[2])
        return (None if grad_a is None else grad_a.t(), None if grad_b is None else grad_b.t(),
                None if grad_c is None else grad_c.to(coef.dtype))


class SparseMix(torch.autograd.Function):
    """``v[p, j, n] = sum_k w[p, j, k] * x[n, cand[p, j, k]]``: ``(pins, gates, batch)``, gate-major."""

    @staticmethod
    def forward(ctx, x, cand, w):
        xt = x.t().contiguous()
        pins, gates, k = cand.shape
        g = xt.index_select(0, cand.reshape(-1)).view(pins * gates, k, -1)
        v = torch.bmm(w.reshape(pins * gates, 1, k).to(x.dtype), g)
        ctx.save_for_backward(xt, cand, w)
        return v.view(pins, gates, -1)

    @staticmethod
    def backward(ctx, grad_v):
        xt, cand, w = ctx.saved_tensors
        pins, gates, k = cand.shape
        gv = grad_v.contiguous().view(pins * gates, -1, 1)  # (P*G, N, 1)
        grad_x = grad_w = None
        if ctx.needs_input_grad[2]:
            g = xt.index_select(0, cand.reshape(-1)).view(pins * gates, k, -1)
            grad_w = torch.bmm(g, gv).view(pins, gates, k).to(w.dtype)
        if ctx.needs_input_grad[0]:
            contrib = torch.bmm(w.reshape(pins * gates, k, 1).to(gv.dtype), gv.transpose(1, 2))  # (P*G, k, N)
            gx = torch.zeros_like(xt)
            gx.index_add_(0, cand.reshape(-1), contrib.view(pins * gates * k, -1))
            grad_x = gx.t()
        return grad_x, None, grad_w


def gather_bilinear(x: torch.Tensor, ia: torch.Tensor, ib: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """Fast kernel: ``(batch, gates)`` outputs of gates wired to ``x[:, ia]``, ``x[:, ib]``."""
    return GatherBilinear.apply(x, ia, ib, coef)


def bilinear(a: torch.Tensor, b: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """Fast kernel: ``(batch, gates)`` outputs of gates with pin values ``a``, ``b``."""
    return Bilinear.apply(a, b, coef)


def sparse_mix(x: torch.Tensor, cand: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Fast kernel: ``(pins, gates, batch)`` softmax mixtures of each pin's candidate inputs."""
    return SparseMix.apply(x, cand, w)


def reference_sparse_mix(x: torch.Tensor, cand: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """:func:`sparse_mix` in plain autograd."""
    return (x[:, cand] * w).sum(-1).permute(1, 2, 0)


def reference_bilinear(a: torch.Tensor, b: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """The same polynomial in plain autograd (what the kernels are checked against)."""
    return coef[:, 0] + coef[:, 1] * a + coef[:, 2] * b + coef[:, 3] * (a * b)


def reference_gather_bilinear(x: torch.Tensor, ia: torch.Tensor, ib: torch.Tensor,
                              coef: torch.Tensor) -> torch.Tensor:
    """:func:`gather_bilinear` in plain autograd."""
    return reference_bilinear(x[:, ia], x[:, ib], coef)
