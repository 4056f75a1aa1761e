"""The ``nandc`` command line: ``main(argv) -> int``.

Subcommands: demo, compile, report, run, verify, passes.  A user's mistake
prints ``nandc: error: <message>`` on stderr and exits with status 1, never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from nandc import __version__
from nandc.errors import NandcError

__all__ = ["main", "build_parser"]

_NETLIST_EXTS = (".aag", ".aig", ".blif")
_EXIT_DIFFERENT = 3
_EXIT_BROKEN_PIPE = 141  # as a Unix tool killed by SIGPIPE


def _echo(args):
    return (lambda *a, **k: None) if getattr(args, "quiet", False) else print


# ---------------------------------------------------------------------- loading
def _load_any(path: str):
    """A ``.nandc`` model -> CompiledModel; a netlist file -> (Circuit, NandNetlist)."""
    p = Path(path)
    try:
        found = p.exists()
    except OSError as e:  # a name too long, a loop of links ...
        raise NandcError(f"cannot read {path!r}: {(e.strerror or str(e)).lower()}") from None
    if not found:
        raise NandcError(f"no such file: {path}")
    if p.suffix == ".nandc":
        from nandc.model import load

        return load(p)
    if p.suffix.lower() in _NETLIST_EXTS:
        from nandc.ir.io import read
        from nandc.passes.nand import lower_to_nand

        circuit = read(p)
        return circuit, lower_to_nand(circuit)[0]
    raise NandcError(
        f"cannot read {path!r}: expected a .nandc model or a netlist file ({', '.join(_NETLIST_EXTS)})"
    )


def _is_model(obj) -> bool:
    return not isinstance(obj, tuple)


def _netlist_of(obj):
    return obj.netlist if _is_model(obj) else obj[1]


def _report_of(obj):
    """The per-layer report of a CompiledModel (flat or staged) or a netlist file."""
    if _is_model(obj):
        return obj.report()
    from nandc.backends.report import build_report

    return build_report(obj[1], obj[0])


# ---------------------------------------------------------------------- commands
def _cmd_passes(args) -> int:
    from nandc.passes import PASSES, PRESETS

    width = max(len(n) for n in PASSES)
    for name, info in PASSES.items():
        print(f"{name:<{width}}  {info.description}")
    print()
    for level, pipeline in PRESETS.items():
        print(f"-{level}: {pipeline}")
    return 0


def _cmd_demo(args) -> int:
    from nandc.lab.demo import run_demo
    from nandc.errors import OutputError

    if args.epochs < 1:
        raise NandcError(f"--epochs must be at least 1, found {args.epochs}")
    if not 0 <= args.seed < 2**32:
        raise NandcError(f"--seed must be from 0 to {2**32 - 1}, found {args.seed}")
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(e.errno or 0, f"cannot create the output folder {args.output!r}: "
                                        f"{'a file is in the way' if out.exists() else (e.strerror or e)}") from None
    result = run_demo(args.output, epochs=args.epochs, seed=args.seed, progress=not args.quiet)
    return 0 if result.mismatches == 0 else 1


_MODEL_EXTS = (".v", ".nandc", ".json")


def _check_output(out: str) -> None:
    """Refuse an output the compiler could not write, before the (long) compile."""
    from nandc.files.fsutil import check_writable
    from nandc.ir.io import FORMATS

    ext = Path(out).suffix.lower()
    if ext not in _MODEL_EXTS and ext not in FORMATS:
        raise NandcError(
            f"cannot write {out!r}: unknown extension {ext or '(none)'!r}; expected one of "
            f"{', '.join(_MODEL_EXTS)}, {', '.join(FORMATS)}"
        )
    check_writable(out)


def _write_compiled(compiled, out: str) -> None:
    path = Path(out)
    ext = path.suffix.lower()
    if compiled.staged and ext not in (".v", ".nandc", ".json"):
        raise NandcError(
            f"cannot write {out!r}: this model compiled to a staged program of {len(compiled.program.stages)} "
            f"stages, and {ext or 'this format'} holds one flat circuit; write .v (one module per stage), "
            ".nandc or .json, or compile with --flat"
        )
    if ext == ".v":
        compiled.to_verilog(path)
    elif ext == ".nandc":
        compiled.save(path)
    elif ext == ".json":
        from nandc.backends.report import to_json
        from nandc.files.fsutil import atomic_write

        with atomic_write(path) as f:
            f.write(to_json(compiled.report()) + "\n")
    else:
        from nandc.ir.io import write

        _check_output(out)
        write(compiled.netlist, path)


def _cmd_compile(args) -> int:
    import torch

    import nandc
    from nandc.files.loader import load_model, parse_shape

    echo = _echo(args)
    for out in args.output:
        _check_output(out)
        if args.staged and Path(out).suffix.lower() not in _MODEL_EXTS:
            raise NandcError(f"cannot write {out!r} with --staged: {Path(out).suffix.lower()} holds one flat "
                             "circuit; write .v (one module per stage), .nandc or .json, or compile with --flat")
    calibration = labels = None
    if args.calibrate is not None:
        calibration = _load_array(args.calibrate)
        if calibration.dtype.kind not in "biuf" or calibration.ndim < 2 or not len(calibration):
            raise NandcError(f"--calibrate {args.calibrate!r} must hold a batch of samples (N, ...), found "
                             f"{calibration.dtype} values of shape {calibration.shape}")
        if args.calibrate_labels is not None:
            labels = _load_array(args.calibrate_labels)
    elif args.calibrate_labels is not None:
        raise NandcError("--calibrate-labels needs --calibrate")
    if args.model.lower().endswith(".onnx") and ":" not in args.model:
        if args.weights:
            raise NandcError("--weights does not apply to an ONNX model (its weights are in the file)")
        from nandc.frontend.onnx_import import load_onnx

        model, shape = load_onnx(args.model)
    else:
        model, shape = load_model(args.model, args.weights, args.trust_pickle)
    if args.input_shape:
        shape = parse_shape(args.input_shape)
    if shape is None and calibration is not None:
        shape = tuple(calibration.shape[1:])
    if shape is None:
        raise NandcError(
            "the input shape is unknown: pass --input-shape (e.g. 784 or 1,28,28) or give the model "
            "an input_shape attribute"
        )
    if calibration is not None:
        if tuple(calibration.shape[1:]) != tuple(shape):
            raise NandcError(f"--calibrate {args.calibrate!r} holds samples of shape {calibration.shape[1:]}, "
                             f"but the model's input shape is {tuple(shape)}")
        model = nandc.quantize_activations(model, calibration.astype("float32"), bits=args.act_bits,
                                           input_bits=args.input_bits, percentile=args.percentile, labels=labels)
        echo(str(model.calibration))
    passes = args.passes or f"O{args.opt}"
    with contextlib.ExitStack() as stack:
        executor = None
        if args.ray is not None:
            from nandc.distributed import RayExecutor

            executor = stack.enter_context(RayExecutor(args.ray or None))
        compiled = nandc.compile(model, torch.zeros((1,) + tuple(shape)), passes=passes,
                                 on_stats=lambda s: echo(f"  {s}"), progress=not args.quiet, staged=args.staged,
                                 executor=executor)
    for out in args.output:
        _write_compiled(compiled, out)
        echo(f"wrote {out}")
    if compiled.staged:
        echo(f"{compiled.num_gates} NAND2 gates in {len(compiled.program.stages)} stages, "
             f"{compiled.gate_evaluations} gate evaluations per sample")
    else:
        echo(f"{compiled.num_gates} NAND2 gates")
    if args.report:
        _print_report(compiled.report(), args.report)
    return 0


def _print_report(report, fmt: str, plot: str | None = None) -> None:
    from nandc.backends import report as rep

    text = {"text": rep.format_text, "markdown": rep.format_markdown, "json": rep.to_json}[fmt](report)
    print(text)
    if plot:
        rep.plot(report, plot)


def _cmd_report(args) -> int:
    if args.plot is not None:
        from nandc.files.fsutil import check_writable

        check_writable(args.plot)
    _print_report(_report_of(_load_any(args.file)), args.format, args.plot)
    return 0


def _cmd_run(args) -> int:
    import numpy as np

    from nandc.files.fsutil import atomic_write, check_writable

    check_writable(args.output)
    if args.ray is not None:
        return _cmd_run_ray(args)
    if args.workers is not None:
        raise NandcError("--workers sizes the pool of Ray workers; add --ray [ADDRESS] to run on a cluster")
    obj = _load_any(args.netlist)
    if _is_model(obj):
        x = _load_model_inputs(args.inputs, obj.interface.input_shape, args.column)
        result = obj.run(x, backend=args.backend, threads=args.threads)
        y = result["logits"] if args.logits or "class" not in result else result["class"]
    else:
        x = _load_npy_inputs(args.inputs)
        net = obj[1]
        if x.ndim != 2 or x.shape[1] != net.num_inputs:
            raise NandcError(
                f"expected inputs of shape (N, {net.num_inputs}) holding 0/1 bits, found {x.shape}"
            )
        if x.dtype.kind not in "biu" or (x.size and x.max() > 1):
            raise NandcError(f"expected inputs holding 0/1 bits (integers or booleans), found {x.dtype} values"
                             + (f" up to {x.max()}" if x.dtype.kind in "iuf" and x.size else ""))
        from nandc.ir.bits import pack_samples, unpack_samples

        if args.backend == "reference":
            from nandc.ir.evaluate import simulate_netlist

            y = unpack_samples(simulate_netlist(net, pack_samples(x)), len(x))
        else:
            from nandc.backends.llvm import compile_netlist

            y = compile_netlist(net).run(x, threads=args.threads)
    with atomic_write(args.output, "wb") as f:
        np.save(f, y)
    _echo(args)(f"wrote {args.output}: shape {tuple(y.shape)}")
    return 0


def _cmd_run_ray(args) -> int:
    import numpy as np

    from nandc import distributed
    from nandc.files.fsutil import atomic_write

    if Path(args.netlist).suffix != ".nandc":
        raise NandcError(f"--ray runs saved models (.nandc); found {args.netlist!r}")
    from nandc.model import load

    key = "logits" if args.logits or not load(args.netlist).interface.has_class else "class"
    result = distributed.run(args.netlist, args.inputs, address=args.ray or None, workers=args.workers,
                             threads=args.threads or 1, column=args.column, backend=args.backend,
                             outputs=(key,), progress=not args.quiet)
    y = result[key]
    with atomic_write(args.output, "wb") as f:
        np.save(f, y)
    _echo(args)(f"wrote {args.output}: shape {tuple(y.shape)}")
    return 0


def _single_file(spec: str) -> bool:
    """An existing file that is not Parquet: read as one .npy array (with that reader's messages)."""
    p = Path(spec)
    try:
        return p.is_file() and p.suffix.lower() != ".parquet"
    except OSError:
        return True  # let the reader report it


def _load_model_inputs(spec: str, input_shape, column: str | None):
    """Float samples for a model: one .npy file, or every .npy/.parquet file of a folder or glob, in order."""
    if _single_file(spec):
        return _load_array(spec)
    from nandc.files.datafiles import inspect_inputs, read_all

    return read_all(inspect_inputs(spec), input_shape, column)


def _load_npy_inputs(spec: str):
    """Bits for a netlist: one .npy file, or the .npy files of a folder or glob concatenated."""
    import numpy as np

    if _single_file(spec):
        return _load_array(spec)
    from nandc.files.datafiles import find_inputs

    paths = find_inputs(spec)
    if any(not p.lower().endswith(".npy") for p in paths):
        raise NandcError(f"a netlist reads 0/1 bits from .npy files; {spec!r} holds Parquet files")
    arrays = [_load_array(p) for p in paths]
    for p, a in zip(paths, arrays):
        if a.ndim != 2 or a.shape[1:] != arrays[0].shape[1:]:
            raise NandcError(f"{p}: expected an array (N, {arrays[0].shape[1] if arrays[0].ndim == 2 else 'inputs'}) "
                             f"like {paths[0]}, found {a.shape}")
    return np.concatenate(arrays)


def _load_array(path: str):
    """The array of a ``.npy`` file (never a pickle); any problem is a NandcError."""
    import numpy as np

    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise NandcError(f"no such file: {path}") from None
    except OSError as exc:
        raise NandcError(f"cannot read {path!r}: {(exc.strerror or str(exc)).lower()}") from None
    except (ValueError, EOFError) as exc:
        raise NandcError(f"cannot read {path!r} as a .npy array: {exc}") from None
    if not isinstance(x, np.ndarray):  # an .npz archive
        x.close()
        raise NandcError(f"cannot read {path!r} as a .npy array: it is an .npz archive of several arrays")
    return x


def _cmd_verify(args) -> int:
    from nandc.synth.equiv import check_equivalence

    a, b = _load_any(args.a), _load_any(args.b)
    res = check_equivalence(_netlist_of(a), _netlist_of(b), method=args.method, samples=args.samples,
                            match="order" if args.match_order else "names")
    if res.equivalent:
        print(str(res))
        return 0
    print(f"NOT equivalent ({res.method}): outputs differ at {', '.join(res.mismatches[:8])}"
          f"{' ...' if len(res.mismatches) > 8 else ''}")
    for name, bits in (res.counterexample or {}).items():
        flat = "".join(str(int(v)) for v in bits.reshape(-1))
        print(f"  counterexample {name} = {flat}  (bit 0 first)")
    return _EXIT_DIFFERENT


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nandc",
        description="Compile trained binary, ternary and 4-bit PyTorch models into NAND2-only "
                    "netlists; run them bit-parallel through LLVM, write Verilog, count gates per layer.",
    )
    parser.add_argument("--version", action="version", version=f"nandc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="train a small binary network on bundled digits, compile, run, report",
                       description="Train a binary MLP on scikit-learn's digits, compile it to NAND2 gates, "
                                   "check on every test sample that the JIT-run netlist predicts what torch "
                                   "predicts, print the per-layer gate report, and write Verilog, AIGER, a "
                                   "saved model and the report into the output folder.")
    p.add_argument("-o", "--output", default="nandc-demo", help="output folder (default: nandc-demo)")
    p.add_argument("--epochs", type=int, default=40, help="training epochs (default: 40)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "compile", help="compile a trained model to a netlist, Verilog, a report or a .nandc model",
        description="Trace MODEL with torch.fx, build its exact integer circuit, optimize, lower to "
                    "NAND2 gates and write each OUT (format by extension: .v Verilog, .aag/.aig AIGER, "
                    ".blif BLIF, .txt listing, .json gate report, .nandc saved model).",
        epilog="MODEL is 'path/to/file.py:name' or 'package.module:name', where name is a "
               "torch.nn.Module or a class/function returning one; weights come from --weights "
               "(a state_dict, loaded safely). A fully pickled module (.pt) is accepted only with "
               "--trust-pickle, because unpickling runs code stored in the file. MODEL may also be a "
               "QONNX file (model.onnx; needs nandc[onnx]). Supported layers: nandc.nn layers; "
               "nn.Linear/nn.Conv2d, F.linear/F.conv2d and x @ W whose weights lie on an integer grid "
               "(quantized in forward(), torch.ao FakeQuantize, QAT modules); Brevitas QuantLinear, "
               "QuantConv2d, QuantIdentity, QuantReLU, QuantHardTanh (nandc[brevitas]); torch "
               "BatchNorm1d/2d, ReLU, Hardtanh, elementwise functions, MaxPool2d, AvgPool2d, Flatten, "
               "view/reshape, Dropout, Identity, Sequential. Float activations need --calibrate.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", action="append", required=True, metavar="OUT",
                   help="output file; repeat for several formats")
    p.add_argument("--weights", help="state_dict file to load into the model")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow MODEL to be a fully pickled module (runs code from the file)")
    p.add_argument("--input-shape", help="per-sample input shape, e.g. 784 or 1,28,28")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--passes", help="pass pipeline, e.g. 'cleanup;nand' (see `nandc passes`)")
    g.add_argument("-O", dest="opt", type=int, choices=range(4), default=2, metavar="{0,1,2,3}",
                   help="optimization level (default: 2)")
    p.add_argument("--report", nargs="?", const="text", choices=("text", "markdown", "json"),
                   help="print the per-layer gate report (default format: text)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--staged", dest="staged", action="store_const", const=True, default=None,
                   help="compile each convolution once for one output position and run it over all "
                        "positions (default: staged when the flat circuit would exceed "
                        "1M AIG nodes)")
    g.add_argument("--flat", dest="staged", action="store_const", const=False,
                   help="one flat circuit unrolled over every position (needed for AIGER/BLIF output)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run the pass pipelines of the stages as Ray tasks on a cluster (same result; "
                        "ADDRESS as for `nandc run --ray`)")
    g = p.add_argument_group("float activations (see nandc.quantize_activations)")
    g.add_argument("--calibrate", metavar="X.npy",
                   help="insert an activation quantizer wherever a float activation (or the float input) would "
                        "reach the circuit, with scales from these samples (N, *input_shape); prints the change "
                        "in predictions")
    g.add_argument("--act-bits", type=int, default=4, metavar="N", help="bits of each inserted quantizer (default: 4)")
    g.add_argument("--input-bits", type=int, default=8, metavar="N",
                   help="bits of an inserted input quantizer (default: 8)")
    g.add_argument("--percentile", type=float, default=100.0, metavar="P",
                   help="percentile of the observed magnitudes a quantizer's top level covers (default: 100, "
                        "the maximum)")
    g.add_argument("--calibrate-labels", metavar="Y.npy", help="classes of the --calibrate samples, to report "
                                                                "the accuracy before and after")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but the report")
    p.set_defaults(func=_cmd_compile)

    p = sub.add_parser("report", help="per-layer gate report of a .nandc model or a netlist file",
                       description="Print NAND2 gates, AIG nodes, depth and share per layer.")
    p.add_argument("file", metavar="FILE", help="a .nandc model, or .aag/.aig/.blif netlist")
    p.add_argument("--format", default="text", choices=("text", "markdown", "json"))
    p.add_argument("--plot", metavar="PNG", help="also draw a bar chart (needs matplotlib)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("run", help="run a model or netlist on inputs from .npy/.parquet files through the JIT",
                       description="For a .nandc model, INPUTS holds float samples (N, *input_shape) and "
                                   "the output holds predicted classes (or logits with --logits). For a "
                                   "netlist file, INPUTS holds 0/1 bits (N, inputs) and the output 0/1 "
                                   "bits (N, outputs). INPUTS is a .npy file, a .parquet file (one row per "
                                   "sample), a folder of them or a quoted glob ('shards/*.npy'); samples are "
                                   "numbered in file-name order. With --ray the samples are run by a pool of "
                                   "Ray workers, in shards, and come back in that order.",
                       epilog="--ray [ADDRESS]: no ADDRESS follows Ray's rule ($RAY_ADDRESS, else the cluster "
                              "last started on this machine, else a new local one); 'auto' an existing "
                              "cluster on this machine; 'local' a new one; HOST:PORT or ray://HOST:PORT a "
                              "remote cluster. Every node needs nandc and Ray (pip install 'nandc[ray]') and "
                              "must read the input files under the same path.")
    p.add_argument("netlist", metavar="NETLIST", help="a .nandc model or .aag/.aig/.blif netlist")
    p.add_argument("--inputs", required=True, metavar="INPUTS",
                   help="a .npy or .parquet file, a folder of them, or a quoted glob")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npy")
    p.add_argument("--logits", action="store_true", help="write integer logits instead of classes")
    p.add_argument("--backend", default="jit", choices=("jit", "reference"))
    p.add_argument("--threads", type=int, default=None,
                   help="JIT threads (default: all cores; with --ray: per worker, default 1)")
    p.add_argument("--column", help="the Parquet column holding the samples (default: the only column)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on a Ray cluster (see below)")
    p.add_argument("--workers", type=int, default=None,
                   help="with --ray: Ray workers (default: the cluster's CPUs divided by --threads)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("verify", help="check two netlists for equivalence (simulation, then SAT)",
                       description="Exit status 0 if A and B compute the same function on every output "
                                   "bus, 3 (with a counterexample) if they differ, 1 on errors.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--method", default="auto", choices=("auto", "exhaustive", "simulation", "sat"))
    p.add_argument("--samples", type=int, default=4096, help="random simulation samples (default: 4096)")
    p.add_argument("--match-order", action="store_true",
                   help="match inputs and outputs by position (file order) instead of by bus name, "
                        "for files from other tools whose pins have no names")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("passes", help="list the registered passes and -O presets")
    p.set_defaults(func=_cmd_passes)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except NandcError as exc:
        print(f"nandc: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of our output went away (`nandc report x | head -1`)
        _silence_stdout()
        return _EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # pragma: no cover
        print("nandc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
