"""Yardstick: nandc's NAND2 count against Berkeley ABC on the same AIGER input.

For every circuit of the suite, the same AIG is

* written to AIGER and optimized by ABC with
  ``strash; dc2; resyn2; resyn2rs; dch -f; map`` against a genlib holding
  only NAND2 and INV (nandc/data/nand.genlib), every inverter counted as one
  NAND2 (constants and buffers are wires);
* optimized by a nandc pipeline (default ``O3``) and lowered to NAND2.

Both run on this machine, one after the other; times are CPU seconds
(ABC's include reading the file; nandc's are the pipeline's, after one
warm-up run on a small circuit that loads numba's compiled loops), which a
shared machine inflates less than wall time.  ``--repeat N`` runs each tool N
times on each circuit and keeps the least time (the same for both; run-to-run
noise on a shared machine reaches +-25%, and the least of a few runs is the
figure least inflated by other work): ABC in N processes, nandc (and the
baseline) in N fresh processes after the warm-up circuit, each one cold, as
ABC is (a second run in one process would find the first run's cut functions
in nandc's caches); the netlist checked is then the one this process makes
from the same file, which must have as many gates.  ``--baseline DIR`` also runs the
nandc of another checkout (a git worktree of the commit before a change) on
the same AIGER file in a fresh process, for a before/after table measured in
one run (both then read the circuit back from the file).  The suite: every layer of the three
example models (binary MLP 784-256-256-10, ternary MLP 64-64-10, 4-bit CNN
8x8 with 8 and 16 channels; untrained, BatchNorm statistics from random data,
cut at layer-tag boundaries), popcount-threshold neurons of n = 16, 64, 256
and 1024 inputs, 16- and 32-bit adders and an 8x8 multiplier.

    python benchmarks/bench_abc.py                      # everything (tens of minutes)
    python benchmarks/bench_abc.py --only neuron,add    # names containing these
    python benchmarks/bench_abc.py --max-ands 100000    # skip the largest layers
    python benchmarks/bench_abc.py --abc-cache abc.json # reuse ABC results across runs
    python benchmarks/bench_abc.py --repeat 3           # each time the least of three runs
    python benchmarks/bench_abc.py --baseline /tmp/base # before (that checkout) and after
    python benchmarks/bench_abc.py --baseline-passes "<pipeline>" --pass-time resub
        # before = another pipeline in this process; also the CPU seconds of one pass
    python benchmarks/bench_abc.py --whole --abc none --baseline /tmp/base
        # the example models whole, before and after (no ABC: it takes hours on them)

Every nandc netlist is checked against its input circuit (exhaustively,
by SAT, or by random simulation above ``--sat-limit`` AND nodes).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ABC_SCRIPT = (
    "strash; dc2; "
    # resyn2
    "balance; rewrite; refactor; balance; rewrite; rewrite -z; balance; refactor -z; rewrite -z; balance; "
    # resyn2rs
    "balance; resub -K 6; rewrite; resub -K 6 -N 2; refactor; resub -K 8; balance; resub -K 8 -N 2; "
    "rewrite; resub -K 10; rewrite -z; resub -K 10 -N 2; balance; resub -K 12; refactor -z; "
    "resub -K 12 -N 2; rewrite -z; balance; "
    "dch -f; map"
)


@dataclass(frozen=True)
class Row:
    group: str
    name: str
    inputs: int
    ands: int
    abc_gates: int | None
    abc_seconds: float | None
    nandc_gates: int
    nandc_seconds: float
    verified: str
    base_gates: int | None = None
    base_seconds: float | None = None
    pass_seconds: float | None = None
    timed_pass: str | None = None


# ---------------------------------------------------------------------- the suite
def layer_circuit(circuit, layer: str):
    """The logic tagged ``layer`` as a circuit of its own (:func:`nandc.synth.wordsums.layer_part`):
    inputs (bus ``x``) are the nodes outside the layer that it reads; outputs (bus ``y``) are its
    nodes read outside it (or by the circuit's outputs)."""
    from nandc.synth.wordsums import layer_part

    return layer_part(circuit, layer)[0]


def _calibrated(model, shape, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(256, *shape))
    model.eval()
    return model


def model_circuits():
    """``(model name, circuit)`` of the three example models."""
    import torch

    from nandc.lab import zoo
    from nandc.frontend import build_circuit

    torch.manual_seed(0)  # the same weights in every run, so ABC results can be cached
    specs = [
        ("binary_mlp", zoo.binary_mlp(784, (256, 256), 10), (784,)),
        ("ternary_mlp", zoo.ternary_mlp(64, (64,), 10, input_bits=2), (64,)),
        ("int4_cnn", zoo.int4_cnn(1, 8, (8, 16), 10), (1, 8, 8)),
    ]
    for name, model, shape in specs:
        model = _calibrated(model, shape)
        circuit, _ = build_circuit(model, torch.zeros(1, *shape))
        yield name, circuit


def neuron(n: int, seed: int = 0):
    """``popcount(x XNOR w) >= T`` for random weights ``w`` and a threshold near ``n / 2``."""
    from nandc.ir import words
    from nandc.ir.circuit import Circuit

    rng = random.Random(seed)
    c = Circuit(f"neuron{n}")
    x = c.add_input_bus("x", n)
    count = words.popcount(c, [lit ^ rng.randint(0, 1) for lit in x])
    threshold = n // 2 + rng.randint(-(n // 8), n // 8)
    c.set_output("y", [words.compare_const(c, count, threshold, ">=")])
    return c


def adder(width: int):
    from nandc.ir import words
    from nandc.ir.circuit import Circuit
    from nandc.ir.words import Word

    c = Circuit(f"add{width}")
    a, b = c.add_input_bus("a", width), c.add_input_bus("b", width)
    c.set_output("s", words.add(c, Word(a), Word(b)).bits)
    return c


def multiplier(width: int):
    from nandc.ir import words
    from nandc.ir.circuit import Circuit

    c = Circuit(f"mul{width}")
    a, b = c.add_input_bus("a", width), c.add_input_bus("b", width)
    columns = [[] for _ in range(2 * width)]
    for i in range(width):
        for j in range(width):
            columns[i + j].append(c.and_(a[i], b[j]))
    c.set_output("p", words.column_sum(c, columns).bits[: 2 * width])
    return c


def suite(whole: bool = False):
    """``(group, name, circuit)`` of every benchmark circuit; ``whole``: the three example models
    instead, each as one circuit (group ``nn-model``)."""
    if whole:
        for model, circuit in model_circuits():
            yield "nn-model", model, circuit
        return
    for model, circuit in model_circuits():
        for layer in circuit.layer_names:
            if not layer:
                continue
            sub = layer_circuit(circuit, layer)
            if sub.num_ands:
                yield "nn-layer", f"{model}.{layer}", sub
    for n in (16, 64, 256, 1024):
        yield "nn-neuron", f"neuron{n}", neuron(n)
    yield "arith", "add16", adder(16)
    yield "arith", "add32", adder(32)
    yield "arith", "mul8x8", multiplier(8)


# ---------------------------------------------------------------------- the two tools
def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_abc(circuit, abc: str, workdir: Path, timeout: float, repeat: int = 1) -> tuple[int, float]:
    """NAND2 gates (inverters included) of ABC's mapping, and its CPU time (seconds): the least
    of ``repeat`` runs."""
    from nandc.ir.io import genlib_path, write

    path = workdir / f"{circuit.name}.aig"
    write(circuit, path, layers=False)
    script = f"read_library {genlib_path()}; read {path}; {ABC_SCRIPT}; print_gates"
    counts, times = set(), []
    for _ in range(max(1, repeat)):
        t0 = _children_cpu()
        out = subprocess.run([abc, "-c", script], capture_output=True, text=True, timeout=timeout)
        times.append(_children_cpu() - t0)
        gates = 0
        for cell in ("nand2", "inv"):
            m = re.search(rf"^{cell}\s+Fanin\s*=\s*\d+\s+Instance\s*=\s*(\d+)", out.stdout, re.MULTILINE)
            gates += int(m.group(1)) if m else 0
        if "Instance" not in out.stdout and circuit.num_ands:
            raise RuntimeError(f"ABC failed on {circuit.name}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        counts.add(gates)
    if len(counts) > 1:
        raise RuntimeError(f"ABC gave {sorted(counts)} gates on {circuit.name} in {repeat} runs")
    return counts.pop(), min(times)


def run_nandc(circuit, passes: str, with_stats: bool = False, timed: str | None = None):
    """nandc's netlist of ``circuit`` and the CPU time (seconds) of the pipeline; with
    ``with_stats`` also the passes' Stats; with ``timed`` (a pass name) also the CPU seconds
    spent in the passes of that name (a third, or fourth, value)."""
    from nandc.passes import run_pipeline

    spent, last = [0.0], [_self_cpu()]

    def on_stats(stats):
        now = _self_cpu()
        if stats.pass_name == timed:
            spent[0] += now - last[0]
        last[0] = now

    t0 = _self_cpu()
    netlist, stats = run_pipeline(circuit, passes, on_stats=on_stats)
    seconds = _self_cpu() - t0
    out = (netlist, seconds) + ((stats,) if with_stats else ()) + ((spent[0],) if timed else ())
    return out


_BASELINE_SCRIPT = """
import resource, sys
import nandc
from nandc.ir.io import read
from nandc.passes import run_pipeline
from nandc.passes.pipeline import PRESETS
run_pipeline(read(sys.argv[3]), sys.argv[2])  # the warm-up: numba's loops loaded before the clock starts
circuit = read(sys.argv[1])
r = resource.getrusage(resource.RUSAGE_SELF); t0 = r.ru_utime + r.ru_stime
net, _ = run_pipeline(circuit, sys.argv[2])
r = resource.getrusage(resource.RUSAGE_SELF)
print(net.num_gates, r.ru_utime + r.ru_stime - t0, nandc.__file__)
"""


def warm_up_circuit():
    """Two 64-input popcount-threshold neurons (over a thousand AND nodes: the engines use their
    compiled loops on it)."""
    from nandc.ir import words
    from nandc.ir.circuit import Circuit

    rng = random.Random(0)
    c = Circuit("warm_up")
    x = c.add_input_bus("x", 64)
    c.set_output("y", [words.popcount_at_least(c, [lit ^ rng.randint(0, 1) for lit in x], 30 + k)
                       for k in range(2)])
    return c


def warm_up(passes: str) -> None:
    """Run ``passes`` once on :func:`warm_up_circuit`, so that the first circuit timed does not pay
    for loading (or compiling) numba's loops; the baseline's process does the same, each time."""
    from nandc.passes import run_pipeline

    run_pipeline(warm_up_circuit(), passes)


def run_baseline(circuit, checkout: str, passes: str, workdir: Path, repeat: int = 1):
    """``(circuit as read back from AIGER, NAND2 gates, pipeline CPU seconds)`` of the nandc in
    ``checkout`` (another git worktree: the "before" of a change), run in a fresh process on the
    AIGER file after the warm-up circuit, the least time of ``repeat`` such processes (each one
    cold: nothing an earlier run of the circuit left in a cache); the caller then runs its own
    nandc on the same read-back circuit.  The file keeps the layer tags (in its comments): passes
    that work layer by layer (``sums``) see a whole model as the frontend built it."""
    import os
    import sys

    from nandc.ir.io import read, write

    path = workdir / f"{circuit.name}.baseline.aig"
    write(circuit, path)
    warm = workdir / "warm_up.aig"
    if not warm.exists():
        write(warm_up_circuit(), warm)
    root = str(Path(checkout).resolve())
    env = dict(os.environ, PYTHONPATH=root)
    counts, times = set(), []
    for _ in range(max(1, repeat)):
        # run in the checkout: ``python -c`` puts the working directory first on sys.path
        out = subprocess.run([sys.executable, "-c", _BASELINE_SCRIPT, str(path.resolve()), passes,
                              str(warm.resolve())], env=env, cwd=root, capture_output=True, text=True, check=True)
        gates, seconds, where = out.stdout.split()[-3:]
        if not where.startswith(root):
            raise RuntimeError(f"the baseline ran the nandc in {where}, not the one in {root}")
        counts.add(int(gates))
        times.append(float(seconds))
    if len(counts) > 1:
        raise RuntimeError(f"the nandc in {root} gave {sorted(counts)} gates on {circuit.name} in {repeat} runs")
    return read(path), counts.pop(), min(times)


def run_measured(circuit, passes: str, workdir: Path, repeat: int, **options):
    """``(circuit, run_nandc(circuit, passes, **options))``; with ``repeat`` > 1 the circuit is the
    one read back from AIGER and the time the least of ``repeat`` cold processes (:func:`run_fresh`),
    whose gate count must be the netlist's."""
    if repeat > 1:
        circuit, fresh_gates, fresh_s = run_fresh(circuit, passes, workdir, repeat)
    out = run_nandc(circuit, passes, **options)
    if repeat > 1:
        if fresh_gates != out[0].num_gates:
            raise RuntimeError(f"{circuit.name}: {out[0].num_gates} gates here, {fresh_gates} in a fresh process")
        out = (out[0], fresh_s) + out[2:]
    return circuit, out


def run_fresh(circuit, passes: str, workdir: Path, repeat: int):
    """:func:`run_baseline` of this nandc (the checkout it is imported from): its time measured
    as the baseline's is, the least of ``repeat`` cold processes."""
    import nandc

    return run_baseline(circuit, str(Path(nandc.__file__).resolve().parents[1]), passes, workdir, repeat)


class AbcCache:
    """ABC's results by circuit (``name:AND nodes:cpu``), read from and written back to ``path``
    (a JSON file; None keeps them in memory), so later runs reuse them."""

    def __init__(self, path: str | None):
        self.path = path
        self.results: dict = json.loads(Path(path).read_text()) if path and Path(path).exists() else {}

    def figures(self, name: str, circuit, abc: str | None, workdir: Path, timeout: float, repeat: int = 1):
        """``(NAND2 gates, CPU seconds)`` of ABC on ``circuit`` (the least time of ``repeat`` runs):
        cached, else run (``(None, None)`` when it is not cached and there is no ABC to run)."""
        key = f"{name}:{circuit.num_ands}:cpu" + (f":least-of-{repeat}" if repeat > 1 else "")
        if key not in self.results:
            if not abc:
                return None, None
            self.results[key] = list(run_abc(circuit, abc, workdir, timeout, repeat))
            if self.path:
                Path(self.path).write_text(json.dumps(self.results, indent=1))
        gates, seconds = self.results[key]
        return gates, seconds


def density_simulation(circuit, netlist, samples: int = 1 << 16, seed: int = 0) -> bool:
    """Equal outputs on ``samples`` random vectors, each of its own random density of ones
    (uniform vectors never leave the middle weights, where a threshold is seldom crossed)."""
    from nandc.ir.bits import pack_samples
    from nandc.ir.evaluate import simulate_circuit, simulate_netlist

    rng = np.random.default_rng(seed)
    for _ in range(samples // 8192):
        dens = rng.random((8192, 1))
        rows = (rng.random((8192, circuit.num_inputs)) < dens).astype(np.uint8)
        words = pack_samples(rows)
        if not np.array_equal(simulate_circuit(circuit, words), simulate_netlist(netlist, words)):
            return False
    return True


def verify_budgeted(circuit, netlist, sat_limit: int, conflicts: int) -> str:
    """Exhaustive up to 16 inputs, else a SAT proof within ``conflicts``; when the budget
    (or ``sat_limit`` AND nodes) is exceeded, random simulation at every density."""
    from nandc.errors import EquivalenceError
    from nandc.synth.equiv import check_equivalence

    from nandc.synth.symmetric import certify_equal_thresholds

    if not density_simulation(circuit, netlist):
        raise AssertionError(f"{circuit.name}: nandc's netlist is not equivalent (density simulation)")
    if circuit.num_ands <= sat_limit:
        try:
            result = check_equivalence(circuit, netlist, conflict_budget=conflicts)
        except EquivalenceError:
            result = None
        if result is not None:
            if not result:
                raise AssertionError(f"{circuit.name}: nandc's netlist is not equivalent: {result}")
            return result.method
    # every output of both the same threshold function, each side proved by an adder-tree certificate or BDDs
    if certify_equal_thresholds(circuit, netlist.to_circuit()):
        return "certificate"
    return "simulation (SAT budget)" if circuit.num_ands <= sat_limit else "simulation"


# ---------------------------------------------------------------------- report
def _ratio(a, b) -> str:
    return f"{a / b:.3f}" if a is not None and b else "-"


def print_table(rows: list[Row]) -> None:
    based = any(r.base_gates is not None for r in rows)
    timed = next((r.timed_pass for r in rows if r.timed_pass), None)
    extra = f" {'before':>8} {'before s':>8} {'speedup':>7}" if based else ""
    extra += f" {'pass s':>7}" if timed else ""
    head = (f"{'circuit':<28} {'inputs':>6} {'AIG':>8} {'ABC':>8} {'ABC s':>7} "
            f"{'nandc':>8} {'nandc s':>8} {'ratio':>6} {'time':>6}{extra}  check")
    print(head)
    print("-" * len(head))
    for r in rows:
        abc_s = f"{r.abc_seconds:7.1f}" if r.abc_seconds is not None else "      -"
        more = ""
        if based:
            more = (f" {r.base_gates if r.base_gates is not None else '-':>8} "
                    f"{r.base_seconds if r.base_seconds is not None else float('nan'):8.1f} "
                    f"{_ratio(r.base_seconds, r.nandc_seconds):>7}")
        if timed:
            more += f" {r.pass_seconds or 0.0:7.2f}"
        print(f"{r.name:<28} {r.inputs:>6} {r.ands:>8} {r.abc_gates if r.abc_gates is not None else '-':>8} "
              f"{abc_s} {r.nandc_gates:>8} {r.nandc_seconds:8.1f} {_ratio(r.nandc_gates, r.abc_gates):>6} "
              f"{_ratio(r.nandc_seconds, r.abc_seconds):>6}{more}  {r.verified}")
    for group in sorted({r.group for r in rows}):
        sel = [r for r in rows if r.group == group and r.abc_gates]
        if not sel:
            continue
        total = sum(r.nandc_gates for r in sel) / sum(r.abc_gates for r in sel)
        geo = math.exp(sum(math.log(r.nandc_gates / r.abc_gates) for r in sel) / len(sel))
        t = sum(r.nandc_seconds for r in sel) / max(1e-9, sum(r.abc_seconds for r in sel))
        print(f"{group:<12} gates nandc/ABC: total {total:.3f}, geometric mean {geo:.3f}; "
              f"time nandc/ABC {t:.2f}  ({len(sel)} circuits)")
    sel = [r for r in rows if r.base_seconds is not None]
    if sel:
        worse = [r.name for r in sel if r.nandc_gates > r.base_gates]
        print(f"before/after: CPU time {sum(r.base_seconds for r in sel):.1f} s -> "
              f"{sum(r.nandc_seconds for r in sel):.1f} s; gates {sum(r.base_gates for r in sel)} -> "
              f"{sum(r.nandc_gates for r in sel)}; circuits with more gates after: {', '.join(worse) or 'none'}")
        for group in sorted({r.group for r in sel}):
            g = [r for r in sel if r.group == group]
            new, old = sum(r.nandc_gates for r in g), sum(r.base_gates for r in g)
            print(f"{group:<12} gates after {new} vs before {old} (ratio {new / old:.4f}); "
                  f"{sum(r.nandc_gates < r.base_gates for r in g)} better, "
                  f"{sum(r.nandc_gates > r.base_gates for r in g)} worse  ({len(g)} circuits)")
    if timed:
        print(f"CPU seconds in pass {timed!r}: {sum(r.pass_seconds or 0.0 for r in rows):.1f} s of "
              f"{sum(r.nandc_seconds for r in rows):.1f} s")


def main(argv=None) -> list[Row]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--passes", default="O3", help="nandc pipeline (default O3)")
    p.add_argument("--abc", default=None,
                   help="ABC binary (default: yosys-abc or berkeley-abc on PATH; 'none': only cached ABC results)")
    p.add_argument("--only", default=None, help="comma-separated substrings of circuit names")
    p.add_argument("--max-ands", type=int, default=None, help="skip circuits with more AND nodes")
    p.add_argument("--min-ands", type=int, default=None, help="skip circuits with fewer AND nodes")
    p.add_argument("--abc-cache", default=None, help="JSON file of ABC results, read and updated")
    p.add_argument("--abc-timeout", type=float, default=3600.0)
    p.add_argument("--sat-limit", type=int, default=60000, help="prove equivalence up to this many AND nodes")
    p.add_argument("--conflicts", type=int, default=200000, help="SAT budget of the final equivalence query")
    p.add_argument("--baseline", default=None, help="checkout of the nandc to compare with (before/after columns)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run each tool (ABC; nandc and the baseline in fresh processes) this many times per circuit and keep the least time")
    p.add_argument("--baseline-passes", default=None,
                   help="a second pipeline, run in this process, as the 'before' columns")
    p.add_argument("--pass-time", default=None, help="report the CPU seconds of this pass of --passes")
    p.add_argument("--whole", action="store_true",
                   help="the three example models whole instead of the suite (ABC takes hours on them: "
                        "use --abc none with --baseline)")
    args = p.parse_args(argv)

    abc = args.abc or shutil.which("yosys-abc") or shutil.which("berkeley-abc")
    if args.abc == "none":
        abc = None
    cache = AbcCache(args.abc_cache)
    only = [s for s in (args.only or "").split(",") if s]
    rows: list[Row] = []
    warm_up(args.passes)
    with tempfile.TemporaryDirectory() as tmp:
        for group, name, circuit in suite(args.whole):
            if only and not any(s in name for s in only):
                continue
            if args.max_ands is not None and circuit.num_ands > args.max_ands:
                continue
            if args.min_ands is not None and circuit.num_ands < args.min_ands:
                continue
            abc_gates, abc_s = cache.figures(name, circuit, abc, Path(tmp), args.abc_timeout, args.repeat)
            base_gates = base_s = None
            if args.baseline:
                circuit, base_gates, base_s = run_baseline(circuit, args.baseline, args.passes, Path(tmp), args.repeat)
            if args.baseline_passes:
                base_net, base_s = run_nandc(circuit, args.baseline_passes)
                base_gates = base_net.num_gates
            circuit, (netlist, seconds, pass_s) = run_measured(circuit, args.passes, Path(tmp), args.repeat,
                                                               timed=args.pass_time or "-")
            checked = verify_budgeted(circuit, netlist, args.sat_limit, args.conflicts)
            rows.append(Row(group, name, circuit.num_inputs, circuit.num_ands, abc_gates, abc_s,
                            netlist.num_gates, seconds, checked, base_gates, base_s,
                            pass_s if args.pass_time else None, args.pass_time))
            before = f", before {base_gates} ({base_s:.1f} s)" if base_gates is not None else ""
            print(f"  {name}: ABC {abc_gates}, nandc {netlist.num_gates} ({seconds:.1f} s){before}", flush=True)
    print()
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
