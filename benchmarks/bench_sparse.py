"""A sparse learned-gate network (difflogic-shaped, ~48k gates) run by the JIT: samples/s.

Five layers of 8,000 and one of 1,000 random two-input gates over 784 binary
inputs, each gate a NAND of two signals of the previous layer (the shape of
a hardened soft-NAND / difflogic network), then 10 GroupSum popcounts of 100
bits each, in the netlist too.
Prints samples/s on 1 and 2 threads beside the numpy reference evaluator.

    python benchmarks/bench_sparse.py [--samples 1048576]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def sparse_network(widths=(8000, 8000, 8000, 8000, 8000, 1000), inputs: int = 784, classes: int = 10,
                   seed: int = 0):
    from nandc.ir import words
    from nandc.ir.circuit import Circuit
    from nandc.passes import lower_to_nand

    rng = np.random.default_rng(seed)
    c = Circuit("sparse")
    prev = list(c.add_input_bus("x", inputs))
    for layer, width in enumerate(widths):
        with c.layer(f"gates{layer + 1}"):
            a = rng.integers(0, len(prev), width)
            b = rng.integers(0, len(prev), width)
            prev = [c.nand(prev[i], prev[j]) for i, j in zip(a.tolist(), b.tolist())]
    group = len(prev) // classes
    with c.layer("groupsum"):
        counts = [words.popcount(c, prev[k * group:(k + 1) * group]) for k in range(classes)]
    width_bits = max(len(w.bits) for w in counts)
    c.set_output("counts", [bit for w in counts for bit in words.extend(w, width_bits).bits], (classes, width_bits))
    return lower_to_nand(c)[0]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1 << 20)
    args = p.parse_args(argv)

    from nandc.backends.llvm import compile_netlist, packing
    from nandc.ir.bits import pack_samples
    from nandc.ir.evaluate import simulate_netlist

    net = sparse_network()
    program = compile_netlist(net)
    n = args.samples
    slices = pack_samples(np.random.default_rng(1).integers(0, 2, (n, net.num_inputs), dtype=np.uint8))
    rates = {}
    for threads in (1, 2):
        program.run_slices(slices[:, :64], threads=threads)
        best = min(_timed(lambda: program.run_slices(slices, threads=threads)) for _ in range(3))
        rates[threads] = n / best
    vectors = packing.slices_to_vectors(slices)  # the JIT's own layout, converted once
    packed = {}
    for threads in (1, 2):
        program.run_packed(vectors[:4], threads=threads)
        packed[threads] = n / min(_timed(lambda: program.run_packed(vectors, threads=threads)) for _ in range(3))
    small = slices[:, : max(1, slices.shape[1] // 16)]
    ref = n / 16 / _timed(lambda: simulate_netlist(net, small))
    print(f"sparse learned-gate network: {net.num_gates} NAND2 gates, {n} samples")
    for threads, r in rates.items():
        print(f"  JIT from bit slices, {threads} thread(s):   {r:14,.0f} samples/s  "
              f"({r * net.num_gates / 1e9:.0f} G gate-samples/s)")
    for threads, r in packed.items():
        print(f"  JIT on its vector layout, {threads} thread(s): {r:14,.0f} samples/s  "
              f"({r * net.num_gates / 1e9:.0f} G gate-samples/s)")
    print(f"  numpy reference:  {ref:14,.0f} samples/s   (JIT 2 threads / numpy = {rates[2] / ref:.0f}x)")
    return {"gates": net.num_gates, "jit1": rates[1], "jit2": rates[2], "packed": packed, "numpy": ref}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
