"""CompiledModel: a trained model as NAND2 netlists, ready to run, report and save.

:func:`compile` (exposed as ``nandc.compile``) traces a PyTorch model, builds
its exact program -- one flat circuit for a small model, or stages compiled
once per output position for a large one -- runs a pass pipeline on every
stage and lowers it to NAND2 gates.  :func:`load` reads a model saved with
:meth:`CompiledModel.save`; loading needs neither torch nor the model's code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any, Callable, Iterable, Protocol

import numpy as np

from nandc.encoding import encode_input
from nandc.errors import BackendError, CircuitError, ParseError
from nandc.files.fsutil import atomic_write
from nandc.interface import Interface
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist
from nandc.ir.program import Attention, Embed, Program, Stage, Window, array_keys, flat_program, program_from_dict, program_to_dict

__all__ = ["CompiledModel", "compile", "compile_onnx", "load", "compile_stage", "StageExecutor", "DEFAULT_PIPELINE",
           "FLAT_BUDGET"]

DEFAULT_PIPELINE = "O2"
FLAT_BUDGET = 1_000_000
"""``nandc.compile(staged=None)`` builds a flat circuit when the flat circuit is
estimated (kernel AND nodes times positions) to stay under this many AIG nodes."""
_FORMAT_V1 = "nandc-model/1"
_FORMAT = "nandc-model/2"


class CompiledModel:
    """A compiled model: its program of NAND2 netlists plus how to feed it and read its outputs.

    Attributes
    ----------
    program : Program
        The stages (each with its NAND2 netlist and, in this process, the
        circuit the frontend built) and the data movement between them.  A
        flat model is a program of one whole-sample stage.
    interface : nandc.interface.Interface
        Input name, shape and encoding; output shape and meaning.
    stats : list
        One :class:`nandc.passes.Stats` per pass that ran (every stage's in turn).
    """

    def __init__(self, program: Program, interface: Interface, stats: list | None = None,
                 pipeline: str | None = None):
        self.program = program
        self.interface = interface
        self.stats = list(stats or [])
        self.pipeline = pipeline
        self._programs: dict = {}  # stage index -> JIT program, loaded on first use
        self._fused: dict = {}  # (roles, dtype) -> (FusedPlan or None, FusedRunner or None)

    def __getstate__(self) -> dict:
        """Pickle without the loaded machine code (it is reloaded on first use)."""
        state = dict(self.__dict__)
        state["_programs"], state["_fused"] = {}, {}
        return state

    @classmethod
    def from_netlist(cls, netlist: NandNetlist, interface: Interface, stats: list | None = None) -> "CompiledModel":
        """A flat model around one netlist (input bus ``interface.input_name``, outputs ``logits``/``class``)."""
        return cls(flat_program(netlist, interface.input_name), interface, stats)

    def __repr__(self) -> str:
        i = self.interface
        what = (f"{self.num_gates} NAND2 gates" if not self.staged else
                f"{len(self.program.stages)} stages, {self.num_gates} NAND2 gates, "
                f"{self.gate_evaluations} gate evaluations per sample")
        return f"CompiledModel(input {i.input_name}{list(i.input_shape)}, output {list(i.output_shape)}, {what})"

    # ------------------------------------------------------------------ views
    @property
    def staged(self) -> bool:
        """True unless the program is one flat circuit."""
        return not self.program.is_flat

    def _flat_stage(self, what: str) -> Stage:
        if self.staged:
            raise BackendError(
                f"this model compiled to a staged program of {len(self.program.stages)} stages, which has no "
                f"single {what}; use .program.stages[i].{what}, or compile with staged=False for one flat circuit"
            )
        return self.program.stages[0]

    @property
    def netlist(self) -> NandNetlist:
        """The NAND2 netlist of a flat model (a staged model has one per stage)."""
        return self._flat_stage("netlist").netlist

    @property
    def circuit(self) -> Circuit | None:
        """The AIG the frontend built for a flat model (None for a loaded model)."""
        return self._flat_stage("circuit").circuit

    @property
    def num_gates(self) -> int:
        """NAND2 gates of all stage netlists (inverters included); each stage counted once."""
        return sum(s.netlist.num_gates for s in self.program.stages)

    @property
    def gate_evaluations(self) -> int:
        """NAND2 gate evaluations per sample: every kernel's gates times its positions."""
        from nandc.ir.execute import gate_evaluations

        return gate_evaluations(self.program)

    # ------------------------------------------------------------------ running
    def _input_array(self, x) -> np.ndarray:
        arr = _to_numpy(x)
        shape = tuple(self.interface.input_shape)
        if arr.ndim != len(shape) + 1 or tuple(arr.shape[1:]) != shape:
            raise BackendError(
                f"expected input of shape (N, {', '.join(map(str, shape))}), found {tuple(arr.shape)}"
            )
        return arr

    def encode(self, x) -> np.ndarray:
        """The input codes the program sees for a float input batch ``x`` (N, *input_shape)."""
        return encode_input(self.interface.input_encoding, self._input_array(x))

    def run(self, x, backend: str = "jit", threads: int | None = None,
            fused: bool | None = None) -> dict[str, np.ndarray]:
        """Run the program on a float input batch; returns integer outputs.

        ``"logits"``: the exact integer logits, shape ``(N, *output_shape)``;
        ``"class"`` (for a vector output): index of the first maximal logit,
        which is what ``model(x).argmax(1)`` returns.  ``backend`` is
        ``"jit"`` (LLVM, bit-parallel, multi-threaded) or ``"reference"``
        (the numpy evaluator).

        With the JIT, a flat model whose input encoding is ``threshold`` or
        ``uniform`` runs *fused* by default: input encoding, bit packing,
        the netlist and output decoding in one native loop per thread
        (:mod:`nandc.backends.llvm.fused`), on float32 or float64 input
        (integer input is read as float32, as :meth:`encode` does).  The
        result is the same bit for bit.  ``fused=False`` forces the
        step-by-step path (numpy encoding, packing, netlist, unpacking);
        ``fused=True`` raises :class:`~nandc.errors.BackendError` where the
        fused path does not apply.
        """
        if fused is not False:
            result = self._run_fused(x, backend, threads, tuple(self.program.outputs), fused is True)
            if result is not None:
                return result
        return self.run_codes(self.encode(x), backend, threads)

    def _run_fused(self, x, backend: str, threads: int | None, roles: tuple[str, ...],
                   required: bool) -> dict[str, np.ndarray] | None:
        """The outputs ``roles`` by the fused path, or None where it does not apply (or an input
        has no code: the step-by-step path then raises its error)."""
        if backend != "jit":
            if required:
                raise BackendError(f"the fused path runs on the 'jit' backend, not {backend!r}")
            return None
        arr = self._input_array(x)
        if arr.dtype.kind in "iub":
            arr = arr.astype(np.float32)  # as encode_input reads integers
        key = (roles, arr.dtype.str)
        entry = self._fused.get(key)
        if entry is None:
            from nandc.backends.llvm.fused import plan_fused

            entry = self._fused[key] = [plan_fused(self.program, self.interface.input_encoding, roles,
                                                   arr.dtype), None]
        plan = entry[0]
        if plan is None:
            if required:
                raise BackendError(
                    f"the fused path does not apply to this model (it needs a flat program, a 'threshold' or "
                    f"'uniform' input encoding and float32/float64 input; found "
                    f"{'a staged' if self.staged else 'a flat'} program, encoding "
                    f"{self.interface.input_encoding.get('kind')!r}, input {arr.dtype})")
            return None
        n = arr.shape[0]
        if n == 0:
            return {role: np.zeros((0,) + shape, dtype=np.int64) for role, _, shape in plan.roles}
        if entry[1] is None:
            from nandc.backends.llvm.jit import FusedRunner, compile_netlist

            program = self._programs.get(0)
            net = self.program.stages[0].netlist
            if program is None or program.num_gates != net.num_gates:
                program = self._programs[0] = compile_netlist(net)
            entry[1] = FusedRunner(program, plan.spec)
        out = entry[1].run(np.ascontiguousarray(arr.reshape(n, -1)), threads)
        if out is None:
            return None
        return {role: block.reshape((n,) + shape) for (role, _, shape), block in zip(plan.roles, out)}

    def run_codes(self, codes: np.ndarray, backend: str = "jit", threads: int | None = None) -> dict[str, np.ndarray]:
        """:meth:`run` on input codes (as :meth:`encode` makes them)."""
        from nandc.ir.execute import execute, reference_runner

        if backend == "reference":
            runner = reference_runner
        elif backend == "jit":
            from nandc.backends.llvm.runner import jit_runner

            runner = jit_runner(threads, programs=self._programs)
        else:
            raise BackendError(f"unknown backend {backend!r}; expected 'jit' or 'reference'")
        return execute(self.program, codes, runner)

    def predict(self, x, backend: str = "jit", threads: int | None = None,
                fused: bool | None = None) -> np.ndarray:
        """Predicted class of every sample (requires a vector output); ``fused`` as for :meth:`run`
        (the fused path then decodes only the class)."""
        if not self.interface.has_class:
            raise BackendError("this model's output is not a vector of class scores; use run()")
        if fused is not False:
            result = self._run_fused(x, backend, threads, ("class",), fused is True)
            if result is not None:
                return result["class"]
        return self.run(x, backend, threads, fused=False)["class"]

    def to_torch_output(self, logits: np.ndarray):
        """The torch model's float output for the integer logits (needs torch).

        Equal, bit for bit, to the integer model's output (:meth:`reference`),
        which is ``model(x)`` in eval mode when every scale is a power of two.
        An ordinal head maps codes to the floats saved with the model; other
        heads need the model compiled in this process (a loaded model keeps
        no torch code).  A model ending in softmax / log_softmax gets it
        applied here, by torch, over the last axis.
        """
        import torch

        out = self._head_output(logits)
        function = self.interface.output_function
        if function:
            with torch.no_grad():
                out = getattr(torch, function)(out, dim=-1)
        return out

    def _head_output(self, logits: np.ndarray):
        import torch

        if self.interface.output_kind == "ordinal":
            table = np.asarray(self.interface.output_values, dtype=np.float32)
            codes = np.asarray(logits, dtype=np.int64)
            if codes.size and (codes.min() < 0 or codes.max() >= len(table)):
                raise BackendError(f"logits must be codes from 0 to {len(table) - 1} for this model's ordinal head")
            return torch.from_numpy(table[codes])
        raw = torch.from_numpy(np.asarray(logits, dtype=np.float64) * self.interface.output_step).to(torch.float32)
        if self.interface.output_kind == "codes":
            return raw
        if self.interface.dequantize is None:
            raise BackendError("the dequantization of a loaded model is not available; compare logits instead")
        with torch.no_grad():
            return self.interface.dequantize(raw)

    def reference(self, x):
        """The integer model's torch output for a float batch ``x`` (needs torch and the model).

        This is what the compiled program reproduces bit for bit: the model's
        forward with every linear and convolution sum computed exactly on
        integer codes (see :mod:`nandc.frontend.reference`).  With
        power-of-two scales it equals ``model(x)``.  Available on a model
        compiled in this process.
        """
        if self.interface.reference is None:
            raise BackendError("the integer reference needs the torch model; it is not saved with a model file")
        return self.interface.reference(x)

    # ------------------------------------------------------------------ outputs
    def report(self):
        """Per-layer gate report (:class:`nandc.backends.report.Report`); per stage for a staged model."""
        from nandc.backends.report import build_program_report, build_report

        if not self.staged:
            stage = self.program.stages[0]
            return build_report(stage.netlist, stage.circuit)
        return build_program_report(self.program)

    def to_verilog(self, path: str | os.PathLike | None = None, module_name: str | None = None) -> str:
        """Structural NAND2 Verilog; also written to ``path`` if given.

        A flat model is one module; a staged model is one module per stage
        kernel, after a comment block that describes the data movement.
        """
        from nandc.backends.verilog import program_to_verilog, to_verilog

        text = to_verilog(self.netlist, module_name) if not self.staged else program_to_verilog(self.program,
                                                                                                 module_name)
        if path is not None:
            with atomic_write(path) as f:
                f.write(text)
        return text

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to one ``.nandc`` file (a zip), atomically.

        A flat model is written in format 1 (one netlist, as every nandc
        version reads it); a staged one in format 2: the program, its tensor
        encodings and one netlist per stage.
        """
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("format", _FORMAT if self.staged else _FORMAT_V1)
            z.writestr("interface.json", json.dumps(self.interface.to_dict(), indent=1, sort_keys=True))
            if not self.staged:
                _write_netlist(z, "", self.netlist)
            else:
                doc, arrays = program_to_dict(self.program)
                z.writestr("program.json", json.dumps(doc, sort_keys=True))
                z.writestr("tensors.npz", _npz(arrays))
                for k, stage in enumerate(self.program.stages):
                    _write_netlist(z, f"stages/{k}/", stage.netlist)
        with atomic_write(path, "wb") as f:
            f.write(buf.getvalue())


# ---------------------------------------------------------------------- files
def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def _write_netlist(z: zipfile.ZipFile, prefix: str, net: NandNetlist) -> None:
    a, b = net.gate_arrays()
    z.writestr(prefix + "netlist.json", json.dumps(_netlist_meta(net), sort_keys=True))
    z.writestr(prefix + "gates.npz", _npz({"a": a.astype(np.uint32), "b": b.astype(np.uint32),
                                           "layer": net.gate_layers().astype(np.uint32)}))


def _netlist_meta(net: NandNetlist) -> dict:
    def buses(d):
        return [{"name": b.name, "bits": list(b.bits), "shape": list(b.shape), "signed": b.signed}
                for b in d.values()]

    return {"name": net.name, "inputs": net.num_inputs, "layers": net.layer_names,
            "input_buses": buses(net.input_buses), "output_buses": buses(net.output_buses)}


def load(path: str | os.PathLike) -> CompiledModel:
    """Read a model written by :meth:`CompiledModel.save` (no torch needed).

    The file is validated completely first (see :mod:`nandc.ir.io.modelfile`); any
    damage is a :class:`~nandc.errors.ParseError` naming the file.
    """
    from nandc.ir.io import modelfile as mf

    path = os.fspath(path)
    with mf.open_archive(path) as z:
        fmt = mf.read_member(z, "format", 64, path).decode("utf-8", errors="replace")
        if fmt not in (_FORMAT, _FORMAT_V1):
            raise ParseError(f"expected format {_FORMAT!r} (or {_FORMAT_V1!r}), found {fmt[:40]!r}", path)
        iface_doc = mf.read_json(z, "interface.json", path)
        if fmt == _FORMAT_V1:
            net = _read_netlist(z, "", path)
            iface = Interface.from_dict(mf.validate_interface(iface_doc, net, "interface.json", path),
                                        f"{path}: interface.json")
            return CompiledModel(flat_program(net, iface.input_name), iface)
        doc = mf.read_json(z, "program.json", path)
        names = doc.get("stages") if isinstance(doc, dict) else None
        tensors = doc.get("tensors") if isinstance(doc, dict) else None
        if not isinstance(names, list) or not isinstance(tensors, list) or len(tensors) > 1 << 20:
            raise ParseError("program.json: expected lists 'stages' and 'tensors'", path)
        arrays = mf.read_arrays(z, "tensors.npz", array_keys(doc), path)
        stages = [Stage(str(name), None, _read_netlist(z, f"stages/{k}/", path)) for k, name in enumerate(names)]
    iface = Interface.from_dict(iface_doc, f"{path}: interface.json")
    try:
        program = program_from_dict(doc, arrays, stages)
    except CircuitError as exc:
        raise ParseError(f"program.json: {exc}", path) from None
    _check_interface(iface, program, path)
    return CompiledModel(program, iface)


def _read_netlist(z: zipfile.ZipFile, prefix: str, path: str) -> NandNetlist:
    """One netlist of a model file (``<prefix>netlist.json`` and ``<prefix>gates.npz``), validated."""
    from nandc.ir.io import modelfile as mf

    meta = mf.read_json(z, prefix + "netlist.json", path)
    arrays = mf.read_arrays(z, prefix + "gates.npz", ("a", "b", "layer"), path)
    return mf.build_netlist(mf.validate_netlist(meta, arrays, prefix + "netlist.json", path), arrays)


def _check_interface(iface: Interface, program: Program, path: str) -> None:
    """The interface must describe the program's input and outputs."""
    from nandc.encoding import check_thresholds, code_bits

    src = program.tensors[program.input]
    try:
        bits = code_bits(iface.input_encoding)
    except (KeyError, TypeError, ValueError):
        raise ParseError(f"interface.json: unreadable input encoding {iface.input_encoding!r}", path) from None
    if iface.input_encoding.get("kind") == "thresholds":
        problem = check_thresholds(iface.input_encoding, src.size)
        if problem:
            raise ParseError(f"interface.json: input encoding 'thresholds': {problem}", path)
    if tuple(iface.input_shape) != src.shape or bits > src.bits or iface.input_name != program.input:
        raise ParseError(f"interface.json: input {iface.input_name!r} {list(iface.input_shape)} of {bits}-bit "
                         f"codes does not match the program input {program.input!r} {list(src.shape)} of "
                         f"{src.bits}-bit codes", path)
    logits = program.outputs.get("logits")
    if logits is None or program.tensors[logits].shape != tuple(iface.output_shape):
        raise ParseError(f"interface.json: output shape {list(iface.output_shape)} does not match the "
                         f"program's logits", path)
    if iface.has_class != ("class" in program.outputs):
        raise ParseError("interface.json: has_class does not match the program's outputs", path)


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


# ---------------------------------------------------------------------- compiling
def estimated_flat_nodes(program: Program) -> int:
    """AIG nodes a flat circuit of ``program`` would have: each kernel's nodes times its positions."""
    total = 0
    for op in program.kernels:
        total += program.stages[op.stage].circuit.num_ands * program.positions(op)
    return total


def _flat_possible(program: Program) -> bool:
    """Whether every op of the staged program also exists in a flat circuit (no token mixing,
    no dilated windows)."""
    if any(isinstance(op, (Embed, Attention)) for op in program.ops):
        return False
    windows = [getattr(op, "gather", None) or getattr(op, "window", None) for op in program.ops]
    return all(w.dilation == (1, 1) for w in windows if isinstance(w, Window))


class StageExecutor(Protocol):
    """Runs the per-stage pipelines of a compile: anything with ``map(fn, *iterables)``.

    ``map`` must return the results in the order of its arguments, as
    :meth:`concurrent.futures.Executor.map` does (so a
    ``ProcessPoolExecutor`` qualifies); :class:`nandc.distributed.RayExecutor`
    runs them as Ray tasks.
    """

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterable[Any]: ...


def compile_stage(circuit: Circuit, passes: str, name: str, on_stats: Callable[[Any], Any] | None = None,
                  progress=None) -> tuple[NandNetlist, list]:
    """Run ``passes`` on one stage's circuit and lower the result to NAND2.

    Returns the netlist (named ``name``) and the Stats of every pass.  A
    pure function of its first three arguments, so an executor may run it
    in another process or on another machine.
    """
    from nandc.passes import run_pipeline
    from nandc.passes.nand import lower_to_nand

    result, stats = run_pipeline(circuit, passes, on_stats, progress)
    if isinstance(result, Circuit):  # pipeline without the final lowering
        result, low = lower_to_nand(result)
        stats.append(low)
        if on_stats is not None:
            on_stats(low)
    result.name = name
    return result, stats


def _compile_stages(program: Program, passes: str, on_stats, progress,
                    executor: StageExecutor | None = None) -> tuple[Program, list]:
    """Run ``passes`` on every stage (identical stages once) and lower to NAND2.

    Without an executor the pipelines run here, one after the other, with
    ``on_stats`` and ``progress`` called live.  With one, the unique stages
    go to ``executor.map`` together, largest circuit first (the largest
    stage is the critical path of a parallel compile); ``progress`` counts
    finished stages and ``on_stats`` sees every stage's Stats, in stage
    order, once all are back.  Either way the netlists and the Stats list
    are the same.
    """
    unique: dict[str, Stage] = {}
    keys = []
    for stage in program.stages:
        key = stage.circuit.structural_hash()
        unique.setdefault(key, stage)
        keys.append(key)
    todo = list(unique.values())
    if executor is None:
        results = [compile_stage(s.circuit, passes, s.name, on_stats, progress) for s in todo]
    else:
        order = sorted(range(len(todo)), key=lambda i: -todo[i].circuit.num_ands)
        returned = executor.map(compile_stage, [todo[i].circuit for i in order], [passes] * len(todo),
                                [todo[i].name for i in order])
        results = [None] * len(todo)
        for k, (i, result) in enumerate(zip(order, returned)):
            results[i] = result
            if progress is not None:
                progress("stages", k + 1, len(todo))
        if any(r is None for r in results):
            got = sum(r is not None for r in results)
            raise BackendError(f"the stage executor returned {got} results for {len(todo)} stages")
        if on_stats is not None:
            for _, s in results:
                for record in s:
                    on_stats(record)
    done: dict[str, NandNetlist] = {}
    stats: list = []
    for key, (netlist, s) in zip(unique, results):
        stats.extend(s)
        done[key] = netlist
    stages = [Stage(stage.name, stage.circuit, done[key]) for stage, key in zip(program.stages, keys)]
    return program.with_stages(stages), stats


def compile(model, example_input, passes: str = DEFAULT_PIPELINE, name: str | None = None,
            on_stats: Callable[[Any], Any] | None = None,
            progress: bool | Callable[[str, int, int], Any] = False,
            staged: bool | None = None, executor: StageExecutor | None = None) -> CompiledModel:
    """Compile a trained PyTorch model into NAND2 netlists.

    Parameters
    ----------
    model : torch.nn.Module
        Built from :mod:`nandc.nn` layers, supported torch layers, layers whose
        weights lie on an integer grid (quantized in ``forward``, torch.ao QAT,
        Brevitas); its float input must meet a quantizer (``InputBinarize``,
        ``InputQuant``, ``SignActivation``, a Brevitas ``QuantIdentity`` ...)
        before any sum.  For float activations, see
        :func:`nandc.quantize_activations`; for QONNX files,
        :func:`nandc.compile_onnx`.
    example_input : torch.Tensor
        A batch (N, ...) with the model's input shape (values are not used).
    passes : str
        A pipeline string (``"cleanup;nand"``) or preset (``"O0"`` .. ``"O3"``),
        run on every stage.
    on_stats : callable, optional
        Called with the :class:`nandc.passes.Stats` of each pass as it ends.
    progress : bool or callable
        ``True`` draws a progress bar per long pass (tqdm); a callable
        ``progress(stage, done, total)`` receives the reports instead.
    staged : bool or None
        ``False``: one flat circuit, unrolled over every position (Verilog
        and AIGER of the whole model); ``True``: a staged program, each
        convolution compiled once for one output position and run over all
        of them; ``None`` (default): flat while the flat circuit is
        estimated under :data:`FLAT_BUDGET` AIG nodes, else staged.
    executor : StageExecutor, optional
        Runs the pipelines of the unique stages (``executor.map``), e.g. a
        ``concurrent.futures.ProcessPoolExecutor`` or
        :class:`nandc.distributed.RayExecutor` for a Ray cluster; the result
        is the same netlists as without one.  Default: one after the other
        in this process.

    Raises :class:`~nandc.errors.UnsupportedLayer` listing every node without a
    converter, and :class:`~nandc.errors.QuantizationError` when a float tensor
    would reach the circuit or a weight lies on no integer grid.  The result
    reproduces the model's integer view bit for bit (``CompiledModel.reference``).
    """
    from nandc.frontend import build_program
    from nandc.passes.options import ProgressBars

    if staged is None:
        program, iface = build_program(model, example_input, name, staged=True)
        if len(program.stages) > 1 and _flat_possible(program) and estimated_flat_nodes(program) <= FLAT_BUDGET:
            program, iface = build_program(model, example_input, name, staged=False)
    else:
        program, iface = build_program(model, example_input, name, staged=bool(staged))
    bars = ProgressBars() if progress is True else None
    try:
        program, stats = _compile_stages(program, passes, on_stats, bars or (progress or None), executor)
    finally:
        if bars is not None:
            bars.close()
    if program.is_flat:
        program.stages[0].netlist.name = program.name
        program.stages[0].circuit.name = program.name
    return CompiledModel(program, iface, stats, passes)


def compile_onnx(path: str | os.PathLike, passes: str = DEFAULT_PIPELINE, staged: bool | None = None,
                 **kwargs) -> CompiledModel:
    """Compile a QONNX file (``pip install nandc[onnx]``); the rest as :func:`compile`.

    The file is read by :func:`nandc.frontend.onnx_import.load_onnx` into a
    torch.fx module, then compiled like any PyTorch model.
    """
    import torch

    from nandc.frontend.onnx_import import load_onnx

    model, shape = load_onnx(path)
    return compile(model, torch.zeros((1,) + shape), passes=passes, staged=staged, **kwargs)
