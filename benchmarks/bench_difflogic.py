"""Learned-gate networks against difflogic: CPU training speed per epoch, side by side.

    python benchmarks/bench_difflogic.py                      # digits 64->1000->1000 and MNIST-5k 784->1000->1000
    python benchmarks/bench_difflogic.py --epochs 3 --threads 1

Trains the same architecture (LogicLayer in->W->W, GroupSum of 10 classes,
fixed random wiring, Adam, batch 128, the same batches) with

* difflogic's own python implementation (``implementation="python"``, the
  CPU path; its CUDA extension is stubbed, see ``third_party/``),
* nandc's LogicLayer with the reference autograd path (``kernel="reference"``),
* nandc's LogicLayer with the fast kernels (``kernel="fast"``, the default),

and prints seconds per epoch and the ratios against difflogic measured in the
same run; the epochs of the three trainers are interleaved so machine load
hits them alike.  Results go to ``benchmarks/results/bench_difflogic.txt``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "third_party"))
sys.path.insert(0, str(HERE.parent))

import difflogic_cpu  # noqa: E402

from nandc.lab.datasets import load_digits, load_mnist5k  # noqa: E402
from nandc.nn import GroupSum, LogicLayer  # noqa: E402


def difflogic_model(dl, fin, width, layers, classes, tau):
    mods = [dl.LogicLayer(fin if i == 0 else width, width, device="cpu", implementation="python")
            for i in range(layers)]
    return torch.nn.Sequential(*mods, dl.GroupSum(classes, tau, device="cpu"))


def nandc_model(fin, width, layers, classes, tau, kernel, seed):
    mods = [LogicLayer(fin if i == 0 else width, width, seed=seed + i, kernel=kernel) for i in range(layers)]
    return torch.nn.Sequential(*mods, GroupSum(classes, tau))


def run_epoch(model, opt, x, y, batches):
    model.train()
    t0 = time.perf_counter()
    correct = 0
    for idx in batches:
        out = model(x[idx])
        loss = torch.nn.functional.cross_entropy(out, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        correct += int((out.argmax(1) == y[idx]).sum())
    return time.perf_counter() - t0, correct / len(x)


def test_accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def compare(name, ds, width, layers, epochs, seed, lines):
    dl = difflogic_cpu.load()
    x = torch.from_numpy(np.round(ds.x_train.reshape(len(ds.x_train), -1)))
    y = torch.from_numpy(ds.y_train)
    xt = torch.from_numpy(np.round(ds.x_test.reshape(len(ds.x_test), -1)))
    yt = torch.from_numpy(ds.y_test)
    fin, tau = x.shape[1], (width / ds.classes) ** 0.5 / 2
    torch.manual_seed(seed)
    models = {
        "difflogic python": difflogic_model(dl, fin, width, layers, ds.classes, tau),
        "nandc reference": nandc_model(fin, width, layers, ds.classes, tau, "reference", seed),
        "nandc fast": nandc_model(fin, width, layers, ds.classes, tau, "fast", seed),
    }
    opts = {k: torch.optim.Adam(m.parameters(), lr=0.05) for k, m in models.items()}
    times = {k: [] for k in models}
    accs = {}
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        batches = [order[i:i + 128] for i in range(0, len(x), 128)]
        for k, m in models.items():
            with difflogic_cpu.quiet():
                t, acc = run_epoch(m, opts[k], x, y, batches)
            times[k].append(t)
            accs[k] = acc
    base = statistics.median(times["difflogic python"])
    head = (f"{name}: LogicLayer {fin}->{'->'.join([str(width)] * layers)}, GroupSum({ds.classes}), "
            f"{len(x)} samples, batch 128, {epochs} epochs, {torch.get_num_threads()} thread(s)")
    lines.append(head)
    lines.append(f"  {'trainer':18s} {'s/epoch (median)':>17s} {'speed-up vs difflogic':>22s} "
                 f"{'train acc (last)':>17s} {'test acc':>9s}")
    for k, m in models.items():
        med = statistics.median(times[k])
        with difflogic_cpu.quiet():
            tacc = test_accuracy(m, xt, yt)
        lines.append(f"  {k:18s} {med:17.3f} {base / med:21.2f}x {accs[k]:17.3f} {tacc:9.3f}")
    print("\n".join(lines[-len(models) - 2:]), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "bench_difflogic.txt"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines = [f"# bench_difflogic.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  torch {torch.__version__}"]
    compare("digits", load_digits(), args.width, args.layers, args.epochs, args.seed, lines)
    if not args.skip_mnist:
        compare("MNIST-5k", load_mnist5k(), args.width, args.layers, args.epochs, args.seed, lines)
    from nandc.files.fsutil import atomic_write

    with atomic_write(args.out) as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
