"""Binary 784-256-256-10 MLP: JIT-run NAND netlist vs PyTorch float eval of the same model.

Both use 2 threads.  Prints samples/s of each and their ratio, measured side by
side in this run, and where the netlist's gates are (dense popcounts dominate).

    python benchmarks/bench_mlp.py [--samples 65536] [--hidden 256,256] [--passes O2]
"""

from __future__ import annotations

import argparse
import time


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=65536)
    p.add_argument("--hidden", default="256,256")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--passes", default="O1", help="pipeline (default O1: the frontend's netlist, the largest)")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    import nandc
    from nandc.lab import zoo
    from nandc.backends.report import format_text

    torch.set_num_threads(args.threads)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    torch.manual_seed(0)
    model = zoo.binary_mlp(784, hidden, 10)
    model.train()
    with torch.no_grad():
        model(torch.rand(512, 784))  # BatchNorm statistics
    model.eval()
    x = np.random.default_rng(0).random((args.samples, 784), dtype=np.float32)

    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.zeros(1, 784), passes=args.passes)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled.run(x[:256], threads=args.threads)  # JIT compile (or cache load)
    jit_s = time.perf_counter() - t0

    xt = torch.from_numpy(x)
    layers, width = [], 784
    for h in hidden:  # the same architecture in float: Linear + BatchNorm + Hardtanh
        layers += [torch.nn.Linear(width, h), torch.nn.BatchNorm1d(h), torch.nn.Hardtanh()]
        width = h
    float_model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10)).eval()

    def torch_float():
        with torch.no_grad():
            for i in range(0, len(xt), 8192):
                float_model(xt[i:i + 8192])

    def torch_quant():
        with torch.no_grad():
            for i in range(0, len(xt), 8192):
                model(xt[i:i + 8192])

    def netlist():
        compiled.run(x, threads=args.threads)

    t_float = _best_of(torch_float, args.repeats)
    t_quant = _best_of(torch_quant, args.repeats)
    t_jit = _best_of(netlist, args.repeats)
    codes = compiled.encode(x)
    bits = ((codes[..., None] >> np.arange(1)) & 1).astype(np.uint8)
    from nandc.backends.llvm import compile_netlist

    program = compile_netlist(compiled.netlist)
    t_core = _best_of(lambda: program.run(bits.reshape(len(x), -1), threads=args.threads), args.repeats)
    n = args.samples
    gate_rate = compiled.num_gates * n / t_core / 1e9
    print(f"binary MLP 784-{'-'.join(map(str, hidden))}-10: {compiled.num_gates} NAND2 gates at {args.passes} "
          f"(compile {compile_s:.1f} s, JIT {jit_s:.1f} s)")
    print(f"  torch float eval (nn.Linear), batch 8192: {n / t_float:12,.0f} samples/s")
    print(f"  torch eval of the binary model:          {n / t_quant:12,.0f} samples/s")
    print(f"  NAND netlist, JIT, {args.threads} threads (end to end): {n / t_jit:12,.0f} samples/s  "
          f"= {t_float / t_jit:.2f}x torch float")
    print(f"  NAND netlist, JIT core (bits in/out):    {n / t_core:12,.0f} samples/s  "
          f"({gate_rate:.0f} G gate-samples/s)")
    print()
    print(format_text(compiled.report()))
    return {"float_sps": n / t_float, "jit_sps": n / t_jit, "core_sps": n / t_core, "gates": compiled.num_gates}


if __name__ == "__main__":
    main()
