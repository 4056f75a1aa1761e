"""Import trained difflogic models: :func:`from_difflogic`.

difflogic (Petersen et al., "Deep Differentiable Logic Gate Networks") trains
layers of learned two-input gates.  Its ``forward`` branches on the input type
and on ``self.implementation``, so ``torch.fx`` cannot trace it and
``nandc.compile`` cannot take a difflogic model directly.  In eval mode each
difflogic gate computes the one function its weights' argmax names, so the
model is exactly a network of Boolean gates: :func:`from_difflogic` rewrites
it into nandc's :class:`~nandc.nn.hard_logic.BooleanLayer` and
:class:`~nandc.nn.hard_logic.GroupSum` modules, which compile gate for gate.

Function numbering: difflogic's gate id ``i`` lists the outputs at
``(A, B) = 00, 01, 10, 11`` from the most significant bit of ``i`` down
(id 1 is AND, id 14 is NAND); nandc's truth table ``t`` holds ``f(a, b)`` in
bit ``2a + b`` (:mod:`nandc.nn.gate_functions`).  So ``t`` is ``i`` with its four bits
reversed (:func:`difflogic_to_truth_table`): NAND is id 14 = 0b1110 and
``t = 0b0111 = 7``.

The conversion is duck-typed: difflogic itself is not imported (its package
needs a CUDA build).  A module counts as a difflogic ``LogicLayer`` when it
has ``in_dim``, ``indices`` (two integer index tensors, one entry per gate)
and ``weights`` (a ``(gates, 16)`` tensor), and as a ``GroupSum`` when it has
``k`` and ``tau`` and no parameters.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from nandc.nn.hard_logic import BooleanLayer, GroupSum
from nandc.nn.gate_functions import NUM_FUNCTIONS, LogicConfigError
from nandc.nn.int4 import InputQuant

__all__ = ["from_difflogic", "difflogic_to_truth_table", "is_difflogic_layer", "is_difflogic_group_sum"]

#: modules copied as they are (no parameters, same result on the converted bits)
_PASSIVE = (nn.Flatten, nn.Identity)


def difflogic_to_truth_table(gate_id: int) -> int:
    """nandc truth table (:mod:`nandc.nn.gate_functions`) of difflogic's gate ``gate_id`` in 0..15: its 4 bits reversed."""
    i = int(gate_id)
    if not 0 <= i < NUM_FUNCTIONS:
        raise LogicConfigError(f"a difflogic gate id is in 0..15, found {gate_id}")
    return int(f"{i:04b}"[::-1], 2)


def is_difflogic_layer(module) -> bool:
    """True when ``module`` looks like a difflogic ``LogicLayer`` (``in_dim``, ``indices``, ``weights``)."""
    return all(hasattr(module, name) for name in ("in_dim", "indices", "weights"))


def is_difflogic_group_sum(module) -> bool:
    """True when ``module`` looks like a difflogic ``GroupSum`` (``k``, ``tau``, no parameters)."""
    return (hasattr(module, "k") and hasattr(module, "tau") and isinstance(module, nn.Module)
            and not any(True for _ in module.parameters()))


def _convert_layer(module, where: str) -> BooleanLayer:
    weights = torch.as_tensor(module.weights).detach()
    indices = module.indices
    if not isinstance(indices, (tuple, list)) or len(indices) != 2:
        raise LogicConfigError(
            f"difflogic layer {where!r}: indices must be a pair (a, b) of index tensors, "
            f"found {type(indices).__name__}"
        )
    a, b = (torch.as_tensor(t).detach().reshape(-1).to("cpu", torch.int64) for t in indices)
    if weights.dim() != 2 or weights.shape[1] != NUM_FUNCTIONS:
        raise LogicConfigError(
            f"difflogic layer {where!r}: weights must have shape (gates, 16), found {tuple(weights.shape)}"
        )
    if not len(a) == len(b) == weights.shape[0]:
        raise LogicConfigError(
            f"difflogic layer {where!r}: {weights.shape[0]} gates but {len(a)} and {len(b)} indices"
        )
    if not torch.isfinite(weights).all():
        raise LogicConfigError(f"difflogic layer {where!r}: weights contain NaN or infinity")
    ids = weights.to("cpu").argmax(-1)  # the gate difflogic's eval mode computes (first maximum on ties)
    table = torch.tensor([difflogic_to_truth_table(i) for i in range(NUM_FUNCTIONS)], dtype=torch.int64)
    try:
        return BooleanLayer(int(module.in_dim), a, b, table[ids])
    except LogicConfigError as exc:
        raise LogicConfigError(f"difflogic layer {where!r}: {exc}") from None


