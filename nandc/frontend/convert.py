"""Conversion driver: torch.fx graph of a model -> a staged Program (or one flat circuit).

Every node of the traced graph is converted in order by its registered
converter.  Nodes without a converter are all reported at once in one
:class:`~nandc.errors.UnsupportedLayer` error before any logic is built.

Two modes share this driver (see :mod:`nandc.frontend.staging`):

* **flat** -- every converter runs in ONE whole-sample stage: the classic
  flat circuit, unrolled over every position;
* **staged** -- convolutions open window stages (one output position each),
  linear layers whole-sample stages, elementwise layers continue in the stage
  of their input (or open a pointwise stage on a program tensor), and data
  movement (pooling, reshapes, additions) runs between stages on codes.

Before any conversion, every node that depends on parameters, buffers and
constants alone is evaluated by torch (:func:`fold_constants`): a weight
quantized inside ``forward`` reaches its ``F.linear`` as a
:class:`~nandc.frontend.values.Const`, whose integer grid the converter then
finds.  Elementwise layers applied to the float model input collect on it
(:class:`~nandc.frontend.values.FloatInput` ``chain``) until a layer needs
integers; a chain that quantizes then becomes the program's input encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nandc.errors import NandcError, QuantizationError, UnsupportedLayer
from nandc.frontend import registry
from nandc.frontend.materialize import materialize
from nandc.frontend.staging import OpenStage, ProgramBuilder, ProgramTensor, StageValue, WindowInput
from nandc.frontend.values import ChainStep, Const, FloatInput, IntTensor, Pending, RowHead
from nandc.ir.circuit import Circuit
from nandc.ir.program import Rows, Whole, Window

__all__ = ["Context", "MoveContext", "convert_graph", "as_ints", "append_step", "describe_target",
           "float_output_error", "fold_constants", "INPUT_BUS"]

#: name of the circuit's input bus (the model's quantized input)
INPUT_BUS = "x"


def _window_of(fn, target, args, kwargs, layer: str):
    """The receptive field of a window converter; its errors (raised before the layer is
    named, as ``layer ''``) get the layer's name."""
    try:
        return registry.WINDOWS[fn](target, args, kwargs)
    except NandcError as err:
        message = str(err)
        if message.startswith("layer '':"):
            raise type(err)(f"layer {layer!r}:" + message[len("layer '':"):]) from None
        raise


@dataclass
class Context:
    """What a converter sees: the stage circuit, the node's layer name, the model.

    ``window`` is set inside a window stage (the converter then builds one
    output position from the receptive field it receives); ``builder`` is the
    program under construction (input quantizers add the program input);
    ``node`` is the fx node's name (unique, unlike a module called twice).
    """

    circuit: Circuit | None
    layer: str
    model: Any
    inputs: dict[str, Any] = field(default_factory=dict)
    builder: ProgramBuilder | None = None
    window: WindowInput | None = None
    staged: bool = False
    node: str = ""

    def ints(self, value: Any) -> IntTensor:
        return as_ints(self.circuit, value, self.layer)


@dataclass
class MoveContext:
    """What a staged data-movement function sees: the program builder and the layer name."""

    builder: ProgramBuilder
    layer: str
    model: Any

    def exact(self, t: ProgramTensor) -> ProgramTensor:
        """``t`` itself if its integers are the torch values (up to the step), else an error."""
        if t.pending is not None and not t.pending.exact:
            raise float_output_error(self.layer, t.pending.layer)
        return t


def float_output_error(consumer: str, producer: str) -> QuantizationError:
    return QuantizationError(
        f"layer {consumer!r} receives the float output of {producer!r}; add a quantizer "
        "between them, e.g. nandc.nn.SignActivation() or nandc.nn.ReLUQuant(bits, step)"
    )


def as_ints(c: Circuit, value: Any, consumer: str) -> IntTensor:
    """The exact integer codes of ``value``; folds a Pending chain into thresholds."""
    if isinstance(value, IntTensor):
        return value
    if isinstance(value, Pending):
        if not value.chain:
            if value.exact:
                return value.acc
            raise float_output_error(consumer, value.layer)
        return materialize(c, value)
    if isinstance(value, FloatInput):
        raise QuantizationError(
            f"layer {consumer!r} receives the float model input {value.name!r}; "
            "quantize it first with nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)"
        )
    if isinstance(value, Const):
        raise QuantizationError(
            f"layer {consumer!r} receives a constant computed from parameters alone ({value.node or 'a tensor'}) "
            "where it expects a tensor computed from the model input"
        )
    raise QuantizationError(f"layer {consumer!r} receives {type(value).__name__}, expected a quantized tensor")


