"""CompiledModel: a trained model as a NAND2 netlist, ready to run, report and save.

:func:`compile` (exposed as ``nandc.compile``) traces a PyTorch model, builds
its exact circuit, runs a pass pipeline and lowers it to NAND2 gates.
:func:`load` reads a model saved with :meth:`CompiledModel.save`; loading
needs neither torch nor the original Python code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import asdict
from typing import Any, Callable

import numpy as np

from nandc.encoding import code_bits, encode_input
from nandc.errors import BackendError, ParseError
from nandc.fsutil import atomic_write
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist

__all__ = ["CompiledModel", "compile", "load", "DEFAULT_PIPELINE"]

DEFAULT_PIPELINE = "O2"
_FORMAT = "nandc-model/1"


class CompiledModel:
    """A compiled model: its NAND2 netlist plus how to feed it and read its outputs.

    Attributes
    ----------
    netlist : NandNetlist
        The NAND2-only netlist; ``netlist.num_gates`` is the gate count.
    circuit : Circuit or None
        The AIG the frontend built (before optimization), kept for reports.
    interface : nandc.frontend.Interface-like
        Input name, shape and encoding; output shape and meaning.
    stats : list
        One :class:`nandc.passes.Stats` per pass that ran.
    """

    def __init__(self, netlist: NandNetlist, interface, circuit: Circuit | None = None,
                 stats: list | None = None, pipeline: str | None = None):
        self.netlist = netlist
        self.interface = interface
        self.circuit = circuit
        self.stats = list(stats or [])
        self.pipeline = pipeline

    def __repr__(self) -> str:
        i = self.interface
        return (f"CompiledModel(input {i.input_name}{list(i.input_shape)}, "
                f"output {list(i.output_shape)}, {self.netlist.num_gates} NAND2 gates)")

    @property
    def num_gates(self) -> int:
        """NAND2 gates of the netlist (inverters included)."""
        return self.netlist.num_gates

    # ------------------------------------------------------------------ running
    def encode(self, x) -> np.ndarray:
        """The input codes the circuit sees for a float input batch ``x`` (N, *input_shape)."""
        arr = _to_numpy(x)
        shape = tuple(self.interface.input_shape)
        if arr.ndim != len(shape) + 1 or tuple(arr.shape[1:]) != shape:
            raise BackendError(
                f"expected input of shape (N, {', '.join(map(str, shape))}), found {tuple(arr.shape)}"
            )
        return encode_input(self.interface.input_encoding, arr)

    def run(self, x, backend: str = "jit", threads: int | None = None) -> dict[str, np.ndarray]:
        """Run the netlist on a float input batch; returns integer outputs.

        ``"logits"``: the exact integer logits, shape ``(N, *output_shape)``;
        ``"class"`` (for a vector output): index of the first maximal logit,
        which is what ``model(x).argmax(1)`` returns.  ``backend`` is
        ``"jit"`` (LLVM, bit-parallel, multi-threaded) or ``"reference"``
        (the numpy evaluator).
        """
        codes = self.encode(x)
        bits = _code_bits_array(codes, code_bits(self.interface.input_encoding))
        inputs = {self.interface.input_name: bits}
        if backend == "reference":
            from nandc.ir.evaluate import evaluate

            return evaluate(self.netlist, inputs)
        if backend == "jit":
            from nandc.backends.llvm import run_netlist

            return run_netlist(self.netlist, inputs, threads=threads)
        raise BackendError(f"unknown backend {backend!r}; expected 'jit' or 'reference'")

    def predict(self, x, backend: str = "jit", threads: int | None = None) -> np.ndarray:
        """Predicted class of every sample (requires a vector output)."""
        if not self.interface.has_class:
            raise BackendError("this model's output is not a vector of class scores; use run()")
        return self.run(x, backend, threads)["class"]

    def to_torch_output(self, logits: np.ndarray):
        """The torch model's float output for the circuit's integer logits (needs torch).

        Equal, bit for bit, to ``model(x)`` in eval mode; available on a model
        compiled in this process (a loaded model keeps no torch code).
        """
        import torch

        raw = torch.from_numpy(np.asarray(logits, dtype=np.float64) * self.interface.output_step).to(torch.float32)
        if self.interface.output_kind == "codes":
            return raw
        if self.interface.dequantize is None:
            raise BackendError("the dequantization of a loaded model is not available; compare logits instead")
        with torch.no_grad():
            return self.interface.dequantize(raw)

    # ------------------------------------------------------------------ outputs
    def report(self):
        """Per-layer gate report (:class:`nandc.backends.report.Report`)."""
        from nandc.backends.report import build_report

        return build_report(self.netlist, self.circuit)

    def to_verilog(self, path: str | os.PathLike | None = None, module_name: str | None = None) -> str:
        """Structural NAND2 Verilog of the netlist; also written to ``path`` if given."""
        from nandc.backends.verilog import to_verilog

        text = to_verilog(self.netlist, module_name)
        if path is not None:
            with atomic_write(path) as f:
                f.write(text)
        return text

    def save(self, path: str | os.PathLike) -> None:
        """Write the netlist and interface to one ``.nandc`` file (a zip), atomically."""
        iface = {k: v for k, v in asdict_safe(self.interface).items() if k != "dequantize"}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("format", _FORMAT)
            z.writestr("interface.json", json.dumps(iface, indent=1, sort_keys=True))
            z.writestr("netlist.json", json.dumps(_netlist_meta(self.netlist), sort_keys=True))
            a, b = self.netlist.gate_arrays()
            arrays = io.BytesIO()
            np.savez(arrays, a=a.astype(np.uint32), b=b.astype(np.uint32),
                     layer=self.netlist.gate_layers().astype(np.uint32))
            z.writestr("gates.npz", arrays.getvalue())
        with atomic_write(path, "wb") as f:
            f.write(buf.getvalue())


def asdict_safe(obj) -> dict:
    try:
        return asdict(obj)
    except TypeError:
        return dict(vars(obj))


def _netlist_meta(net: NandNetlist) -> dict:
    def buses(d):
        return [{"name": b.name, "bits": list(b.bits), "shape": list(b.shape), "signed": b.signed}
                for b in d.values()]

    return {"name": net.name, "inputs": net.num_inputs, "layers": net.layer_names,
            "input_buses": buses(net.input_buses), "output_buses": buses(net.output_buses)}


class _Interface:
    """Interface of a loaded model (same fields as ``nandc.frontend.Interface``)."""

    def __init__(self, d: dict):
        self.input_name = d["input_name"]
        self.input_shape = tuple(d["input_shape"])
        self.input_encoding = d["input_encoding"]
        self.output_shape = tuple(d["output_shape"])
        self.output_kind = d["output_kind"]
        self.output_step = float(d["output_step"])
        self.has_class = bool(d["has_class"])
        self.dequantize = None


def load(path: str | os.PathLike) -> CompiledModel:
    """Read a model written by :meth:`CompiledModel.save` (no torch needed).

    The file is validated completely first (see :mod:`nandc.modelfile`); any
    damage is a :class:`~nandc.errors.ParseError` naming the file.
    """
    from nandc import modelfile as mf

    path = os.fspath(path)
    with mf.open_archive(path) as z:
        fmt = mf.read_member(z, "format", 64, path).decode("utf-8", errors="replace")
        if fmt != _FORMAT:
            raise ParseError(f"expected format {_FORMAT!r}, found {fmt[:40]!r}", path)
        iface = mf.read_json(z, "interface.json", path)
        meta = mf.read_json(z, "netlist.json", path)
        arrays = mf.read_arrays(z, "gates.npz", ("a", "b", "layer"), path)
    net = mf.build_netlist(mf.validate_netlist(meta, arrays, "netlist.json", path), arrays)
    return CompiledModel(net, _Interface(mf.validate_interface(iface, net, "interface.json", path)))


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _code_bits_array(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes ``(N, *shape)`` -> bits ``(N, *shape, bits)`` (LSB first)."""
    if bits == 1:
        return codes.astype(np.uint8, copy=False)[..., None]
    small = codes.astype(np.uint8 if bits <= 8 else np.uint16)
    shifts = np.arange(bits, dtype=small.dtype)
    return ((small[..., None] >> shifts) & 1).astype(np.uint8)


