"""Differentiable logic layers: soft NAND gates and learned two-input gates.

* :class:`SoftNAND` — gate ``j`` reads two inputs ``a``, ``b``; on bits it
  computes ``sigmoid((1.5 - a - b) / tau)``, a soft NAND that becomes the
  exact NAND as the temperature ``tau`` goes to 0 (on soft values, see its
  ``relaxation``).
* :class:`LogicLayer` — gate ``j`` computes a softmax mixture (temperature
  ``tau``) of the real-valued extensions of all 16 two-input Boolean
  functions (difflogic-style).

Which two inputs a gate reads ("wiring") is learned too: each of the two
pins holds logits over its candidate inputs (all inputs, or ``candidates``
random ones), relaxed by a softmax with its own temperature ``select_tau``.
``candidates=1`` is a fixed random wiring with nothing to learn.  A layer's
``gumbel`` (default 0) adds Gumbel noise of that scale to the wiring and
function logits in training mode (Gumbel-softmax sampling of the choices).

A soft layer is a float layer: compile it only after :func:`nandc.nn.harden`
has replaced it by an exact :class:`~nandc.nn.hard_logic.BooleanLayer` (its most
likely inputs and function).  ``straight_through = True`` (see
:func:`set_straight_through`) makes the forward pass compute exactly the
hardened layer while gradients still flow through the soft relaxation, for
the last epochs of training.  Every soft layer keeps its last training
output, and ``last_penalty`` is ``sum_j y_j (1 - y_j)`` of it (mean over the
batch, computed when asked for); :func:`binarization_penalty` adds them up
as a loss term that pushes outputs toward 0 or 1.

Kernels: every gate here except the ``"sigmoid"`` SoftNAND is the bilinear
polynomial ``c0 + c1 a + c2 b + c3 ab`` of its pins, so by default
(``kernel="fast"``) layers run the hand-written autograd functions of
:mod:`nandc.nn.kernels` (fixed wiring: one gather-and-evaluate kernel);
``kernel="reference"`` (or :func:`set_kernel`) uses plain autograd
expressions instead.  Both compute the same values.
"""

from __future__ import annotations

import torch
from torch import nn

from nandc.nn.hard_logic import BooleanLayer, check_features, gate_coefficient_table, mix_gates
from nandc.nn.gate_functions import NAND_FN, NUM_FUNCTIONS, LogicConfigError
from nandc.nn.kernels import KERNELS, bilinear, gather_bilinear, sparse_mix

__all__ = ["SoftLogic", "SoftNAND", "RELAXATIONS", "LogicLayer", "set_temperature", "set_straight_through",
           "set_kernel", "binarization_penalty", "soft_layers"]


def _positive(owner: str, name: str, value: float) -> float:
    value = float(value)
    if not value > 0 or value == float("inf"):
        raise LogicConfigError(f"{owner}: {name} must be a positive finite number, found {value}")
    return value


