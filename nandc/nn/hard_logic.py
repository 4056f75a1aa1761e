"""Exact Boolean layers: what soft logic layers become after :func:`nandc.nn.harden`.

* :class:`BooleanLayer` — ``out_features`` two-input gates with fixed wiring
  and a fixed function each (a truth table, see :mod:`nandc.nn.gate_functions`).  On
  0/1 inputs its torch output is exactly 0.0/1.0; the frontend builds gate
  ``j`` as the literal of its function of inputs ``index_a[j]`` and
  ``index_b[j]`` (a NAND gate is one AIG node, one NAND2 after lowering).
* :class:`GroupSum` — the class-count head: ``k`` groups of consecutive
  features, output ``count / tau`` per group.  The frontend builds a popcount
  per group; the compiled ``logits`` are the integer counts.
"""

from __future__ import annotations

import torch
from torch import nn

from nandc.nn.gate_functions import NUM_FUNCTIONS, LogicConfigError, coefficients, function_name

__all__ = ["BooleanLayer", "GroupSum", "check_features", "gate_coefficient_table", "mix_gates"]


def gate_coefficient_table() -> torch.Tensor:
    """``(16, 4)`` float tensor: row ``t`` holds the extension coefficients of truth table ``t``."""
    return torch.tensor([coefficients(t) for t in range(NUM_FUNCTIONS)], dtype=torch.float32)


def mix_gates(coef: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``c0 + c1*a + c2*b + c3*a*b`` per gate, ``coef`` of shape ``(gates, 4)``: exact 0/1 on bits."""
    return coef[:, 0] + coef[:, 1] * a + coef[:, 2] * b + coef[:, 3] * (a * b)


def check_features(layer: nn.Module, x: torch.Tensor, in_features: int) -> None:
    """Raise :class:`LogicConfigError` unless ``x`` is a batch ``(N, in_features)``."""
    if x.dim() != 2 or x.shape[1] != in_features:
        raise LogicConfigError(
            f"{type(layer).__name__} expects input of shape (N, {in_features}), found {tuple(x.shape)}; "
            "flatten the input first"
        )


def _check_indices(name: str, index: torch.Tensor, in_features: int) -> torch.Tensor:
    index = torch.as_tensor(index, dtype=torch.int64).reshape(-1)
    if len(index) and (int(index.min()) < 0 or int(index.max()) >= in_features):
        raise LogicConfigError(
            f"BooleanLayer: {name} must lie in 0..{in_features - 1}, found {int(index.min())}..{int(index.max())}"
        )
    return index


class BooleanLayer(nn.Module):
    """Fixed two-input gates: ``y[:, j] = f_{ops[j]}(x[:, index_a[j]], x[:, index_b[j]])``.

    Requires 0/1 inputs for exact Boolean outputs (the frontend checks that
    the input is bits).  With ``passthrough=True`` the output is
    ``cat([x, y], 1)``: the inputs are wired through, so later layers can
    read any earlier signal (skip connections cost no gates).
    """

    def __init__(self, in_features: int, index_a, index_b, ops, passthrough: bool = False):
        super().__init__()
        a = _check_indices("index_a", index_a, in_features)
        b = _check_indices("index_b", index_b, in_features)
        t = torch.as_tensor(ops, dtype=torch.int64).reshape(-1)
        if not (len(a) == len(b) == len(t)):
            raise LogicConfigError(
                f"BooleanLayer: index_a, index_b and ops must have one entry per gate, "
                f"found lengths {len(a)}, {len(b)}, {len(t)}"
            )
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= NUM_FUNCTIONS):
            raise LogicConfigError(f"BooleanLayer: ops must be truth tables in 0..15, found {t.tolist()[:8]}...")
        self.in_features, self.out_features, self.passthrough = int(in_features), len(t), bool(passthrough)
        self.register_buffer("index_a", a.clone())
        self.register_buffer("index_b", b.clone())
        self.register_buffer("ops", t.clone())

    @property
    def width(self) -> int:
        """Features of the output (``in_features + out_features`` with passthrough)."""
        return self.out_features + (self.in_features if self.passthrough else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(self, x, self.in_features)
        coef = gate_coefficient_table().to(x.dtype)[self.ops]  # (out, 4), integers
        y = mix_gates(coef, x[:, self.index_a], x[:, self.index_b])
        return torch.cat([x, y], 1) if self.passthrough else y

    def function_counts(self) -> dict[str, int]:
        """How many gates compute each function, by name (``{"NAND": 4000}``)."""
        counts = torch.bincount(self.ops, minlength=NUM_FUNCTIONS).tolist()
        return {function_name(t): n for t, n in enumerate(counts) if n}

    def extra_repr(self) -> str:
        funcs = ", ".join(f"{n}x{name}" for name, n in self.function_counts().items())
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"passthrough={self.passthrough}, gates: {funcs or 'none'}")


class GroupSum(nn.Module):
    """Class-count head: splits the features into ``groups`` consecutive groups, returns ``sum / tau``.

    With Boolean inputs the sum is a count of ones (a popcount in the
    circuit).  ``tau`` (> 0) only scales the logits for the training loss;
    the compiled ``logits`` are the integer counts and ``class`` their argmax.
    """

    def __init__(self, groups: int, tau: float = 1.0):
        super().__init__()
        if int(groups) < 1:
            raise LogicConfigError(f"GroupSum: groups must be at least 1, found {groups}")
        tau = float(tau)
        if not tau > 0 or tau == float("inf"):
            raise LogicConfigError(f"GroupSum: tau must be a positive finite number, found {tau}")
        self.groups, self.tau = int(groups), tau

    def group_size(self, features: int) -> int:
        """Features per group; raises unless ``features`` is a positive multiple of ``groups``."""
        if features < self.groups or features % self.groups:
            raise LogicConfigError(
                f"GroupSum: {features} input features cannot be split into {self.groups} equal groups"
            )
        return features // self.groups

    def dequantize(self, counts: torch.Tensor) -> torch.Tensor:
        """Output from the per-group sums (also used by the compiled model's ``to_torch_output``)."""
        return counts / self.tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise LogicConfigError(f"GroupSum expects input of shape (N, features), found {tuple(x.shape)}")
        size = self.group_size(x.shape[1])
        return self.dequantize(x.reshape(x.shape[0], self.groups, size).sum(-1))

    def extra_repr(self) -> str:
        return f"groups={self.groups}, tau={self.tau}"
