"""``harden(model)``: replace every soft logic layer by its exact Boolean layer."""

from __future__ import annotations

import copy

from torch import nn

from nandc.nn.soft_logic import SoftLogic, soft_layers

__all__ = ["harden", "is_hardened"]


def _harden_children(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, SoftLogic):
            setattr(module, name, child.hardened())
        else:
            _harden_children(child)


def harden(model: nn.Module, inplace: bool = False) -> nn.Module:
    """The model with each :class:`~nandc.nn.soft_logic.SoftLogic` layer replaced by ``layer.hardened()``.

    Each pin reads its most likely input and each gate computes its most
    likely function (the first maximum on ties), so the result is a pure
    function of the parameters: hardening twice gives identical layers.
    Requires: soft layers are reachable as submodules (attributes,
    ``nn.Sequential``, ``nn.ModuleList`` ...).  Ensures: the returned model
    is in eval mode and contains no soft layer; ``model`` itself is unchanged
    unless ``inplace``.
    """
    for layer in soft_layers(model):
        layer.last_penalty = None  # a loss term of the last batch: drop it (and its autograd graph)
    target = model if inplace else copy.deepcopy(model)
    if isinstance(target, SoftLogic):
        return target.hardened().eval()
    _harden_children(target)
    return target.eval()


def is_hardened(model: nn.Module) -> bool:
    """True when ``model`` contains no soft logic layer."""
    return not soft_layers(model)
