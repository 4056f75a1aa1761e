"""Conversion driver: torch.fx graph of a model -> Circuit.

Every node of the traced graph is converted in order by its registered
converter.  Nodes without a converter are all reported at once in one
:class:`~nandc.errors.UnsupportedLayer` error before any logic is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nandc.errors import QuantizationError, UnsupportedLayer
from nandc.frontend import registry
from nandc.frontend.materialize import materialize
from nandc.frontend.values import ChainStep, FloatInput, IntTensor, Pending
from nandc.ir.circuit import Circuit

__all__ = ["Context", "convert_graph", "as_ints", "append_step", "describe_target", "INPUT_BUS"]

#: name of the circuit's input bus (the model's quantized input)
INPUT_BUS = "x"


@dataclass
class Context:
    """What a converter sees: the circuit, the node's layer name, the model."""

    circuit: Circuit
    layer: str
    model: Any
    inputs: dict[str, Any] = field(default_factory=dict)

    def ints(self, value: Any) -> IntTensor:
        return as_ints(self.circuit, value, self.layer)


def as_ints(c: Circuit, value: Any, consumer: str) -> IntTensor:
    """The exact integer codes of ``value``; folds a Pending chain into thresholds."""
    if isinstance(value, IntTensor):
        return value
    if isinstance(value, Pending):
        if not value.chain:
            if value.exact:
                return value.acc
            raise QuantizationError(
                f"layer {consumer!r} receives the float output of {value.layer!r}; add a quantizer "
                "between them, e.g. nandc.nn.SignActivation() or nandc.nn.ReLUQuant(bits, step)"
            )
        return materialize(c, value)
    if isinstance(value, FloatInput):
        raise QuantizationError(
            f"layer {consumer!r} receives the float model input {value.name!r}; "
            "quantize it first with nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)"
        )
    raise QuantizationError(f"layer {consumer!r} receives {type(value).__name__}, expected a quantized tensor")


def _identity(t):
    return t


def append_step(ctx, value, step: ChainStep):
    """Append ``step`` to the chain of ``value`` (an IntTensor starts a new chain)."""
    if isinstance(value, IntTensor):
        value = Pending(value, _identity, value.source or ctx.layer, (), 0, True)
    if not isinstance(value, Pending):
        return ctx.ints(value)  # raises the right QuantizationError
    return value.then(step)


def describe_target(node, modules: dict[str, Any]) -> str:
    if node.op == "call_module":
        return type(modules[node.target]).__module__ + "." + type(modules[node.target]).__qualname__
    if node.op == "call_function":
        t = node.target
        return f"{getattr(t, '__module__', '') or ''}.{getattr(t, '__name__', repr(t))}".lstrip(".")
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return node.op


def _converter_for(node, modules):
    if node.op == "call_module":
        return registry.find_module_converter(modules[node.target])
    if node.op == "call_function":
        return registry.FUNCTIONS.get(node.target)
    if node.op == "call_method":
        return registry.METHODS.get(node.target)
    return None


def check_supported(graph, modules: dict[str, Any]) -> None:
    """Raise one UnsupportedLayer naming every node that has no converter."""
    missing = []
    for node in graph.nodes:
        if node.op in ("call_module", "call_function", "call_method"):
            if _converter_for(node, modules) is None:
                missing.append((node.target if node.op == "call_module" else node.name,
                                describe_target(node, modules)))
        elif node.op == "get_attr":
            missing.append((node.name, f"parameter access {node.target!r} in forward()"))
    if missing:
        raise UnsupportedLayer(missing)


def _layer_name(node) -> str:
    if node.op == "call_module":
        return str(node.target)
    return node.name


def convert_graph(gm, example_shape: tuple[int, ...], circuit: Circuit) -> tuple[dict[str, Any], Any]:
    """Convert every node; returns ``(inputs by placeholder name, output value)``."""
    import torch.fx as fx

    modules = dict(gm.named_modules())
    check_supported(gm.graph, modules)
    env: dict[Any, Any] = {}
    ctx_inputs: dict[str, Any] = {}
    out_value = None
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise QuantizationError(
            f"expected a model with exactly one input tensor, found {len(placeholders)}: "
            f"{[p.name for p in placeholders]}"
        )

    def load(a):
        return fx.node.map_arg(a, lambda n: env[n])

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            env[node] = FloatInput(INPUT_BUS, tuple(example_shape))
            continue
        if node.op == "output":
            out_value = load(node.args[0])
            break
        ctx = Context(circuit, _layer_name(node), gm, ctx_inputs)
        args, kwargs = load(node.args), load(node.kwargs)
        conv = _converter_for(node, modules)
        target = modules[node.target] if node.op == "call_module" else node.target
        env[node] = conv(ctx, target, list(args), dict(kwargs))
    return ctx_inputs, out_value
