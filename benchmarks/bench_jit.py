"""Throughput and compile time of the LLVM JIT, side by side with the numpy reference.

Two netlists of about 100k NAND2 gates each:

* ``layered`` — random layers of ``--width`` gates; gate ``i`` of a layer reads
  one signal of the previous layer (a shuffle within windows of 16 positions,
  so every gate is read) and one of the last three layers within 16 positions
  of ``i``; the last layer is the output.
* ``popcount`` — a binary neural network: hidden neurons each compare the
  popcount of 256 XNORed inputs with a threshold, output neurons popcount the
  hidden bits (adder trees from ``nandc.ir.words``).

For each: compile time, G NAND2-gate·samples/s of the JIT on 1 and 2
threads, of ``simulate_netlist`` (numpy), and their ratio (outputs compared
bit for bit).  Then the compile time of a ``--compile-gates`` layered netlist
(no cache) with each chunk writer of ``--codegens``: x86-64 assembly
(``asm``, the default on AVX2 hosts) against LLVM IR (``ir``) in the same run.  Timings are wall clock on a possibly shared machine: the load
average is printed with them.  No assertions.

Run: ``python benchmarks/bench_jit.py [--gates N] [--vectors V] [--compile-gates N] [--codegens asm,ir]``
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from nandc.backends.llvm import jit, packing
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import simulate_netlist
from nandc.ir.netlist import NandNetlist
from nandc.passes import lower_to_nand


def layered_netlist(num_gates: int, width: int = 256, num_inputs: int = 784, seed: int = 0,
                    window: int = 16, reach_back: int = 3) -> NandNetlist:
    """A random layered netlist in which every gate is read (see the module docstring)."""
    rng = np.random.default_rng(seed)
    net = NandNetlist("layered")
    layers = [np.array(net.add_input_bus("x", num_inputs), dtype=np.int64)]
    made = 0
    while made < num_gates:
        count = min(width, num_gates - made)
        prev = layers[-1]
        spread = np.arange(count) * len(prev) // count
        shuffled = np.lexsort((rng.random(count), np.arange(count) // window))
        first = prev[spread[shuffled]]
        back = rng.integers(1, min(reach_back, len(layers)) + 1, size=count)
        second = np.empty(count, dtype=np.int64)
        for k in np.unique(back).tolist():
            src, sel = layers[-k], back == k
            near = np.flatnonzero(sel) * len(src) // count
            near += rng.integers(-window, window + 1, size=len(near))
            second[sel] = src[np.clip(near, 0, len(src) - 1)]
        layer = net.layer_id(f"L{len(layers)}")
        layers.append(np.array([net.nand(a, b, layer) for a, b in zip(first.tolist(), second.tolist())],
                               dtype=np.int64))
        made += count
    net.set_output("y", layers[-1].tolist())
    return net


def popcount_netlist(num_inputs: int = 256, hidden: int = 64, outputs: int = 10,
                     seed: int = 0) -> NandNetlist:
    """A binary neural network of popcounts and thresholds (see the module docstring)."""
    rng = np.random.default_rng(seed)
    c = Circuit("popcount")
    x = c.add_input_bus("x", num_inputs)
    with c.layer("hidden"):
        h = [words.compare_const(c, words.popcount(c, [xi ^ int(w) for xi, w in
                                                     zip(x, rng.integers(0, 2, num_inputs))]),
                                 num_inputs // 2, ">=")
             for _ in range(hidden)]
    out_bits = []
    with c.layer("out"):
        for _ in range(outputs):
            count = words.popcount(c, [hi ^ int(w) for hi, w in zip(h, rng.integers(0, 2, hidden))])
            out_bits.extend(count.bits)
    c.set_output("y", out_bits)
    return lower_to_nand(c)[0]


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds of this process and of its finished children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def load() -> str:
    try:
        return "load average %.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def bench_throughput(name: str, net: NandNetlist, vectors: int, repeat: int) -> None:
    t0 = time.perf_counter()
    prog = jit.compile_netlist(net, use_cache=False)
    compile_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    packed = rng.integers(0, 2**64, size=(vectors, net.num_inputs, packing.LANES), dtype=np.uint64)
    samples = vectors * packing.SAMPLES_PER_VECTOR
    slices = packing.vectors_to_slices(packed)
    t_ref = best_time(lambda: simulate_netlist(net, slices), 1)
    reference = simulate_netlist(net, slices)
    same = np.array_equal(packing.vectors_to_slices(prog.run_packed(packed)), reference)
    print(f"{name}: {net.num_gates} NAND2 gates -> {prog.num_ops} ops in {prog.num_chunks} chunks, "
          f"compiled in {compile_s:.1f}s; JIT == numpy: {same}")
    ref_rate = net.num_gates * samples / t_ref / 1e9
    print(f"  numpy simulate_netlist   {ref_rate:8.1f} G gate-samples/s")
    for threads in (1, 2):
        t = best_time(lambda: prog.run_packed(packed, threads=threads), repeat)
        rate = net.num_gates * samples / t / 1e9
        print(f"  JIT, {threads} thread{'s' if threads > 1 else ' '}           {rate:8.1f} G gate-samples/s"
              f"   ({rate / ref_rate:5.0f}x numpy)")


def bench_compile(num_gates: int, codegens: tuple[str, ...]) -> None:
    """Compile one layered netlist with each chunk writer, side by side (ratio against the last)."""
    t0 = time.perf_counter()
    net = layered_netlist(num_gates)
    built = time.perf_counter() - t0
    print(f"compile {net.num_gates} gates (layered, built in {built:.1f}s):")
    times = {}
    for mode in codegens:
        marks = []

        def progress(done: int, total: int) -> None:
            marks.append((time.perf_counter(), done))

        os.environ[jit.CODEGEN_ENV] = mode
        try:
            self0, children0 = cpu_seconds()
            t0 = time.perf_counter()
            prog = jit.compile_netlist(net, use_cache=False, progress=progress)
            seconds = time.perf_counter() - t0
            self1, children1 = cpu_seconds()
        finally:
            del os.environ[jit.CODEGEN_ENV]
        times[mode] = seconds
        first = marks[0][0] - t0 if marks else float("nan")
        print(f"  {mode:4s}: {seconds:6.1f}s ({net.num_gates / seconds / 1e3:.0f}k gates/s; first chunk after "
              f"{first:.1f}s; {prog.num_ops} ops, {prog.num_chunks} chunks; CPU: this process "
              f"{self1 - self0:.1f}s, workers {children1 - children0:.1f}s)")
    base = codegens[-1]
    for mode in codegens[:-1]:
        print(f"  {mode} is {times[base] / times[mode]:.1f}x faster than {base}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=100_000, help="gates of the layered netlist")
    parser.add_argument("--width", type=int, default=256, help="gates per layer")
    parser.add_argument("--hidden", type=int, default=80, help="hidden neurons of the popcount netlist")
    parser.add_argument("--vectors", type=int, default=1024, help="sample vectors of 256 samples")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compile-gates", type=int, default=1_000_000)
    parser.add_argument("--codegens", default="asm,ir",
                        help="chunk writers to compare in the compile benchmark (the last is the baseline)")
    args = parser.parse_args(argv)

    target = jit.host_target()
    print(f"host: {target.cpu}, LLVM {target.llvm_version}, vpternlog: {target.has_ternlog}, "
          f"{os.cpu_count()} CPUs, {load()}")
    bench_throughput("layered", layered_netlist(args.gates, args.width), args.vectors, args.repeat)
    bench_throughput("popcount", popcount_netlist(hidden=args.hidden), args.vectors, args.repeat)
    if args.compile_gates:
        codegens = tuple(c for c in args.codegens.split(",") if c)
        if not target.triple.startswith("x86_64") or "+avx2" not in target.features.split(","):
            codegens = tuple(c for c in codegens if c != "asm") or ("ir",)
        bench_compile(args.compile_gates, codegens)
    print(load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
