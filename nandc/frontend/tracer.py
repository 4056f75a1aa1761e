"""torch.fx tracing with nandc's layers (and torch's built-in layers) as leaves.

Everything else is traced through: a user's own module that quantizes its
weight in ``forward`` becomes the functions it calls (``torch.round``,
``F.conv2d`` ...), whose parameter-only parts the frontend then folds into
constants.  Brevitas layers stay whole, so errors name them.
"""

from __future__ import annotations

__all__ = ["trace", "TRACED"]

TRACED = "_nandc_traced"
"""Attribute set on GraphModules that nandc traced (and may have edited); they are not traced again."""


def trace(model):
    """Symbolically trace ``model``; layers with a converter (``nandc.nn`` layers and
    their subclasses, supported torch layers, Brevitas layers) and ``torch.nn``
    layers stay whole; ``torch.ao.nn.qat`` layers, user modules and containers of
    ``nandc.nn`` (a transformer block, a whole model) are traced through.

    Raises :class:`~nandc.errors.UnsupportedLayer` when torch.fx cannot trace the
    model (data-dependent control flow), naming the model class, and for
    modules with forward hooks (which torch.fx does not run).
    """
    import torch.fx as fx
    from torch import nn

    from nandc.errors import UnsupportedLayer
    from nandc.frontend.registry import find_module_converter

    if isinstance(model, fx.GraphModule) and getattr(model, TRACED, False):
        return model  # traced by nandc already (nandc.quantize_activations): keep its names

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            module = type(m).__module__ or ""
            if module.startswith("brevitas.nn") or find_module_converter(m) is not None:
                return True
            if module.startswith("nandc.nn"):  # containers (blocks, whole models) are traced into
                return next(m.children(), None) is None
            if module.startswith(("torch.ao.nn.qat", "torch.ao.nn.intrinsic.qat")):
                return False  # fake-quantized weights: traced through, then folded
            return super().is_leaf_module(m, qualname)

    hooked = [(name or type(model).__name__, "forward hook (torch.fx does not run hooks: call the layer in "
                                              "forward() instead; for torch.ao QAT use prepare_qat_fx)")
              for name, m in model.named_modules()
              if getattr(m, "_forward_hooks", None) or getattr(m, "_forward_pre_hooks", None)]
    if hooked:
        raise UnsupportedLayer(hooked)
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # fx raises many types for untraceable code
        raise UnsupportedLayer([(type(model).__name__, f"torch.fx cannot trace forward(): {exc}")]) from exc
    gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    setattr(gm, TRACED, True)
    return gm
