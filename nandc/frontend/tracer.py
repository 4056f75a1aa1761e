"""torch.fx tracing with nandc's layers (and torch's built-in layers) as leaves."""

from __future__ import annotations

__all__ = ["trace"]


def trace(model):
    """Symbolically trace ``model``; layers with a converter (``nandc.nn`` layers and
    their subclasses, supported torch layers) and ``torch.nn`` layers stay whole;
    containers of ``nandc.nn`` (a transformer block, a whole model) are traced into.

    Raises :class:`~nandc.errors.UnsupportedLayer` when torch.fx cannot trace the
    model (data-dependent control flow), naming the model class.
    """
    import torch.fx as fx
    from torch import nn

    from nandc.errors import UnsupportedLayer
    from nandc.frontend.registry import find_module_converter

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            if find_module_converter(m) is not None:
                return True
            if type(m).__module__.startswith("nandc.nn"):  # containers (blocks, whole models) are traced into
                return next(m.children(), None) is None
            return super().is_leaf_module(m, qualname)

    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # fx raises many types for untraceable code
        raise UnsupportedLayer([(type(model).__name__, f"torch.fx cannot trace forward(): {exc}")]) from exc
    return fx.GraphModule(tracer.root, graph, type(model).__name__)