def compile(model, example_input, passes: str = DEFAULT_PIPELINE, name: str | None = None,
            on_stats: Callable[[Any], Any] | None = None,
            progress: bool | Callable[[str, int, int], Any] = False) -> CompiledModel:
    """Compile a trained PyTorch model into a NAND2 netlist.

    Parameters
    ----------
    model : torch.nn.Module
        Built from :mod:`nandc.nn` layers plus supported torch layers; it must
        start with an input quantizer (``InputBinarize`` or ``InputQuant``).
    example_input : torch.Tensor
        A batch (N, ...) with the model's input shape (values are not used).
    passes : str
        A pipeline string (``"cleanup;nand"``) or preset (``"O0"`` .. ``"O3"``).
    on_stats : callable, optional
        Called with the :class:`nandc.passes.Stats` of each pass as it ends.
    progress : bool or callable
        ``True`` draws a progress bar per long pass (tqdm); a callable
        ``progress(stage, done, total)`` receives the reports instead.

    Raises :class:`~nandc.errors.UnsupportedLayer` listing every node without a
    converter, and :class:`~nandc.errors.QuantizationError` when a float tensor
    would reach the circuit.
    """
    from nandc.frontend import build_circuit
    from nandc.passes import run_pipeline
    from nandc.passes.nand import lower_to_nand

    from nandc.passes.options import ProgressBars

    circuit, iface = build_circuit(model, example_input, name)
    bars = ProgressBars() if progress is True else None
    try:
        result, stats = run_pipeline(circuit, passes, on_stats, bars or (progress or None))
    finally:
        if bars is not None:
            bars.close()
    if isinstance(result, Circuit):  # pipeline without the final lowering
        result, s = lower_to_nand(result)
        stats.append(s)
    return CompiledModel(result, iface, circuit, stats, passes)
