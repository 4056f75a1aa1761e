"""Frontend scale: trace and build the circuit of a 784-256-256-10 binary MLP.

Prints build time, AIG nodes, NAND2 gates after -O2 and peak memory (RSS) of this
process.  Target (issue): module -> Circuit in < 60 s and < 4 GB.

    python benchmarks/bench_frontend.py [--hidden 256,256]
"""

from __future__ import annotations

import argparse
import resource
import time


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", default="256,256")
    args = p.parse_args(argv)

    import torch

    import nandc
    from nandc.lab import zoo
    from nandc.frontend import build_circuit

    hidden = tuple(int(h) for h in args.hidden.split(","))
    torch.manual_seed(0)
    model = zoo.binary_mlp(784, hidden, 10)
    model.train()
    with torch.no_grad():
        model(torch.rand(256, 784))  # non-trivial BatchNorm statistics
    model.eval()
    t0 = time.perf_counter()
    circuit, _ = build_circuit(model, torch.zeros(1, 784))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.zeros(1, 784), passes="O2")
    compile_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"binary MLP 784-{'-'.join(map(str, hidden))}-10")
    print(f"  module -> Circuit:        {build_s:8.1f} s   ({circuit.num_ands} AIG nodes)")
    print(f"  full compile (-O2):       {compile_s:8.1f} s   ({compiled.num_gates} NAND2 gates)")
    print(f"  peak memory (process):    {peak_mb:8.0f} MB")
    return {"build_s": build_s, "compile_s": compile_s, "ands": circuit.num_ands,
            "nand2": compiled.num_gates, "peak_mb": peak_mb}


if __name__ == "__main__":
    main()
