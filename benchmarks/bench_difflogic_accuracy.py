"""Learned-gate networks on MNIST-5k: accuracy against NAND2 gates, a float MLP, and difflogic's own trainer.

    python benchmarks/bench_difflogic_accuracy.py                 # the three sizes, the MLP, difflogic at size S
    python benchmarks/bench_difflogic_accuracy.py --sizes S --epochs 5 --no-difflogic

Every model sees the same split (``nandc.lab.datasets.load_mnist5k(seed=0)``:
4,000 training and 1,000 test digits, pixels rounded to 0/1 at 0.5 for the
gate networks).  For each size a nandc LogicLayer network (fixed random
wiring, or learned among 16 candidates for ``S16``; fast kernels, gate temperature annealed, last epochs
straight-through) is trained, hardened, compiled with ``-O2`` and run on
the test set; the table gives the hardened accuracy, the compiled accuracy
(equal by construction: the script counts mismatches), the logic gates, the
NAND2 count of the whole netlist (gate layers plus the GroupSum popcounts and
argmax) and the training time.  The float MLP (784-256-10, ReLU, Adam) and
difflogic's python implementation (same architecture and epochs as size S,
its own forward and eval, CUDA stubbed; its eval-mode model converted with
``nandc.nn.from_difflogic`` and compiled) train on the same split.  Results:
``benchmarks/results/bench_difflogic_accuracy.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "third_party"))
sys.path.insert(0, str(HERE.parent))

import nandc  # noqa: E402
from nandc.lab.datasets import load_mnist5k  # noqa: E402
from nandc.nn import AnnealConfig, ExponentialSchedule, anneal_fit, harden, logic_classifier  # noqa: E402
from nandc.nn.truth_table import logic_gate_count  # noqa: E402
from nandc.nn.training import accuracy, fit, torch_predict  # noqa: E402

#: size name -> gate layer widths (the last is a multiple of the 10 classes)
SIZES = {"S": (1000, 1000), "M": (4000, 4000, 2000), "L": (8000, 8000, 4000), "S16": (1000, 1000)}
#: sizes with learned wiring: each pin chooses among 16 random candidate inputs, layers pass their input through
LEARNED = {"S16": 16}


def group_tau(last_width: int, classes: int = 10) -> float:
    return max(1.0, (last_width / classes) ** 0.5 / 2)


def compile_and_check(model, ds, opt="O2"):
    """(compiled accuracy, mismatches against the torch model, NAND2, logic NAND2, compile seconds)."""
    from nandc.nn import BooleanLayer

    ref = torch_predict(model, ds.x_test).argmax(1).numpy()
    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.from_numpy(ds.x_test[:1]), passes=opt)
    seconds = time.perf_counter() - t0
    out = compiled.run(ds.x_test)
    layers = [n for n, m in model.named_modules() if isinstance(m, BooleanLayer)]
    return (accuracy(out["class"], ds.y_test), int(np.sum(out["class"] != ref)), compiled.num_gates,
            logic_gate_count(compiled, layers), seconds)


def train_nandc(ds, widths, epochs, seed, lr, candidates=1):
    model = logic_classifier(784, widths, 10, gate="logic", candidates=candidates, passthrough=candidates > 1,
                             seed=seed, group_tau=group_tau(widths[-1]), tau=1.0)
    config = AnnealConfig(epochs=epochs, lr=lr, batch_size=128, tau=ExponentialSchedule(1.0, 0.3, epochs),
                          select_tau=ExponentialSchedule(1.0, 0.1, epochs),
                          hard_epochs=max(1, epochs // 10), seed=seed)
    res = anneal_fit(model, ds.x_train, ds.y_train, config)
    hard = harden(model)
    acc = accuracy(torch_predict(hard, ds.x_test).argmax(1).numpy(), ds.y_test)
    return hard, acc, res.seconds


def train_mlp(ds, epochs, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    res = fit(model, ds.x_train, ds.y_train, epochs=epochs, lr=1e-3, batch_size=64, seed=seed, progress=False)
    return accuracy(torch_predict(model, ds.x_test).argmax(1).numpy(), ds.y_test), res.seconds


def train_difflogic(ds, widths, epochs, seed, lr):
    import difflogic_cpu

    dl = difflogic_cpu.load()
    torch.manual_seed(seed)
    layers, width = [], 784
    for w in widths:
        layers.append(dl.LogicLayer(width, w, device="cpu", implementation="python", connections="unique"))
        width = w
    model = torch.nn.Sequential(*layers, dl.GroupSum(10, group_tau(widths[-1]), device="cpu"))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.from_numpy(ds.x_train.round())
    y = torch.from_numpy(ds.y_train)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with difflogic_cpu.quiet():
        model.train()
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(x)))
            for i in range(0, len(x), 128):
                idx = order[i:i + 128]
                loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            own = float((model(torch.from_numpy(ds.x_test).round()).argmax(1).numpy() == ds.y_test).mean())
    return nandc.nn.from_difflogic(model), own, seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--sizes", default="S,M,L,S16")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-difflogic", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "bench_difflogic_accuracy.md"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_mnist5k(seed=0)
    rows = []
    mlp_acc, mlp_s = train_mlp(ds, 30, args.seed)
    print(f"MLP 784-256-10: {mlp_acc:.2%} in {mlp_s:.1f} s", flush=True)
    rows.append(("float MLP 784-256-10 (30 epochs)", "203,530 float weights", "-", "-", f"{mlp_acc:.2%}",
                 "-", f"{mlp_s:.0f}"))
    for name in args.sizes.split(","):
        widths = SIZES[name]
        cand = LEARNED.get(name, 1)
        hard, acc, secs = train_nandc(ds, widths, args.epochs, args.seed, args.lr, cand)
        cacc, mism, nand2, logic, _ = compile_and_check(hard, ds)
        print(f"nandc {name} {widths}: hardened {acc:.2%}, compiled {cacc:.2%} ({mism} mismatches), "
              f"{logic} logic NAND2, {nand2} NAND2, train {secs:.0f} s", flush=True)
        wiring = f"learned wiring, {cand} candidates, passthrough" if cand > 1 else "fixed wiring"
        rows.append((f"nandc LogicLayer {name} {'-'.join(map(str, widths))} ({wiring}, {args.epochs} epochs)",
                     f"{sum(widths):,}", f"{logic:,}", f"{nand2:,}", f"{acc:.2%}", f"{cacc:.2%} ({mism})",
                     f"{secs:.0f}"))
    if not args.no_difflogic:
        widths = SIZES["S"]
        conv, own, secs = train_difflogic(ds, widths, args.epochs, args.seed, 0.01)
        cacc, mism, nand2, logic, _ = compile_and_check(conv, ds)
        print(f"difflogic S {widths}: own eval {own:.2%}, compiled {cacc:.2%} ({mism} mismatches), "
              f"{nand2} NAND2, train {secs:.0f} s", flush=True)
        rows.append((f"difflogic python, S {'-'.join(map(str, widths))} ({args.epochs} epochs, lr 0.01)",
                     f"{sum(widths):,}", f"{logic:,}", f"{nand2:,}", f"{own:.2%}", f"{cacc:.2%} ({mism})",
                     f"{secs:.0f}"))
    head = ("| model | learned gates | NAND2 in gate layers | NAND2 total | test accuracy (torch) | "
            "compiled accuracy (mismatches) | train s |")
    lines = [f"# bench_difflogic_accuracy.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             "", f"MNIST-5k, split seed 0: {len(ds.x_train)} train / {len(ds.x_test)} test, "
             f"{torch.get_num_threads()} threads, shared machine", "", head, "|---" * 7 + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    from nandc.files.fsutil import atomic_write

    with atomic_write(args.out) as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