class _PinChoice(nn.Module):
    """Which input each pin of each gate reads: ``(pins, out)`` softmaxes over candidate inputs.

    ``candidates=None`` makes every input a candidate (the selection is a
    matrix product); ``candidates=k`` draws ``k`` distinct random candidates
    per pin (a gather); ``k = 1`` is a fixed wiring without parameters.
    """

    def __init__(self, in_features: int, out_features: int, pins: int, candidates: int | None,
                 generator: torch.Generator, init_std: float):
        super().__init__()
        k = in_features if candidates is None else min(int(candidates), in_features)
        if k < 1:
            raise LogicConfigError(f"candidates must be at least 1, found {candidates}")
        self.dense = candidates is None or k == in_features
        if not self.dense:
            order = torch.rand(pins, out_features, in_features, generator=generator).argsort(-1)
            self.register_buffer("candidates", order[..., :k].contiguous())
        self.logits = None
        if k > 1:
            self.logits = nn.Parameter(torch.randn(pins, out_features, k, generator=generator) * init_std)
        self.select_tau = 1.0
        self.gumbel = 0.0

    def chosen(self) -> torch.Tensor:
        """``(pins, out)`` index of the input each pin reads when hardened (first maximum wins)."""
        if self.logits is None:
            return self.candidates[..., 0]
        best = self.logits.detach().argmax(-1)
        return best if self.dense else self.candidates.gather(-1, best.unsqueeze(-1)).squeeze(-1)

    def soft_values(self, x: torch.Tensor) -> torch.Tensor:
        """``(pins, N, out)``: each pin's softmax-weighted mixture of its candidates."""
        if self.logits is None:
            return x[:, self.candidates[..., 0]].permute(1, 0, 2)
        w = torch.softmax(gumbel_perturb(self.logits, self.gumbel, self.training) / self.select_tau, -1)
        if self.dense:
            return torch.einsum("ni,poi->pno", x, w)
        return (x[:, self.candidates] * w).sum(-1).permute(1, 0, 2)

    def soft_values_fast(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each pin's ``(N, out)`` soft values; learned sparse wiring runs the :class:`SparseMix` kernel."""
        if self.logits is None or self.dense:
            return tuple(self.soft_values(x))
        w = torch.softmax(gumbel_perturb(self.logits, self.gumbel, self.training) / self.select_tau, -1)
        v = sparse_mix(x, self.candidates, w)  # (pins, out, N): the transposed views below are free
        return v[0].t(), v[1].t()

    def hard_values(self, x: torch.Tensor) -> torch.Tensor:
        """``(pins, N, out)``: the chosen inputs themselves."""
        return x[:, self.chosen()].permute(1, 0, 2)


def gumbel_perturb(logits: torch.Tensor, scale: float, active: bool) -> torch.Tensor:
    """``logits + scale * G`` with i.i.d. standard Gumbel noise ``G`` when ``active`` and ``scale > 0``."""
    if not active or not scale:
        return logits
    u = torch.rand_like(logits).clamp_(1e-10, 1.0 - 1e-7)
    return logits - scale * torch.log(-torch.log(u))


def _kernel(owner: str, kernel: str) -> str:
    if kernel not in KERNELS:
        raise LogicConfigError(f"{owner}: kernel must be one of {', '.join(KERNELS)}, found {kernel!r}")
    return kernel


def _generator(seed: int | None) -> torch.Generator:
    """A generator seeded by ``seed``, or from torch's global generator when ``seed`` is None."""
    gen = torch.Generator()
    gen.manual_seed(int(torch.randint(0, 2**62, ())) if seed is None else int(seed))
    return gen


class SoftLogic(nn.Module):
    """Common part of :class:`SoftNAND` and :class:`LogicLayer` (wiring, temperatures, modes)."""

    def __init__(self, in_features: int, out_features: int, candidates: int | None, tau: float,
                 select_tau: float, passthrough: bool, generator: torch.Generator, init_std: float):
        super().__init__()
        name = type(self).__name__
        if int(in_features) < 1 or int(out_features) < 1:
            raise LogicConfigError(
                f"{name}: in_features and out_features must be positive, found {in_features}, {out_features}"
            )
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.passthrough = bool(passthrough)
        self.pins = _PinChoice(self.in_features, self.out_features, 2, candidates, generator, init_std)
        self.tau = _positive(name, "tau", tau)
        self.pins.select_tau = _positive(name, "select_tau", select_tau)
        self.straight_through = False
        self.kernel = "fast"
        self._last_output: torch.Tensor | None = None

    @property
    def last_penalty(self) -> torch.Tensor | None:
        """``sum_j y_j (1 - y_j)`` (mean over the batch) of the last training forward pass, else None."""
        y = self._last_output
        return None if y is None else (y * (1.0 - y)).sum(1).mean()

    @last_penalty.setter
    def last_penalty(self, value: None) -> None:
        if value is not None:
            raise LogicConfigError(f"{type(self).__name__}: last_penalty can only be reset to None")
        self._last_output = None

    @property
    def select_tau(self) -> float:
        return self.pins.select_tau

    @select_tau.setter
    def select_tau(self, value: float) -> None:
        self.pins.select_tau = _positive(type(self).__name__, "select_tau", value)

    def set_tau(self, value: float) -> None:
        self.tau = _positive(type(self).__name__, "tau", value)

    @property
    def gumbel(self) -> float:
        """Scale of the Gumbel noise added to the choice logits in training mode (0: none)."""
        return self.pins.gumbel

    @gumbel.setter
    def gumbel(self, value: float) -> None:
        value = float(value)
        if not value >= 0 or value == float("inf"):
            raise LogicConfigError(f"{type(self).__name__}: gumbel must be a finite number >= 0, found {value}")
        self.pins.gumbel = value

    # subclasses: the soft gate, and the truth table of each gate once hardened
    def soft_gate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def hard_ops(self) -> torch.Tensor:  # pragma: no cover - interface
        """``(out,)`` int64 truth tables of the hardened gates."""
        raise NotImplementedError

    def gate_coefficients(self, dtype: torch.dtype) -> torch.Tensor | None:
        """``(out, 4)`` coefficients ``c`` with ``soft_gate(a, b) = c0 + c1 a + c2 b + c3 ab``, or None if not bilinear."""
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(self, x, self.in_features)
        coef = self.gate_coefficients(x.dtype) if self.kernel == "fast" else None
        if coef is None:
            a, b = self.pins.soft_values(x)
            y = self.soft_gate(a, b)
        elif self.pins.logits is None and not self.pins.dense:  # fixed wiring: gather and evaluate in one kernel
            wiring = self.pins.candidates
            y = gather_bilinear(x, wiring[0, :, 0], wiring[1, :, 0], coef)
        else:
            a, b = self.pins.soft_values_fast(x)
            y = bilinear(a, b, coef)
        self._last_output = y if self.training else None
        if self.straight_through:
            y = self._hard_forward(x) + (y - y.detach())
        if not self.passthrough:
            return y
        # concatenated feature-major, so the next fast kernel's transpose costs nothing
        return torch.cat([x.t(), y.t()], 0).t() if coef is not None else torch.cat([x, y], 1)

    def _hard_forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.pins.hard_values(x)
        return mix_gates(gate_coefficient_table().to(x.dtype)[self.hard_ops()], a, b)

    def hardened(self) -> BooleanLayer:
        """The exact layer: each pin's most likely input, each gate's most likely function."""
        idx = self.pins.chosen()
        return BooleanLayer(self.in_features, idx[0], idx[1], self.hard_ops(), self.passthrough)

    @property
    def width(self) -> int:
        """Features of the output (``in_features + out_features`` with passthrough)."""
        return self.out_features + (self.in_features if self.passthrough else 0)

    def extra_repr(self) -> str:
        cand = "all" if self.pins.dense else self.pins.candidates.shape[-1]
        return (f"in_features={self.in_features}, out_features={self.out_features}, candidates={cand}, "
                f"tau={self.tau:.4g}, select_tau={self.select_tau:.4g}, passthrough={self.passthrough}, "
                f"straight_through={self.straight_through}, kernel={self.kernel!r}")


#: how SoftNAND extends its Boolean behaviour to non-Boolean pin values
RELAXATIONS = ("multilinear", "sigmoid")


class SoftNAND(SoftLogic):
    """Soft NAND gates with learned (or fixed random) wiring, annealed toward exact NANDs.

    On Boolean pins ``a``, ``b`` every gate computes ``sigmoid((1.5 - a - b) / tau)``,
    which tends to ``NAND(a, b)`` as ``tau -> 0``.  ``relaxation`` says what
    it computes on the soft values the wiring softmax produces:

    * ``"multilinear"`` (default): the multilinear interpolation of those four
      Boolean values, i.e. the expected output when each pin reads input ``i``
      with its softmax probability; ``1 - a*b`` at ``tau -> 0``.  Networks
      trained this way harden faithfully.
    * ``"sigmoid"``: ``sigmoid((1.5 - a - b) / tau)`` on the soft values
      themselves.  With learned wiring this is a threshold gate on a
      weighted sum, which a network learns to exploit, so hardening loses
      more (it rarely learns a full adder exactly).

    ``candidates``: ``None`` lets each pin choose among all inputs, ``k``
    among ``k`` random ones, ``1`` fixes a random wiring.  ``init_std`` is
    the spread of the initial wiring logits (a large one starts near a
    random discrete circuit, which helps).  ``passthrough`` outputs
    ``cat([x, y])``: skip connections, needed because a strictly layered
    NAND network computes only monotone or antitone functions of its inputs
    (it cannot compute XOR).  ``seed`` makes wiring and initialization
    reproducible.
    """

    def __init__(self, in_features: int, out_features: int, candidates: int | None = None,
                 tau: float = 0.2, select_tau: float = 1.0, passthrough: bool = False,
                 relaxation: str = "multilinear", seed: int | None = None, init_std: float = 3.0,
                 kernel: str = "fast"):
        if relaxation not in RELAXATIONS:
            raise LogicConfigError(
                f"SoftNAND: relaxation must be one of {', '.join(RELAXATIONS)}, found {relaxation!r}"
            )
        super().__init__(in_features, out_features, candidates, tau, select_tau, passthrough,
                         _generator(seed), init_std)
        self.relaxation = relaxation
        self.kernel = _kernel("SoftNAND", kernel)

    def _nand_values(self, dtype: torch.dtype) -> list[float]:
        """The gate's output at (0,0), one input 1, and (1,1)."""
        return torch.sigmoid(torch.tensor([1.5, 0.5, -0.5], dtype=dtype) / self.tau).tolist()

    def gate_coefficients(self, dtype: torch.dtype) -> torch.Tensor | None:
        if self.relaxation != "multilinear":
            return None
        s0, s1, s2 = self._nand_values(dtype)
        row = torch.tensor([s0, s1 - s0, s1 - s0, s0 - 2 * s1 + s2], dtype=dtype)
        return row.expand(self.out_features, 4)

    def soft_gate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.relaxation == "sigmoid":
            return torch.sigmoid((1.5 - a - b) / self.tau)
        # values at (0,0), one input 1, (1,1); then f = s0 + (s1 - s0)(a + b) + (s0 - 2 s1 + s2) ab
        s0, s1, s2 = self._nand_values(a.dtype)
        return s0 + (s1 - s0) * (a + b) + (s0 - 2 * s1 + s2) * (a * b)

    def hard_ops(self) -> torch.Tensor:
        return torch.full((self.out_features,), NAND_FN, dtype=torch.int64)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", relaxation={self.relaxation!r}"


class LogicLayer(SoftLogic):
    """Learned two-input gates: a softmax (temperature ``tau``) over the 16 Boolean functions.

    The default wiring is fixed and random (``candidates=1``), as in
    difflogic; larger ``candidates`` learn it.  Function logits start as
    ``N(0, init_std)``.
    """

    def __init__(self, in_features: int, out_features: int, candidates: int | None = 1,
                 tau: float = 1.0, select_tau: float = 1.0, passthrough: bool = False,
                 seed: int | None = None, init_std: float = 1.0, kernel: str = "fast"):
        gen = _generator(seed)
        super().__init__(in_features, out_features, candidates, tau, select_tau, passthrough, gen, init_std)
        self.function_logits = nn.Parameter(torch.randn(self.out_features, NUM_FUNCTIONS, generator=gen) * init_std)
        self.kernel = _kernel("LogicLayer", kernel)

    def gate_coefficients(self, dtype: torch.dtype) -> torch.Tensor:
        p = torch.softmax(gumbel_perturb(self.function_logits, self.gumbel, self.training) / self.tau, -1)
        return p @ gate_coefficient_table().to(p.dtype)

    def soft_gate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return mix_gates(self.gate_coefficients(a.dtype), a, b)

    def hard_ops(self) -> torch.Tensor:
        return self.function_logits.detach().argmax(-1)


def soft_layers(model: nn.Module) -> list[SoftLogic]:
    """Every soft logic layer of ``model`` (itself included), in module order."""
    return [m for m in model.modules() if isinstance(m, SoftLogic)]


def set_temperature(model: nn.Module, tau: float | None = None, select_tau: float | None = None) -> None:
    """Set the gate temperature and/or the wiring temperature of every soft layer of ``model``."""
    for layer in soft_layers(model):
        if tau is not None:
            layer.set_tau(tau)
        if select_tau is not None:
            layer.select_tau = select_tau


def set_straight_through(model: nn.Module, enabled: bool = True) -> None:
    """Switch straight-through hardening on or off in every soft layer of ``model``."""
    for layer in soft_layers(model):
        layer.straight_through = bool(enabled)


def set_kernel(model: nn.Module, kernel: str) -> None:
    """Run every soft layer of ``model`` with the ``"fast"`` kernels or the ``"reference"`` autograd path."""
    for layer in soft_layers(model):
        layer.kernel = _kernel(type(layer).__name__, kernel)


def binarization_penalty(model: nn.Module) -> torch.Tensor:
    """``sum y (1 - y)`` over the outputs of every soft layer in the last training forward pass.

    Summed over gates, averaged over the batch; 0 when no soft layer ran in
    training mode.  Add ``weight * binarization_penalty(model)`` to the loss.
    """
    terms = [layer.last_penalty for layer in soft_layers(model) if layer.last_penalty is not None]
    return torch.stack(terms).sum() if terms else torch.zeros(())
