"""End-to-end inference from float input: nandc's fused JIT path against difflogic's generated C.

For each net (a 64-input and a 784-input difflogic-shaped random hardened
network: ``LogicLayer`` gate ids from random weights, random input pairs per
layer as difflogic draws them, a ``GroupSum`` of 10 classes):

* **difflogic C**: difflogic's own ``CompiledLogicNet`` writes the C code
  (``benchmarks/third_party/difflogic``, its CUDA extension stubbed out),
  compiled with ``gcc -O3`` (``--march-native`` adds ``-march=native``).
  End to end = numpy threshold of the float input (``x > 0.5``, as
  difflogic's examples binarize) into a preallocated bool buffer + the C
  call + numpy ``argmax`` of its class counts: the baseline of every ratio.
  Also timed: the same through difflogic's ``CompiledLogicNet.forward``
  (which copies and pads the batch and builds a torch tensor), and the C
  call alone on prepared bools.
* **nandc fused**: the same net built from the same arrays with
  ``nandc.nn.BooleanLayer`` (difflogic gate id ``i`` is nandc truth table
  ``i`` with its 4 bits reversed) behind ``InputQuant(bits=1, step=1.0)``,
  compiled with the default pipeline; ``predict(x, threads=1)`` (class only)
  and ``run(x, threads=1)`` (logits and class).
* **nandc step by step**: ``predict(x, threads=1, fused=False)`` (numpy
  encoding and packing around the netlist: the path before the fused one).
* **netlist alone**: the JIT on prepacked input vectors, and its gate rate.
* **batch-1 latency**: median wall time of one-sample calls.

Before timing, the outputs are checked: difflogic's C class counts equal
nandc's logits, and difflogic's torch model (eval mode) agrees too; every
gate id's truth table is checked against nandc's.  Each throughput is the best
of ``--repeat`` rounds that run every path in turn, timed in CPU seconds of
the calling thread (``time.thread_time``: every path runs on one thread,
and on a shared machine the time a thread waits descheduled would count
against the longer calls); the load average is printed.  Batch-1 latency is
wall time.  No assertions about speed.

Run: ``python benchmarks/bench_fused.py [--quick] [--mnist-size] [--march-native] [--out FILE]``
(difflogic's shared objects are cached in ``$NANDC_BENCH_CACHE``, default
``/tmp/nandc-bench-difflogic``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import nandc
from nandc.backends.llvm import jit
from nandc.backends.llvm.packing import pack_inputs
from nandc.nn import BooleanLayer, GroupSum
from nandc.nn.gate_functions import evaluate as nandc_gate
from nandc.nn.int4 import InputQuant
from nandc.nn.difflogic_import import difflogic_to_truth_table

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("NANDC_BENCH_CACHE", Path(tempfile.gettempdir()) / "nandc-bench-difflogic"))


def import_difflogic():
    """difflogic's package from ``third_party`` with its CUDA extension stubbed (``difflogic_cpu``)."""
    sys.path.insert(0, str(HERE / "third_party"))
    import difflogic_cpu

    difflogic = difflogic_cpu.load()
    from difflogic import functional

    return difflogic, functional


reverse4 = difflogic_to_truth_table  # difflogic gate id -> nandc truth table (the 4 bits reversed)


def check_gate_ids(functional) -> None:
    for i in range(16):
        for a in (0, 1):
            for b in (0, 1):
                got = functional.bin_op(torch.tensor([float(a)]), torch.tensor([float(b)]), i)
                if int(got.item()) != nandc_gate(reverse4(i), a, b):
                    raise SystemExit(f"gate id {i} at a={a}, b={b}: difflogic {got.item()}, nandc "
                                     f"{nandc_gate(reverse4(i), a, b)}")