def _walk(module: nn.Module, where: str, out: list[tuple[str, nn.Module]]) -> None:
    if is_difflogic_layer(module):
        out.append((where, _convert_layer(module, where or "model")))
    elif is_difflogic_group_sum(module):
        try:
            out.append((where, GroupSum(int(module.k), float(module.tau))))
        except LogicConfigError as exc:
            raise LogicConfigError(f"difflogic GroupSum {where or 'model'!r}: {exc}") from None
    elif isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            _walk(child, f"{where}_{name}" if where else name, out)
    elif isinstance(module, _PASSIVE):
        out.append((where, module))
    else:
        raise LogicConfigError(
            f"from_difflogic converts an nn.Sequential of difflogic LogicLayer and GroupSum modules "
            f"(and Flatten / Identity); found {type(module).__name__} at {where or 'the top level'!r}"
        )


def from_difflogic(model: nn.Module) -> nn.Sequential:
    """A nandc model computing exactly what the difflogic ``model`` computes in eval mode.

    ``model`` is a live difflogic network: an ``nn.Sequential`` (nested ones
    are flattened) of ``LogicLayer``, ``GroupSum``, ``Flatten`` and
    ``Identity`` modules, or a single ``LogicLayer``.  Each ``LogicLayer``
    becomes a :class:`~nandc.nn.hard_logic.BooleanLayer` with the same wiring
    and, per gate, the function of its weights' argmax (the gate difflogic
    evaluates in eval mode); each ``GroupSum(k, tau)`` becomes
    ``GroupSum(k, tau)``.  An ``InputQuant(bits=1, step=1.0)`` named
    ``"input"`` comes first: it rounds inputs in [0, 1] to 0/1 as difflogic's
    own evaluation does (``model(x.round())``), so

    ``from_difflogic(m)(x)`` is ``torch.equal`` to ``m.eval()(x.round())``
    for every ``x`` in [0, 1] (ties at 0.5 go to 0 in both), and to
    ``m.eval()(x)`` on 0/1 inputs.  The result is in eval mode and compiles
    with ``nandc.compile``.

    Caveat — the wiring is not in the state_dict: difflogic keeps each
    layer's connections in the plain attribute ``indices``, not in a
    parameter or buffer, so ``model.state_dict()`` holds only the gate
    weights.  Loading a state_dict into a freshly built difflogic model
    gives new random wiring (a different network) without any error.  Pass
    the live trained module (or one saved whole with ``torch.save(model)``);
    the converted model stores its wiring in buffers, so *its* state_dict is
    complete.

    Raises :class:`~nandc.nn.gate_functions.LogicConfigError` (a ``NandcError``) for
    modules it does not know, malformed indices or weights, and indices out
    of range.
    """
    if not isinstance(model, nn.Module):
        raise LogicConfigError(f"from_difflogic expects a torch.nn.Module, found {type(model).__name__}")
    layers: list[tuple[str, nn.Module]] = []
    _walk(model, "", layers)
    if not any(isinstance(m, BooleanLayer) for _, m in layers):
        raise LogicConfigError("from_difflogic: the model contains no difflogic LogicLayer")
    named = [("input", InputQuant(bits=1, step=1.0))]
    for i, (name, module) in enumerate(layers):
        named.append((name or f"layer{i}", module))
    return nn.Sequential(OrderedDict(named)).eval()
