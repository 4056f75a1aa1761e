"""Multiple Boolean kernels (MBOK): ``W ~ sum_k diag(s_out^k) B_k diag(s_in^k)``.

Each kernel ``B_k`` is a {-1, +1} matrix with a per-output scale ``s_out^k`` and
a per-input scale ``s_in^k``.  :meth:`MBOKLinear.from_float` initializes the
kernels by successive extraction from the residual: ``B_k = sign(R)`` and the
best rank-1 fit ``s_out s_in^T`` of ``|R|`` (its leading singular pair), then
``R -= diag(s_out) B_k diag(s_in)``; the error never grows with ``k``.

Scales are fixed point: ``s = round(s_real * 2**f) / 2**f`` with one exponent
``f`` per layer and direction, chosen at initialization so that the largest
scale uses ``scale_bits`` bits, and kept fixed during training.  The forward
pass computes ``sum_k s_out_int^k * (B_k @ (x * s_in_int^k))`` exactly and
scales the result by the power of two ``2**-(f_in + f_out)``, so eval-mode
inference is exact integer arithmetic, which the circuit reproduces.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nandc.nn.base import QuantAccumulator, _pair
from nandc.nn.ste import round_ste, sign_ste

__all__ = ["MBOKLinear", "MBOKConv2d", "extract_kernels", "reconstruction_error"]


def extract_kernels(w: torch.Tensor, kernels: int, power_iterations: int = 50):
    """Successive sign/scale decomposition of a 2-D matrix.

    Returns ``(B, s_out, s_in)`` of shapes ``(K, out, in)``, ``(K, out)``, ``(K, in)``.
    """
    r = w.detach().to(torch.float64).clone()
    bs, outs, ins = [], [], []
    for _ in range(kernels):
        b = torch.where(r >= 0, 1.0, -1.0).to(torch.float64)
        a = r.abs()
        v = torch.ones(a.shape[1], dtype=torch.float64)
        for _ in range(power_iterations):  # leading singular pair of a nonnegative matrix
            u = a @ v
            v = a.T @ u
            norm = v.norm()
            if norm == 0:
                break
            v = v / norm
        u = a @ v  # then |R| ~ u v^T with ||v|| = 1
        scale = math.sqrt(float(u.norm())) if float(u.norm()) > 0 else 0.0
        s_out = u / scale if scale else torch.zeros_like(u)
        s_in = v * scale
        bs.append(b)
        outs.append(s_out)
        ins.append(s_in)
        r = r - b * torch.outer(s_out, s_in)
    return torch.stack(bs), torch.stack(outs), torch.stack(ins)


def reconstruction_error(w: torch.Tensor, b: torch.Tensor, s_out: torch.Tensor, s_in: torch.Tensor) -> float:
    """Relative Frobenius error ``||W - sum_k diag(s_out) B diag(s_in)|| / ||W||``."""
    approx = (s_out[:, :, None] * b * s_in[:, None, :]).sum(0)
    w = w.detach().to(approx.dtype)
    return float((w - approx).norm() / w.norm().clamp(min=1e-30))


def _exponent(values: torch.Tensor, bits: int) -> int:
    """Fraction bits so that the largest |value| rounds to about ``2**bits``."""
    top = float(values.abs().max())
    if top == 0:
        return bits
    return bits - math.ceil(math.log2(top))


class _MBOKBase(QuantAccumulator):
    def _init_kernels(self, kernels: int, out_dim: int, in_dim: int, scale_bits: int):
        self.kernels, self.scale_bits = int(kernels), int(scale_bits)
        self.latent = nn.Parameter(torch.empty(kernels, out_dim, in_dim))
        self.s_out = nn.Parameter(torch.ones(kernels, out_dim))
        self.s_in = nn.Parameter(torch.ones(kernels, in_dim))
        self.register_buffer("frac_out", torch.tensor(scale_bits))
        self.register_buffer("frac_in", torch.tensor(scale_bits))
        nn.init.uniform_(self.latent, -1.0, 1.0)
        with torch.no_grad():
            self.s_out.mul_(0.5 ** torch.arange(kernels, dtype=torch.float32)[:, None])

    def set_from_matrix(self, w2d: torch.Tensor) -> None:
        """Initialize every kernel by successive extraction from a 2-D weight matrix."""
        b, s_out, s_in = extract_kernels(w2d, self.kernels)
        with torch.no_grad():
            self.latent.copy_((b * 0.5).reshape(self.latent.shape).to(self.latent.dtype))
            self.s_out.copy_(s_out.to(self.s_out.dtype))
            self.s_in.copy_(s_in.to(self.s_in.dtype))
            self.frac_out.fill_(_exponent(s_out, self.scale_bits))
            self.frac_in.fill_(_exponent(s_in, self.scale_bits))

    def int_scales(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Fixed-point scales as integers (int64): ``(s_out_int, s_in_int)``."""
        with torch.no_grad():
            return (torch.round(self.s_out * 2.0 ** int(self.frac_out)).to(torch.int64),
                    torch.round(self.s_in * 2.0 ** int(self.frac_in)).to(torch.int64))

    def int_kernels(self) -> torch.Tensor:
        """The Boolean kernels as +-1 integers (int64), shape ``(K, out, in, ...)``."""
        return torch.where(self.latent >= 0, 1, -1).to(torch.int64)

    def int_weight(self) -> torch.Tensor:
        """The equivalent integer matrix ``sum_k s_out_int B_k s_in_int`` (for reference)."""
        so, si = self.int_scales()
        b = self.int_kernels()
        extra = (1,) * (b.dim() - 3)
        return (so.reshape(so.shape + (1,) + extra) * b * si.reshape(si.shape[:1] + (1,) + si.shape[1:] + extra)).sum(0)

    def _scales_ste(self):
        so = round_ste(self.s_out * 2.0 ** int(self.frac_out))
        si = round_ste(self.s_in * 2.0 ** int(self.frac_in))
        return so, si

    def dequantize(self, acc: torch.Tensor) -> torch.Tensor:
        return acc * 2.0 ** -(int(self.frac_in) + int(self.frac_out))

    def pow2_scale(self) -> float:
        return 2.0 ** -(int(self.frac_in) + int(self.frac_out))