def difflogic_net(difflogic, n_in: int, widths: list[int], classes: int, seed: int):
    torch.manual_seed(seed)
    layers, d = [], n_in
    for w in widths:
        layers.append(difflogic.LogicLayer(d, w, device="cpu", implementation="python", connections="random"))
        d = w
    return nn.Sequential(*layers, difflogic.GroupSum(classes, tau=1.0, device="cpu")).eval()


def nandc_net(dl_model) -> nn.Sequential:
    """The same network from difflogic's arrays: wiring ``indices``, gate ids ``weights.argmax(1)``."""
    mods: list[nn.Module] = [InputQuant(bits=1, step=1.0)]
    for layer in dl_model[:-1]:
        a, b = (t.detach().cpu().numpy() for t in layer.indices)
        ops = [reverse4(int(i)) for i in layer.weights.argmax(1).tolist()]
        mods.append(BooleanLayer(layer.in_dim, a, b, ops))
    mods.append(GroupSum(dl_model[-1].k))
    return nn.Sequential(*mods).eval()


def compile_difflogic(difflogic, dl_model, flags: list[str]):
    """difflogic's C for the net, compiled with gcc ``flags`` (cached by the code's hash); returns
    (CompiledLogicNet, lib function, compile seconds or None if cached)."""
    compiled = difflogic.CompiledLogicNet(dl_model, device="cpu", num_bits=64, cpu_compiler="gcc")
    code = compiled.get_c_code()
    key = hashlib.sha256((code + " ".join(flags)).encode()).hexdigest()[:24]
    CACHE.mkdir(parents=True, exist_ok=True)
    lib_path = CACHE / f"{key}.so"
    seconds = None
    if not lib_path.exists():
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "net.c"
            src.write_text(code)
            t = time.perf_counter()
            subprocess.run(["gcc", "-shared", "-fPIC", *flags, "-o", str(Path(tmp) / "net.so"), str(src)],
                           check=True)
            seconds = time.perf_counter() - t
            shutil.move(str(Path(tmp) / "net.so"), lib_path)
    loaded = difflogic.CompiledLogicNet.load(str(lib_path), dl_model[-1].k, 64)
    return loaded, loaded.lib_fn, seconds


CLOCK = time.thread_time
"""Throughput is timed in CPU seconds of the calling thread (every timed path runs on it): on a
shared machine, time spent descheduled would otherwise penalize the longer calls most."""


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return min(times)


IN_CACHE = 2048


