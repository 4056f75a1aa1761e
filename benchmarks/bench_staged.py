"""Staged programs on CNNs at CIFAR shape: compile time, peak memory, exactness, throughput vs torch.

Cases (each compiled in a child process, so that its peak memory is its own):

* ``vgg``     -- ``zoo.vgg_int4`` (4-bit weights, 4-bit ReLUQuant, max pooling, FC layers);
  ``--vgg-scale`` divides its channels (1 = the paper's 64-64-128-128-256-256, FC 4096-512-10);
* ``resnet``  -- ``zoo.resnet_int4`` (16-32-64, stride-2 blocks, residual adds, global average pool);
* ``cnv``     -- ``zoo.cnv_binary`` (FINN's CNV shape, binary), also timed against torch float eval
  of the same architecture (``nn.Conv2d``/``nn.Linear``, BatchNorm, Hardtanh) on 2 threads, and at batch 1;
* ``growth``  -- ``zoo.int4_cnn(3, size, (8, 16))`` at 16x16 and 32x32, staged, and flat at 16x16.

Random weights; BatchNorm statistics calibrated on random images.  Every
compiled model is checked against torch on ``--images`` random images.
Timings are wall clock on a possibly shared machine (the load average is
printed); ratios are measured side by side in one run.  No assertions.

    python benchmarks/bench_staged.py [cases...] [--passes O2] [--images 256] [--vgg-scale 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CASES = ("growth", "resnet", "cnv", "vgg")


def calibrate(model, shape, seed: int = 0):
    """BatchNorm running statistics from one batch of random images (then eval mode)."""
    import torch

    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.reset_running_stats()
                m.momentum = None  # cumulative average
        model(torch.rand((256,) + tuple(shape)))
    return model.eval()


def float_twin(model):
    """The same architecture in float: quantized conv/linear -> nn.Conv2d/nn.Linear, quantizers -> Hardtanh."""
    import copy

    from torch import nn

    import nandc.nn as qnn
    from nandc.nn.base import QuantConv2dBase

    twin = copy.deepcopy(model)

    def swap(parent):
        for name, child in parent.named_children():
            if isinstance(child, QuantConv2dBase):
                new = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                child.padding, child.dilation, bias=False)
            elif isinstance(child, (qnn.BinaryLinear, qnn.Int4Linear)):
                new = nn.Linear(child.in_features, child.out_features, bias=False)
            elif isinstance(child, (qnn.InputQuant, qnn.InputBinarize)):
                new = nn.Identity()
            elif isinstance(child, (qnn.SignActivation, qnn.ReLUQuant)):
                new = nn.Hardtanh()
            else:
                swap(child)
                continue
            setattr(parent, name, new)

    swap(twin)
    return twin.eval()


def build(case: str, args, size: int | None = None):
    from nandc.lab import zoo

    if case == "vgg":
        s = args.vgg_scale
        chans = tuple(max(1, c // s) for c in (64, 64, 128, 128, 256, 256))
        return zoo.vgg_int4(3, 32, chans, (max(1, 512 // s),)), (3, 32, 32)
    if case == "resnet":
        return zoo.resnet_int4(3, 32), (3, 32, 32)
    if case == "cnv":
        return zoo.cnv_binary(3, 32), (3, 32, 32)
    return zoo.int4_cnn(3, size, (8, 16)), (3, size, size)


def run_one(case: str, args, size: int | None, staged: bool) -> dict:
    """Compile one model in this process; returns the figures (peak memory of this process)."""
    import numpy as np
    import torch

    import nandc

    torch.set_num_threads(args.threads)
    model, shape = build(case, args, size)
    calibrate(model, shape)
    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.zeros((1,) + shape), passes=args.passes, staged=staged)
    compile_s = time.perf_counter() - t0
    x = torch.rand((args.images,) + shape, generator=torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    compiled.run(x[:1], threads=args.threads)  # JIT compile of every stage (or cache load)
    jit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = compiled.run(x, threads=args.threads)
    run_s = time.perf_counter() - t0
    with torch.no_grad():
        ref = model(x)
    got = compiled.to_torch_output(out["logits"])
    mismatches = int((got != ref).reshape(len(x), -1).any(1).sum())
    result = {
        "case": case if size is None else f"{case} {size}x{size} {'staged' if staged else 'flat'}",
        "stages": len(compiled.program.stages), "nand2": compiled.num_gates,
        "evaluations": compiled.gate_evaluations, "compile_s": compile_s, "jit_s": jit_s,
        "images_per_s": len(x) / run_s, "mismatches": mismatches, "images": len(x),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "kernels": [(s.name, s.netlist.num_gates) for s in compiled.program.stages],
    }
    if case == "cnv":
        twin = float_twin(model)
        xt = x

        def best(fn, repeats=3):
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            return min(times)

        with torch.no_grad():
            t_torch = best(lambda: twin(xt))
            t_torch1 = best(lambda: twin(xt[:1]), 10)
        t_nandc = best(lambda: compiled.run(x, threads=args.threads))
        t_nandc1 = best(lambda: compiled.run(x[:1], threads=args.threads), 10)
        result.update(torch_images_per_s=len(x) / t_torch, nandc_images_per_s=len(x) / t_nandc,
                      torch_latency_ms=1e3 * t_torch1, nandc_latency_ms=1e3 * t_nandc1)
        np.random.seed(0)
    return result


def child(case: str, args, size, staged) -> dict:
    """Run :func:`run_one` in a fresh process (its own peak memory)."""
    cmd = [sys.executable, __file__, "--child", json.dumps([case, size, staged]), "--passes", args.passes,
           "--images", str(args.images), "--threads", str(args.threads), "--vgg-scale", str(args.vgg_scale)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        return {"case": case, "error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", nargs="*", default=list(CASES), help=f"any of {', '.join(CASES)}")
    p.add_argument("--passes", default="O2")
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--vgg-scale", type=int, default=4, help="divide the VGG's channels (1 = full size)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        case, size, staged = json.loads(args.child)
        print(json.dumps(run_one(case, args, size, staged)))
        return []
    print(f"load average {os.getloadavg()[0]:.1f}, passes {args.passes}, {args.images} images, "
          f"{args.threads} threads")
    results = []
    for case in args.cases:
        runs = [(case, None, True)]
        if case == "growth":
            runs = [(case, 16, False), (case, 16, True), (case, 32, True)]
        for c, size, staged in runs:
            r = child(c, args, size, staged)
            results.append(r)
            if "error" in r:
                print(f"{r['case']}: FAILED: {r['error']}")
                continue
            print(f"{r['case']}: {r['stages']} stages, {r['nand2']:,} NAND2, {r['evaluations']:,} gate "
                  f"evaluations/image; compile {r['compile_s']:.0f} s + JIT {r['jit_s']:.0f} s, peak "
                  f"{r['peak_gb']:.2f} GB; {r['images_per_s']:.0f} images/s; {r['mismatches']} mismatches "
                  f"on {r['images']} images")
            if "torch_images_per_s" in r:
                print(f"   vs torch float eval, same architecture, {args.threads} threads: "
                      f"{r['nandc_images_per_s']:.0f} vs {r['torch_images_per_s']:.0f} images/s "
                      f"({r['nandc_images_per_s'] / r['torch_images_per_s']:.2f}x); batch-1 latency "
                      f"{r['nandc_latency_ms']:.1f} ms vs {r['torch_latency_ms']:.1f} ms")
            print("   kernels: " + ", ".join(f"{n} {g:,}" for n, g in r["kernels"]))
    growth = {r["case"]: r for r in results if r.get("case", "").startswith("growth") and "error" not in r}
    a, b = growth.get("growth 16x16 staged"), growth.get("growth 32x32 staged")
    if a and b:
        print(f"int4_cnn 16 -> 32 staged: compile time x{(b['compile_s'] + b['jit_s']) / (a['compile_s'] + a['jit_s']):.2f}"
              f", peak memory x{b['peak_gb'] / a['peak_gb']:.2f} (a flat circuit grows about 4x)")
    return results


if __name__ == "__main__":
    main()
