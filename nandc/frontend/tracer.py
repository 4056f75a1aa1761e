"""torch.fx tracing with nandc's layers (and torch's built-in layers) as leaves.

Everything else is traced through: a user's own module that quantizes its
weight in ``forward`` becomes the functions it calls (``torch.round``,
``F.conv2d`` ...), whose parameter-only parts the frontend then folds into
constants.  Brevitas layers stay whole, so errors name them.
"""

from __future__ import annotations

__all__ = ["trace", "TRACED", "lift_1d"]

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
    lift_1d(gm)
    setattr(gm, TRACED, True)
    return gm


def _one(v) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _pool_function_1d(node, F):
    """The 2-D call of ``F.max_pool1d`` / ``F.avg_pool1d`` (None when it returns indices)."""
    names = (["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]
             if node.target is F.max_pool1d else
             ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"])
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False,
                "count_include_pad": True}
    a = dict(zip(names, node.args[1:]))
    a.update({k: v for k, v in node.kwargs.items() if k in names})
    for k in names:
        a.setdefault(k, defaults.get(k))
    if a.get("return_indices"):
        return None
    kernel = _one(a["kernel_size"])
    stride = kernel if a["stride"] is None else _one(a["stride"])
    window = ((1, kernel), (1, stride), (0, _one(a["padding"])))
    if node.target is F.max_pool1d:
        return F.max_pool2d, window + ((1, _one(a["dilation"])), a["ceil_mode"]), {}
    return F.avg_pool2d, window + (a["ceil_mode"], a["count_include_pad"]), {}


def lift_1d(gm) -> int:
    """Rewrite 1-D layers as the 2-D layers of height 1 they are; returns how many were rewritten.

    ``nn.Conv1d`` / ``F.conv1d``, ``nn.MaxPool1d`` / ``F.max_pool1d`` and
    ``nn.AvgPool1d`` / ``F.avg_pool1d`` on an ``(N, C, L)`` tensor become
    ``x.unsqueeze(2)``, the 2-D function with a ``(1, k)`` window, then
    ``squeeze(2)``: the same values, and every 2-D converter (grid weights,
    staged windows, exact padding) applies.  The 2-D node keeps the layer's
    name.  Subclasses (Brevitas ``QuantConv1d``...) and a Conv1d whose padding
    mode is not zeros are left alone (and reported as unsupported).
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    graph, modules, done = gm.graph, dict(gm.named_modules()), 0
    for node in list(graph.nodes):
        mod = modules.get(node.target) if node.op == "call_module" else None
        if mod is not None and type(mod) not in (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d):
            mod = None  # a subclass (a Brevitas QuantConv1d ...) computes something else: left alone
        spec = None
        if isinstance(mod, nn.Conv1d) and mod.padding_mode == "zeros":
            with graph.inserting_before(node):
                weight = graph.call_method("unsqueeze", (graph.get_attr(f"{node.target}.weight"), 2))
                bias = None if mod.bias is None else graph.get_attr(f"{node.target}.bias")
            padding = mod.padding if isinstance(mod.padding, str) else (0, _one(mod.padding))
            spec = (F.conv2d, (weight, bias, (1, _one(mod.stride)), padding, (1, _one(mod.dilation)), mod.groups), {})
        elif isinstance(mod, nn.MaxPool1d) and not mod.return_indices:
            stride = mod.stride if mod.stride is not None else mod.kernel_size
            spec = (F.max_pool2d, ((1, _one(mod.kernel_size)), (1, _one(stride)), (0, _one(mod.padding)),
                                   (1, _one(mod.dilation)), mod.ceil_mode), {})
        elif isinstance(mod, nn.AvgPool1d):
            stride = mod.stride if mod.stride is not None else mod.kernel_size
            spec = (F.avg_pool2d, ((1, _one(mod.kernel_size)), (1, _one(stride)), (0, _one(mod.padding)),
                                   mod.ceil_mode, mod.count_include_pad), {})
        elif node.op == "call_function" and node.target in (F.conv1d, torch.conv1d) and len(node.args) >= 2:
            with graph.inserting_before(node):
                weight = graph.call_method("unsqueeze", (node.args[1], 2))
            a = list(node.args[2:]) + [None] * (5 - len(node.args[2:]))
            bias = a[0] if a[0] is not None else node.kwargs.get("bias")
            stride = a[1] if a[1] is not None else node.kwargs.get("stride", 1)
            padding = a[2] if a[2] is not None else node.kwargs.get("padding", 0)
            dilation = a[3] if a[3] is not None else node.kwargs.get("dilation", 1)
            groups = a[4] if a[4] is not None else node.kwargs.get("groups", 1)
            padding = padding if isinstance(padding, str) else (0, _one(padding))
            spec = (F.conv2d, (weight, bias, (1, _one(stride)), padding, (1, _one(dilation)), groups), {})
        elif node.op == "call_function" and node.target in (F.max_pool1d, F.avg_pool1d):
            spec = _pool_function_1d(node, F)
        if spec is None:
            continue
        fn, rest, kwargs = spec
        source = node.args[0]
        with graph.inserting_before(node):
            lifted = graph.call_method("unsqueeze", (source, 2))
            two_d = graph.call_function(fn, (lifted,) + tuple(rest), kwargs)
            out = graph.call_method("squeeze", (two_d, 2))
        path = str(node.target) if node.op == "call_module" else None
        stack = dict(node.meta.get("nn_module_stack") or {})
        if path:
            stack[path] = (path, type(mod))
        if stack:
            two_d.meta["nn_module_stack"] = stack
        node.replace_all_uses_with(out)
        graph.erase_node(node)
        done += 1
    if done:
        graph.lint()
        gm.recompile()
    return done
