"""Throughput of the reference evaluators, in gate-samples per second.

Builds a layered random NAND2 netlist (about one million gates by default,
each gate reading two signals of the previous layers near its own position,
the fanin locality of real datapaths), converts it to a Circuit, and times
the reference evaluators (``simulate_netlist`` / ``simulate_circuit``) on the
same random samples, split into the one-off compile (liveness, levels, row
numbering; Python loops) and the vectorized run.  Both results are compared
bit for bit.

Run: ``python benchmarks/bench_evaluator.py [--gates N] [--samples S] [--width W]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nandc.ir.bits import num_words
from nandc.ir.evaluate import compile_circuit, compile_netlist
from nandc.ir.netlist import NandNetlist


def layered_netlist(num_gates: int, width: int, num_inputs: int, seed: int = 0,
                    window: int = 16, reach_back: int = 3) -> NandNetlist:
    """A random layered netlist of ``num_gates`` NAND2 gates, ``width`` gates per layer.

    Gate ``i`` of a layer reads two signals of one of the last ``reach_back``
    layers (the primary inputs count as layer 0), each within ``window``
    positions of ``i``.  Every gate that no other gate reads is a bit of the
    output bus ``y``, so every gate is evaluated.
    """
    rng = np.random.default_rng(seed)
    net = NandNetlist("layered")
    layers = [np.array(net.add_input_bus("x", num_inputs), dtype=np.int64)]
    made = 0
    while made < num_gates:
        count = min(width, num_gates - made)
        pos = np.arange(count)
        picks = []
        for _ in range(2):
            back = rng.integers(1, min(reach_back, len(layers)) + 1, size=count)
            offset = rng.integers(-window, window + 1, size=count)
            sigs = np.empty(count, dtype=np.int64)
            for k in np.unique(back).tolist():
                src = layers[-k]
                sel = back == k
                idx = (pos[sel] * len(src)) // max(count, 1) + offset[sel]
                sigs[sel] = src[np.clip(idx, 0, len(src) - 1)]
            picks.append(sigs.tolist())
        layer_id = net.layer_id(f"L{len(layers)}")
        layers.append(np.array([net.nand(a, b, layer_id) for a, b in zip(*picks)], dtype=np.int64))
        made += count
    a, b = net.gate_arrays()
    read = np.zeros(net.num_signals, dtype=bool)
    read[a] = True
    read[b] = True
    net.set_output("y", (np.flatnonzero(~read[net.first_gate:]) + net.first_gate).tolist())
    return net


def _time(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=1000, help="gates per layer")
    parser.add_argument("--inputs", type=int, default=784)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    net = layered_netlist(args.gates, args.width, args.inputs)
    circuit = net.to_circuit()
    print(f"built {net.num_gates} gates ({circuit.num_ands} AND nodes), depth {net.depth()}, "
          f"in {time.perf_counter() - t0:.1f}s")
    rng = np.random.default_rng(1)
    words = rng.integers(0, 2**64, size=(args.inputs, num_words(args.samples)), dtype=np.uint64)
    results = []
    for name, compile_fn, obj, gates in (("netlist", compile_netlist, net, net.num_gates),
                                         ("circuit", compile_circuit, circuit, circuit.num_ands)):
        t_compile, sim = _time(compile_fn, obj)
        t_run, out = _time(sim.run, words)
        results.append(out)
        total = t_compile + t_run
        print(f"simulate_{name:8s} {total:6.2f}s (compile {t_compile:5.2f}s + run {t_run:6.2f}s)  "
              f"{gates * args.samples / total / 1e9:6.2f} G gate-samples/s overall, "
              f"{gates * args.samples / t_run / 1e9:6.2f} G in run")
    if not np.array_equal(*results):
        print("MISMATCH: the netlist and circuit evaluators disagree")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
