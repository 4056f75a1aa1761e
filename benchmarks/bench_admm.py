"""Two recipes for soft-NAND networks: annealing against slack-variable ADMM training.

    python benchmarks/bench_admm.py                    # truth tables over seeds, then MNIST-5k
    python benchmarks/bench_admm.py --seeds 4 --skip-mnist

Truth tables (XOR, full adder, 4-bit adder a + b -> 5 bits): for each seed,
one attempt per recipe (``learn_truth_table`` with ``TRUTH_TABLE_TRAINING``
against ``learn_truth_table(..., trainer="admm")`` with ``TRUTH_TABLE_ADMM``, the same
network and seed); a success is a hardened network whose compiled netlist is
proved equal to the table (exhaustive equivalence).  MNIST-5k: the same
SoftNAND classifier (learned wiring) trained by both recipes for the same
epochs; hardened test accuracy and time.  Results:
``benchmarks/results/bench_admm.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nandc.nn import (AnnealConfig, ExponentialSchedule, anneal_fit, harden, logic_classifier)  # noqa: E402
from nandc.lab.experiment import learn_truth_table  # noqa: E402
from nandc.nn.admm import TRUTH_TABLE_ADMM, ADMMConfig, admm_fit  # noqa: E402
from nandc.nn.truth_table import FULL_ADDER, TRUTH_TABLE_TRAINING, XOR, truth_table  # noqa: E402
from nandc.nn.training import accuracy, torch_predict  # noqa: E402

ADDER4 = truth_table("adder4", 8, lambda *b: tuple(
    ((sum(b[i] << i for i in range(4)) + sum(b[4 + i] << i for i in range(4))) >> k) & 1 for k in range(5)))

#: table -> (hidden widths, epochs)
TABLES = {XOR: ((16,) * 7, 250), FULL_ADDER: ((16,) * 7, 250), ADDER4: ((24,) * 9, 300)}


def truth_tables(seeds, lines):
    lines += ["| table | recipe | exact / seeds | mean NAND2 of exact nets | mean s per seed |", "|---" * 5 + "|"]
    for table, (widths, epochs) in TABLES.items():
        anneal_cfg = replace(TRUTH_TABLE_TRAINING, epochs=epochs,
                             tau=ExponentialSchedule(0.2, 0.03, epochs))
        admm_cfg = replace(TRUTH_TABLE_ADMM, epochs=epochs, tau=ExponentialSchedule(0.2, 0.03, epochs),
                           curriculum_epochs=epochs // 5)
        for recipe, trainer, cfg in (("anneal", "anneal", anneal_cfg), ("ADMM", "admm", admm_cfg)):
            ok, gates, secs = 0, [], []
            for seed in range(seeds):
                fit = learn_truth_table(table, widths, cfg, attempts=1, seed=seed, trainer=trainer)
                ok += fit.proof.equivalent
                secs.append(fit.seconds)
                if fit.proof.equivalent:
                    gates.append(fit.gates)
            row = (f"| {table.name} ({table.inputs} in, {table.num_outputs} out) | {recipe} | {ok} / {seeds} | "
                   f"{np.mean(gates) if gates else float('nan'):.1f} | {np.mean(secs):.1f} |")
            lines.append(row)
            print(row, flush=True)


def mnist(epochs, lines):
    from nandc.lab.datasets import load_mnist5k

    ds = load_mnist5k(seed=0)
    widths = (1000, 1000)
    cand = 8
    lines += ["", f"MNIST-5k (4000 train / 1000 test), SoftNAND 784-{widths[0]}-{widths[1]} with learned wiring "
              f"(candidates={cand}), passthrough, GroupSum(10), {epochs} epochs", "",
              "| recipe | hardened test accuracy | train s |", "|---|---|---|"]

    def model():
        return logic_classifier(784, widths, 10, gate="nand", candidates=cand, seed=0, group_tau=5.0, tau=0.2)

    m = model()
    cfg = AnnealConfig(epochs=epochs, lr=0.05, tau=ExponentialSchedule(0.2, 0.05, epochs),
                       select_tau=ExponentialSchedule(1.0, 0.1, epochs), hard_epochs=max(1, epochs // 5))
    res = anneal_fit(m, ds.x_train, ds.y_train, cfg)
    acc = accuracy(torch_predict(harden(m), ds.x_test).argmax(1).numpy(), ds.y_test)
    lines.append(f"| anneal (tau 0.2->0.05, straight-through last {max(1, epochs // 5)}) | {acc:.2%} | "
                 f"{res.seconds:.0f} |")
    print(lines[-1], flush=True)
    m = model()
    cfg = ADMMConfig(epochs=epochs, lr=0.05, tau=ExponentialSchedule(0.2, 0.05, epochs),
                     select_tau=ExponentialSchedule(1.0, 0.1, epochs), rho=0.01, rho_growth=2.5, rho_max=100.0,
                     snap_epochs=max(1, epochs // 5))
    res = admm_fit(m, ds.x_train, ds.y_train, cfg)
    acc = accuracy(torch_predict(harden(m), ds.x_test).argmax(1).numpy(), ds.y_test)
    lines.append(f"| ADMM (rho 0.01 x2.5 per epoch, snap last {max(1, epochs // 5)}) | {acc:.2%} | "
                 f"{res.seconds:.0f} |")
    print(lines[-1], flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--mnist-epochs", type=int, default=5)
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--skip-tables", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "bench_admm.md"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    lines = [f"# bench_admm.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    if not args.skip_tables:
        truth_tables(args.seeds, lines)
    if not args.skip_mnist:
        mnist(args.mnist_epochs, lines)
    from nandc.files.fsutil import atomic_write

    with atomic_write(args.out) as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
