"""Refusing NaN and infinite parameters before they reach a circuit.

A NaN weight makes torch's output NaN while the circuit, built from integer
weights, still answers a definite class; an infinite BatchNorm statistic does
the same to a threshold.  No circuit can match such a model, so the frontend
refuses it with a :class:`~nandc.errors.QuantizationError` naming the layer.
"""

from __future__ import annotations

from nandc.errors import QuantizationError

__all__ = ["check_finite", "check_parameters"]


def check_finite(tensor, layer: str, what: str) -> None:
    """Raise if the float tensor ``tensor`` (``what`` of ``layer``) holds NaN or an infinity."""
    import torch

    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
        return
    with torch.no_grad():
        bad = ~torch.isfinite(tensor.detach())
        if not bool(bad.any()):
            return
        index = tuple(int(i) for i in bad.nonzero()[0])
        value = float(tensor.detach()[index]) if index else float(tensor.detach())
        count = int(bad.sum())
    raise QuantizationError(
        f"layer {layer!r}: {what} holds {count} non-finite value(s) (first {value} at index {index}); "
        "a NaN or infinite parameter has no integer equivalent in a circuit: retrain or repair the layer"
    )


def check_parameters(module, layer: str) -> None:
    """:func:`check_finite` on every float parameter and buffer of ``module`` itself (not its children)."""
    for name, tensor in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
        check_finite(tensor, layer, name)