def _identity(t):
    return t


def append_step(ctx, value, step: ChainStep):
    """Append ``step`` to the chain of ``value`` (an IntTensor starts a new chain; the float
    model input collects its chain until a layer needs integers)."""
    if isinstance(value, FloatInput):
        return value.then(step)
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


def _fetch_attr(gm, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def fold_constants(gm, modules: dict[str, Any]) -> dict[Any, Any]:
    """Evaluate, with torch, every node that depends on parameters, buffers and constants alone.

    Returns ``{node: value}``.  Modules with a registered folder (see
    :func:`~nandc.frontend.registry.module_folder`) are evaluated by it, so
    that nothing with state (a fake quantizer's observer) runs.
    """
    import torch
    import torch.fx as fx

    consts: dict[Any, Any] = {}
    for node in gm.graph.nodes:
        if node.op == "get_attr":
            consts[node] = _fetch_attr(gm, node.target)
            continue
        if node.op not in ("call_function", "call_method", "call_module"):
            continue
        if not all(d in consts for d in node.all_input_nodes):
            continue
        args = fx.node.map_arg(node.args, lambda n: consts[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: consts[n])
        try:
            with torch.no_grad():
                if node.op == "call_function":
                    value = node.target(*args, **kwargs)
                elif node.op == "call_method":
                    value = getattr(args[0], node.target)(*args[1:], **kwargs)
                else:
                    module = modules[node.target]
                    folder = registry.find_module_folder(module)
                    value = folder(module, _layer_name(node), *args, **kwargs) if folder else module(*args, **kwargs)
        except NandcError:
            raise
        except Exception as exc:  # user code and torch raise anything
            first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
            raise QuantizationError(
                f"{_layer_name(node)!r} ({describe_target(node, modules)}) computes a constant from the model's "
                f"parameters, and evaluating it failed: {type(exc).__name__}: {first}"
            ) from exc
        consts[node] = value
    return consts


def _is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def check_supported(graph, modules: dict[str, Any], consts: dict | None = None) -> None:
    """Raise one UnsupportedLayer naming every node that has no converter (folded constants need none)."""
    missing = []
    consts = consts or {}
    for node in graph.nodes:
        if node in consts:
            continue
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


def _module_path(node) -> str | None:
    """The innermost module (traced through) whose forward called this function, if any."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return None
    key, value = list(stack.items())[-1]
    path = value[0] if isinstance(value, tuple) and value and isinstance(value[0], str) else key
    return path or None


def layer_names(gm, consts: dict) -> dict[Any, str]:
    """The name each converted node goes by in circuits and messages.

    A module's own name; for a function called inside a user module that
    was traced through (``F.conv2d`` in a ``Conv4bit``), that module's name,
    or ``module.function`` when the module calls several converted functions.
    """
    names: dict[Any, str] = {}
    paths: dict[Any, str] = {}
    count: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node in consts or node.op not in ("call_function", "call_method"):
            continue
        path = _module_path(node)
        if path:
            paths[node] = path
            count[path] = count.get(path, 0) + 1
    for node in gm.graph.nodes:
        if node in paths:
            path = paths[node]
            names[node] = path if count[path] == 1 else f"{path}.{node.name}"
        else:
            names[node] = _layer_name(node)
    return names


def _tensor_values(items) -> list:
    """Tensor-like values among converted arguments (nested in lists and tuples too)."""
    found = []
    for v in items:
        if isinstance(v, (list, tuple)):
            found.extend(_tensor_values(v))
        elif isinstance(v, (FloatInput, ProgramTensor, StageValue)):
            found.append(v)
    return found


def _map_values(fn, item):
    if isinstance(item, (list, tuple)):
        return type(item)(_map_values(fn, v) for v in item)
    if isinstance(item, dict):
        return {k: _map_values(fn, v) for k, v in item.items()}
    if isinstance(item, (ProgramTensor, StageValue)):
        return fn(item)
    return item


class _Driver:
    """Places each converter call in a stage or between stages (see the module docstring)."""

    def __init__(self, builder: ProgramBuilder, model, inputs: dict, staged: bool):
        self.builder = builder
        self.model = model
        self.inputs = inputs
        self.staged = staged
        self.flat_stage: OpenStage | None = None
        self.inner: dict[tuple[int, str], Any] = {}  # (stage, program tensor) -> inner value
        self.node = ""  # name of the fx node being converted

    def context(self, layer: str, stage: OpenStage | None = None, window=None) -> Context:
        return Context(stage.circuit if stage else None, layer, self.model, self.inputs, self.builder, window,
                       self.staged, self.node)

    # -------------------------------------------------------------- values
    def tensor(self, v) -> ProgramTensor:
        """``v`` as a program tensor (a stage value is exported)."""
        if isinstance(v, StageValue):
            return self.builder.export(v)
        return v

    def open(self, gather, x: ProgramTensor, layer: str, share: bool = False):
        stage, inner, window = self.builder.open(gather, x, layer, share)
        self.inner[(stage.index, x.name)] = inner
        return stage, inner, window

    def inside(self, stage: OpenStage, v):
        """The inner value of ``v`` in ``stage``."""
        if isinstance(v, StageValue):
            if v.stage is not stage:
                raise QuantizationError(
                    f"values of two stages ({v.stage.name!r}, {stage.name!r}) meet in one layer; "
                    "this combination is not supported"
                )
            return v.value
        key = (stage.index, v.name)
        if key not in self.inner:
            raise QuantizationError(f"tensor {v.name!r} is not an input of stage {stage.name!r}")
        return self.inner[key]

    def run_in(self, stage: OpenStage, fn, target, layer: str, args, kwargs, window=None):
        ctx = self.context(layer, stage, window)
        inner_args = _map_values(lambda v: self.inside(stage, v), args)
        inner_kwargs = _map_values(lambda v: self.inside(stage, v), kwargs)
        result = fn(ctx, target, list(inner_args), dict(inner_kwargs))
        if isinstance(result, (IntTensor, Pending)):
            return StageValue(stage, result)
        return result

    def stage_of(self, v, layer: str, pointwise: bool) -> OpenStage:
        """The stage a one-input layer runs in: ``v``'s own, or a new one reading it."""
        if isinstance(v, StageValue) and (pointwise or v.whole):
            return v.stage
        x = self.tensor(v)
        gather = Window((1, 1)) if pointwise and len(x.shape) == 3 else Whole()
        return self.open(gather, x, layer)[0]

    # -------------------------------------------------------------- one node
    def declare_inputs(self, layer: str, args: list, kwargs: dict) -> tuple[list, dict]:
        """Turn a quantizing chain on the float model input into the program input (see
        :mod:`nandc.frontend.inputs`); other values are left as they are."""
        from nandc.frontend.inputs import declare_input

        def declare(v):
            if isinstance(v, FloatInput) and v.chain and v.chain[-1].rounds:
                return declare_input(self.context(layer), v)
            return v

        def walk(item):
            if isinstance(item, (list, tuple)):
                return type(item)(walk(v) for v in item)
            return declare(item)

        return walk(list(args)), {k: walk(v) for k, v in kwargs.items()}

    def apply(self, fn, target, layer: str, args: list, kwargs: dict):
        heads = [a for a in list(args) + list(kwargs.values()) if isinstance(a, RowHead)]
        if heads:
            raise QuantizationError(
                f"layer {layer!r} uses the output of {heads[0].function}; softmax and log_softmax are supported "
                "only as the model's last layer (the class is the argmax of the logits)")
        kind = registry.kind_of(fn, args, kwargs)
        values = _tensor_values(list(args) + list(kwargs.values()))
        if kind == "identity":
            return args[0]
        if kind not in ("elementwise", "meta") and any(isinstance(v, FloatInput) for v in values):
            args, kwargs = self.declare_inputs(layer, args, kwargs)
            values = _tensor_values(list(args) + list(kwargs.values()))
        if kind == "meta" or not values or any(isinstance(v, FloatInput) for v in values):
            # shape queries, input quantizers (they add the program input) and the errors
            # a converter raises for a float input need no stage
            return fn(self.context(layer), target, list(args), dict(kwargs))
        if not self.staged:
            return self.run_in(self.flat(values[0], layer), fn, target, layer, args, kwargs)
        first = values[0]
        if kind == "window":
            stage, inner, window = self.open(_window_of(fn, target, args, kwargs, layer), self.tensor(first),
                                             layer, share=True)
            rest = _map_values(lambda v: self.inside(stage, v), list(args[1:]))
            return self.run_in(stage, fn, target, layer, [inner] + list(rest), kwargs, window)
        if kind == "movement":
            stages = {id(v.stage) for v in values if isinstance(v, StageValue)}
            if len(stages) == 1 and all(isinstance(v, StageValue) and v.whole for v in values):
                return self.run_in(values[0].stage, fn, target, layer, args, kwargs)
            mctx = MoveContext(self.builder, layer, self.model)
            return registry.STAGED[fn](mctx, target, _map_values(self.tensor, list(args)),
                                       _map_values(self.tensor, dict(kwargs)))
        if kind == "token":
            if isinstance(first, StageValue) and (first.whole or isinstance(first.stage.gather, Rows)):
                stage = first.stage
            else:
                x = self.tensor(first)
                stage = self.open(Rows() if len(x.shape) == 2 else Whole(), x, layer, share=True)[0]
            return self.run_in(stage, fn, target, layer, args, kwargs)
        stage = self.stage_of(first, layer, pointwise=kind == "elementwise")
        return self.run_in(stage, fn, target, layer, args, kwargs)

    def flat(self, v, layer: str) -> OpenStage:
        """The one stage of a flat conversion (opened on the program input, or the whole-sample
        stage an input layer opened itself, as ``ThresholdInput`` does)."""
        if self.flat_stage is None:
            if isinstance(v, StageValue) and v.whole:
                self.flat_stage = v.stage
            else:
                self.flat_stage = self.open(Whole(), self.tensor(v), layer)[0]
        return self.flat_stage

    def output(self, value):
        """Make the program outputs (see :meth:`ProgramBuilder.head`); a final softmax or log_softmax
        (:class:`~nandc.frontend.values.RowHead`) is noted in ``builder.output_function``."""
        if isinstance(value, RowHead):
            self.builder.output_function = value.function
            value = value.value
        if isinstance(value, FloatInput) and value.chain and value.chain[-1].rounds:
            from nandc.frontend.inputs import declare_input

            value = declare_input(self.context("output"), value)
        if isinstance(value, FloatInput):
            raise QuantizationError(
                "the model's input never reaches an input quantizer; start the model with "
                "nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)"
            )
        if not isinstance(value, (ProgramTensor, StageValue)):
            raise QuantizationError(
                f"the model's output is {type(value).__name__}; expected a tensor computed by nandc layers"
            )
        if not self.staged and isinstance(value, ProgramTensor):
            stage = self.flat(value, "")
            value = StageValue(stage, self.inside(stage, value))
        return self.builder.head(value)


def convert_graph(gm, example_shape: tuple[int, ...], builder: ProgramBuilder, staged: bool = False):
    """Convert every node into ``builder``; returns ``(inputs by placeholder name, head)``.

    ``head`` is ``(output kind, step, dequantize, output shape)`` (see
    :meth:`~nandc.frontend.staging.ProgramBuilder.head`).
    """
    import torch.fx as fx

    modules = dict(gm.named_modules())
    consts = fold_constants(gm, modules)
    check_supported(gm.graph, modules, consts)
    env: dict[Any, Any] = {}
    inputs: dict[str, Any] = {}
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise QuantizationError(
            f"expected a model with exactly one input tensor, found {len(placeholders)}: "
            f"{[p.name for p in placeholders]}"
        )
    driver = _Driver(builder, gm, inputs, staged)
    names = layer_names(gm, consts)

    def load(a):
        return fx.node.map_arg(a, lambda n: env[n])

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            env[node] = FloatInput(INPUT_BUS, tuple(example_shape))
            continue
        if node in consts:
            value = consts[node]
            env[node] = Const(value, _layer_name(node)) if _is_tensor(value) else value
            continue
        if node.op == "output":
            return inputs, driver.output(load(node.args[0]))
        conv = _converter_for(node, modules)
        target = modules[node.target] if node.op == "call_module" else node.target
        driver.node = node.name
        env[node] = driver.apply(conv, target, names[node], list(load(node.args)), dict(load(node.kwargs)))
    raise QuantizationError("the traced model has no output")