class MBOKLinear(_MBOKBase):
    """Linear layer whose weight is a sum of ``kernels`` scaled Boolean matrices; no bias."""

    def __init__(self, in_features: int, out_features: int, kernels: int = 2, scale_bits: int = 6):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_kernels(kernels, out_features, in_features, scale_bits)

    @classmethod
    def from_float(cls, linear: nn.Linear, kernels: int = 2, scale_bits: int = 6) -> "MBOKLinear":
        """An MBOK layer approximating ``linear.weight`` (its bias is dropped: fold it into BatchNorm)."""
        m = cls(linear.in_features, linear.out_features, kernels, scale_bits)
        m.set_from_matrix(linear.weight)
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        so, si = self._scales_ste()
        acc = 0
        for k in range(self.kernels):
            acc = acc + so[k] * F.linear(x * si[k], sign_ste(self.latent[k]).to(x.dtype))
        return self.dequantize(acc)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, kernels={self.kernels}"


class MBOKConv2d(_MBOKBase):
    """2-D convolution whose kernel is a sum of scaled Boolean kernels (per out / in channel scales)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 kernels: int = 2, scale_bits: int = 6):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        kh, kw = self.kernel_size
        self._init_kernels(kernels, out_channels, in_channels * kh * kw, scale_bits)
        with torch.no_grad():
            self.s_in.data = torch.ones(kernels, in_channels)

    @classmethod
    def from_float(cls, conv: nn.Conv2d, kernels: int = 2, scale_bits: int = 6) -> "MBOKConv2d":
        """Approximate ``conv.weight``: kernels over (out, in) of the spatially summed magnitudes."""
        m = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                kernels, scale_bits)
        w = conv.weight.detach()
        b, s_out, s_in = extract_kernels(w.reshape(w.shape[0], -1), kernels)
        kh, kw = m.kernel_size
        with torch.no_grad():
            m.latent.copy_((b * 0.5).to(m.latent.dtype))
            m.s_out.copy_(s_out.to(m.s_out.dtype))
            # one input scale per channel: the mean over its kernel positions
            m.s_in.copy_(s_in.reshape(kernels, conv.in_channels, kh * kw).mean(-1).to(m.s_in.dtype))
            m.frac_out.fill_(_exponent(s_out, m.scale_bits))
            m.frac_in.fill_(_exponent(m.s_in.detach(), m.scale_bits))
        return m

    def int_kernels(self) -> torch.Tensor:
        kh, kw = self.kernel_size
        return super().int_kernels().reshape(self.kernels, self.out_channels, self.in_channels, kh, kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        so, si = self._scales_ste()
        kh, kw = self.kernel_size
        acc = 0
        for k in range(self.kernels):
            b = sign_ste(self.latent[k]).reshape(self.out_channels, self.in_channels, kh, kw)
            y = F.conv2d(x * si[k].reshape(1, -1, 1, 1), b, stride=self.stride, padding=self.padding)
            acc = acc + so[k].reshape(1, -1, 1, 1) * y
        return self.dequantize(acc)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, kernels={self.kernels}")