def lean_difflogic(lib_fn, samples: int, n_in: int):
    """difflogic's C end to end for batches of ``samples``, without its wrapper: numpy threshold into
    a preallocated bool buffer, the C call, numpy argmax of the class counts."""
    bool_buf = np.zeros((samples + (-samples % 64), n_in), dtype=bool)
    counts_buf = np.zeros(bool_buf.shape[0] * 10, dtype=np.int32)

    def run(xs):
        np.greater(xs, 0.5, out=bool_buf[:len(xs)])
        lib_fn(bool_buf.reshape(-1), counts_buf, bool_buf.shape[0] // 64)
        return counts_buf.reshape(-1, 10)[:len(xs)].argmax(-1)

    return run


def interleaved(fns: dict, repeat: int) -> dict:
    """Best time of each function over ``repeat`` rounds that run every function once in turn
    (on a shared machine, every path then sees the same spread of load)."""
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = CLOCK()
            fn()
            times[k].append(CLOCK() - t)
    return {k: min(v) for k, v in times.items()}


def latency(fn, calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def bench_net(name, n_in, widths, samples, args, difflogic, out) -> dict:
    dl = difflogic_net(difflogic, n_in, widths, 10, seed=n_in)
    t = time.perf_counter()
    cm = nandc.compile(nandc_net(dl), torch.zeros(2, n_in))
    nandc_compile = time.perf_counter() - t
    flags = ["-O3"] + (["-march=native"] if args.march_native else [])
    compiled, lib_fn, gcc_s = compile_difflogic(difflogic, dl, flags)

    rng = np.random.default_rng(1)
    x = rng.random((samples, n_in), dtype=np.float32)
    x[rng.random(x.shape) < 0.05] = 0.5  # exact rounding points: 0 on both sides

    # --- outputs agree
    def dl_end_to_end(xs):
        return compiled.forward(xs > 0.5).numpy().argmax(-1)

    one_bits, one_counts = np.zeros((64, n_in), dtype=bool), np.zeros(640, dtype=np.int32)

    def dl_one(xs):  # one sample, lean: (difflogic's forward pads only batches of at least 63 samples)
        np.greater(xs, 0.5, out=one_bits[:len(xs)])
        lib_fn(one_bits.reshape(-1), one_counts, 1)
        return one_counts.reshape(64, 10)[:len(xs)].argmax(-1)

    counts = compiled.forward(x > 0.5).numpy()
    res = cm.run(x, threads=1)
    if not np.array_equal(counts, res["logits"]) or not np.array_equal(counts.argmax(-1), res["class"]):
        raise SystemExit(f"{name}: difflogic's C and nandc disagree")
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):  # its python forward prints dtypes
        torch_counts = dl(torch.from_numpy((x[:2000] > 0.5).astype(np.float32))).numpy()
    if not np.array_equal(torch_counts, res["logits"][:2000]):
        raise SystemExit(f"{name}: difflogic's torch model and nandc disagree")
    if not np.array_equal(cm.predict(x, threads=1, fused=False), res["class"]):
        raise SystemExit(f"{name}: nandc's fused and step-by-step paths disagree")

    # --- throughput, 1 thread
    bools = x > 0.5
    padded = np.ascontiguousarray(np.concatenate([bools, np.zeros((-samples % 64, n_in), bool)]))
    counts_buf = np.zeros(padded.shape[0] * 10, dtype=np.int32)
    program = jit.compile_netlist(cm.netlist)
    packed = pack_inputs(bools)
    r = args.repeat
    dl_lean = lean_difflogic(lib_fn, samples, n_in)
    if not np.array_equal(dl_lean(x), res["class"]):
        raise SystemExit(f"{name}: difflogic's C (lean call) and nandc disagree")
    cm.predict(x, threads=1)  # load both fused functions before timing
    t = interleaved({
        "dl": lambda: dl_lean(x),
        "dl_wrapped": lambda: dl_end_to_end(x),
        "dl_c": lambda: lib_fn(padded.reshape(-1), counts_buf, padded.shape[0] // 64),
        "fused": lambda: cm.predict(x, threads=1),
        "fused_run": lambda: cm.run(x, threads=1),
        "net": lambda: program.run_packed(packed, threads=1),
    }, r)
    t["old"] = best(lambda: cm.predict(x, threads=1, fused=False), max(1, r // 2))
    hot = np.ascontiguousarray(x[:IN_CACHE])  # a batch that stays in the cache between calls
    dl_hot = lean_difflogic(lib_fn, IN_CACHE, n_in)
    t_hot = interleaved({"dl": lambda: dl_hot(hot), "fused": lambda: cm.predict(hot, threads=1)}, 3 * r)
    x1 = x[:1].copy()
    lat = {key: [] for key in ("difflogic", "fused", "old")}
    for _ in range(5):  # interleaved rounds, median of all calls
        lat["difflogic"].append(latency(lambda: dl_one(x1), args.calls // 5))
        lat["fused"].append(latency(lambda: cm.predict(x1, threads=1), args.calls // 5))
        lat["old"].append(latency(lambda: cm.predict(x1, threads=1, fused=False), max(4, args.calls // 50)))
    lat = {k: float(np.median(v)) for k, v in lat.items()}
    rate = {k: samples / v / 1e6 for k, v in t.items()}
    gates = cm.num_gates
    dl_gates = sum(w for w in widths)
    out(f"\n{name}: {n_in} inputs, difflogic layers {widths} ({dl_gates} gates + GroupSum 10), "
        f"nandc {gates} NAND2 (argmax included), {samples} float32 samples "
        f"({x.nbytes / 1e6:.0f} MB)")
    out(f"  compile: nandc {nandc_compile:.1f} s; gcc {' '.join(flags)} "
        + ("cached" if gcc_s is None else f"{gcc_s:.1f} s"))
    out(f"  {'path (1 thread, per CPU second)':46s} {'M samples/s':>12s} {'vs difflogic':>13s}")
    rows = [
        ("difflogic C end to end: x>0.5, C, argmax", rate["dl"]),
        ("  the same through CompiledLogicNet.forward", rate["dl_wrapped"]),
        ("  the C call alone (from prepared bools)", rate["dl_c"]),
        ("nandc step by step: predict(fused=False)", rate["old"]),
        ("nandc fused: predict (class)", rate["fused"]),
        ("nandc fused: run (logits + class)", rate["fused_run"]),
        ("nandc netlist alone (prepacked vectors)", rate["net"]),
    ]
    for label, v in rows:
        out(f"  {label:46s} {v:12.2f} {v / rate['dl']:12.1f}x")
    hot_rate = {k: IN_CACHE / v / 1e6 for k, v in t_hot.items()}
    out(f"  the same batch of {IN_CACHE} samples again and again (in cache): difflogic end to end "
        f"{hot_rate['dl']:.2f}, nandc fused predict {hot_rate['fused']:.2f} M samples/s "
        f"({hot_rate['fused'] / hot_rate['dl']:.1f}x)")
    out(f"  fused predict: {rate['fused'] * 1e6 * n_in * 4 / 1e9:.1f} GB/s of float input, "
        f"{gates * rate['fused'] / 1e3:.0f} G gate-samples/s end to end vs {gates * rate['net'] / 1e3:.0f} in "
        f"the netlist alone ({rate['fused'] / rate['net']:.0%})")
    out(f"  batch-1 latency (median): difflogic {lat['difflogic'] * 1e6:.1f} us, nandc fused "
        f"{lat['fused'] * 1e6:.1f} us, nandc step by step {lat['old'] * 1e6:.1f} us")
    return {"name": name, "rate": rate, "latency": lat}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller nets and batches")
    parser.add_argument("--march-native", action="store_true", help="compile difflogic's C with -march=native")
    parser.add_argument("--mnist-size", action="store_true",
                        help="also a 784-input net of 6 x 8,000 gates (gcc -O3 takes minutes on it)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", help="also write the report to this file")
    args = parser.parse_args(argv)
    difflogic, functional = import_difflogic()
    check_gate_ids(functional)
    lines: list[str] = []

    def out(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    out(f"# python benchmarks/bench_fused.py{' --quick' if args.quick else ''}"
        f"{' --mnist-size' if args.mnist_size else ''}"
        f"{' --march-native' if args.march_native else ''}  ({time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {jit.host_target().cpu}, "
        f"gcc {subprocess.run(['gcc', '-dumpfullversion'], capture_output=True, text=True).stdout.strip()})")
    out("difflogic gate id i == nandc truth table reverse4(i): checked for all 16 ids")
    if args.quick:
        nets = [("64-input", 64, [300, 300], 40_000), ("784-input", 784, [800, 800], 8_000)]
    else:
        nets = [("64-input", 64, [1000, 1000], 180_000), ("784-input", 784, [4000, 4000, 4000], 20_000)]
    if args.mnist_size:  # difflogic's smallest MNIST network: 6 layers of 8,000 gates
        nets.append(("784-input, 48K gates", 784, [8000] * 6, 20_000))
    for name, n_in, widths, samples in nets:
        bench_net(name, n_in, widths, samples, args, difflogic, out)
    if args.out:
        from nandc.files.fsutil import atomic_write

        with atomic_write(args.out) as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
