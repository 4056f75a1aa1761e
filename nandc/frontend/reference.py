"""The integer reference: the model's forward with every accumulation computed exactly.

What a compiled model reproduces bit for bit is this *integer model*: the
model's own forward, run by torch, except that every linear or convolution
layer computes its sum exactly on integers --

    Y = sum(Q * q)        (integer weights Q, the input's integer codes q)

-- and then returns the float ``dequantize(Y * step)`` the frontend chose for
it (for a layer with weight scale ``s_w``, input scale ``s_x`` and bias
``b``: torch's float32 ``Y * (s_x * s_w) + b``).  Everything else (BatchNorm,
activations, quantizers, pooling, reshapes) is torch's own code on float32
tensors.  Where all scales are powers of two, the float forward already
computes these sums exactly and the integer model *is* ``model(x)``;
elsewhere the float forward rounds every partial sum, and the two can differ
where a value lands next to a quantizer's step.

:class:`Accumulation` records one layer's integer view (the converters
fill ``ProgramBuilder.records``); :func:`integer_forward` runs the traced
model with them.  The integer arithmetic here is torch's float64
``F.linear``/``F.conv2d`` on integer-valued tensors (exact below 2**53),
independent of the circuits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["Accumulation", "integer_forward"]


def _plain(t):
    import torch

    if isinstance(t, torch.Tensor):
        return t
    value = getattr(t, "value", None)
    return value if isinstance(value, torch.Tensor) else t


@dataclass(frozen=True, eq=False)
class Accumulation:
    """One layer's exact sum: integer weights, the step of its input codes, its float epilogue."""

    op: str  # "linear" or "conv2d"
    weight: np.ndarray  # int64, (out, in) or (out, in, kh, kw)
    in_step: float
    acc_step: float
    dequantize: Callable[[Any], Any]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    pre: Callable[[Any], Any] | None = None  # the layer's own input quantizer

    def __call__(self, x):
        import torch
        import torch.nn.functional as F

        x = _plain(x if self.pre is None else self.pre(_plain(x)))
        xi = torch.round(x.to(torch.float64) / self.in_step)
        w = torch.from_numpy(np.asarray(self.weight, dtype=np.float64))
        if self.op == "linear":
            y = F.linear(xi, w)
        else:
            y = F.conv2d(xi, w, None, self.stride, self.padding, self.dilation)
        t = (y * self.acc_step).to(torch.float32)
        return _plain(self.dequantize(t))


def integer_forward(gm, records: dict[str, Accumulation]) -> Callable[[Any], Any]:
    """``f(x) -> tensor``: the integer model of the traced ``gm`` (see the module docstring)."""
    import torch
    import torch.fx as fx

    class _Integer(fx.Interpreter):
        def run_node(self, n):
            if n.name in records:
                args, _ = self.fetch_args_kwargs_from_env(n)
                return records[n.name](args[0])
            return _plain(super().run_node(n))

    def forward(x):
        modes = {m: m.training for m in gm.modules()}
        gm.eval()
        try:
            with torch.no_grad():
                return _plain(_Integer(gm).run(torch.as_tensor(np.asarray(x), dtype=torch.float32)
                                               if not isinstance(x, torch.Tensor) else x.to(torch.float32)))
        finally:
            for m, mode in modes.items():
                m.training = mode

    return forward
