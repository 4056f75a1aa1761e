"""Equivalence checking: ``nandc verify`` against ABC's ``cec`` on the same pair of files.

The pair is the demo's: a binary MLP 64-128-64-10 on scikit-learn digits
(trained ``--epochs`` epochs), its frontend AIG (``-O0``, ~82k AND nodes)
against its ``-O2`` netlist written as AIGER.  Both checkers run here, one
after the other, each as its own process; the script prints wall-clock and
CPU seconds of each and their ratios (CPU time is the fairer figure on a
shared machine).

    python benchmarks/bench_verify.py                  # build the pair, compare
    python benchmarks/bench_verify.py A.aig B.aig      # compare on given files
    python benchmarks/bench_verify.py --timeout 600
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build_pair(out: Path, epochs: int) -> tuple[Path, Path]:
    import torch

    import nandc
    from nandc.lab.datasets import load_digits
    from nandc.ir.io import write
    from nandc.nn.training import fit
    from nandc.lab.zoo import binary_mlp

    torch.manual_seed(0)
    data = load_digits(seed=0)
    model = binary_mlp(data.shape[0], (128, 64), data.classes)
    fit(model, data.x_train, data.y_train, epochs=epochs, progress=False)
    model.eval()
    x = torch.from_numpy(data.x_test[:1])
    front = nandc.compile(model, x, passes="O0").circuit
    opt = nandc.compile(model, x, passes="O2").netlist
    a, b = out / "front.aig", out / "opt.aig"
    write(front, a)
    write(opt, b)
    print(f"pair: frontend AIG {front.num_ands} AND nodes, -O2 netlist {opt.num_gates} NAND2 gates")
    return a, b


def timed(cmd: list[str], timeout: float) -> tuple[float, float, str]:
    """Wall and CPU seconds (children's user + system) of ``cmd``, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        text = done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        text = f"timed out after {timeout:.0f} s"
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, text.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="two AIGER/BLIF files (default: build the demo pair)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--abc", default=shutil.which("yosys-abc") or shutil.which("berkeley-abc"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.files:
            a, b = map(Path, args.files)
        else:
            a, b = build_pair(Path(tmp), args.epochs)
        root = str(Path(__file__).resolve().parents[1])
        env_cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); "
                   "from nandc.cli import main; sys.exit(main(sys.argv[1:]))", "verify", str(a), str(b)]
        n_wall, n_cpu, n_out = timed(env_cmd, args.timeout)
        print(f"nandc verify: {n_wall:.1f} s wall, {n_cpu:.1f} s CPU: {n_out.splitlines()[-1] if n_out else ''}")
        if not args.abc:
            print("ABC not found (yosys-abc or berkeley-abc); no ratio")
            return
        a_wall, a_cpu, a_out = timed([args.abc, "-c", f"cec {a} {b}"], args.timeout)
        verdict = next((line for line in a_out.splitlines() if "equivalent" in line.lower()), a_out[-200:])
        print(f"ABC cec:      {a_wall:.1f} s wall, {a_cpu:.1f} s CPU: {verdict.strip()}")
        print(f"ratio nandc/ABC: wall {n_wall / a_wall:.2f}, CPU {n_cpu / max(a_cpu, 1e-9):.2f}")


if __name__ == "__main__":
    main()
