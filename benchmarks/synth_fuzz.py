"""Synthesis fuzz campaign: circuits of shapes nandc's frontend never makes, through every pass.

Circuit kinds (each circuit is drawn from its seed, so any outcome can be replayed):

* ``yosys``: Verilog written from templates with random widths and constants
  (ALUs with opcode muxes, signed/unsigned comparators, barrel shifters,
  priority encoders, leading-zero counters, CRC/parity trees, signed
  multipliers, saturating adders, popcount loops, FSM next-state logic,
  random expression trees of ``& | ^ ~ ?: + - *``), synthesized by Yosys
  (``synth -flatten; aigmap``) and read back as AIGER;
* ``edge``: hand-made AIGs at the edges: constant outputs, outputs that are
  inputs or complemented inputs, one node in several outputs and in both
  phases, unused inputs, deep chains (thousands of levels), wide fan-out (one
  input read by thousands of nodes), reconvergent XOR lattices, the same
  function built twice in different ways, 0 AND nodes, 1 input, hundreds of
  outputs;
* ``mutant``: the benchmark circuits of ``--circuits`` (cones of a few
  outputs of the large ones) with one fanin's phase flipped, one fanin
  replaced by another earlier literal, or an input tied to a constant.

Each circuit runs through the presets O1, O2, O3, every registered pass alone
and ``--pipelines`` random short pipelines (each with a branch ``{..}`` and a
loop ``(..)*N``).  Every result is checked against the input: exhaustively
up to 16 inputs, else by SAT (nandc's checker, ``--conflicts`` per query),
else (budget spent) by random simulation; the table says which.  Outcomes:

* ``ok``: equivalent (``ok-sim``: only random simulation found no difference);
* ``rejected``: a :class:`~nandc.errors.NandcError` with a message (a valid
  circuit should not be rejected either: these are listed);
* ``mismatch``: the result computes another function;
* ``raw``: any other exception, or a NandcError without a message;
* ``timeout``: a job over ``--timeout`` seconds; ``crash``/``hang``: the child
  process died or stopped answering.

Each batch of circuits runs in a child process with an address-space limit.
CPU time per pass is recorded against circuit size; the slowest jobs per
AND node are listed, and ``--scaling`` times each pass on growing instances
of the edge shapes and prints the exponent of time in size (1: linear).

    python benchmarks/synth_fuzz.py --count 40 --budget 1800
    python benchmarks/synth_fuzz.py --kinds edge --count 5 --seed 100
    python benchmarks/synth_fuzz.py --replay mutant 17          # one circuit, verbose
    python benchmarks/synth_fuzz.py --scaling --kinds none
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.synth_shapes import EDGE, edge_circuit, mutant_circuit, yosys_circuit

KINDS = ("yosys", "edge", "mutant")
OUTCOMES = ("ok", "ok-sim", "rejected", "mismatch", "raw", "timeout", "crash", "hang")
BAD = ("mismatch", "raw", "timeout", "crash", "hang")


# ====================================================================== jobs
def pass_jobs(rng: random.Random, pipelines: int) -> list[tuple[str, str]]:
    from nandc.passes import PASSES

    jobs = [("O1", "O1"), ("O2", "O2"), ("O3", "O3")]
    for name, info in sorted(PASSES.items()):
        jobs.append((name, name))
    jobs.append(("nand[cover]", "nand[cover=true]"))
    jobs.append(("map[choices]", "snapshot;rewrite;map[choices=true,swap=true]"))
    circuit_passes = [n for n, p in sorted(PASSES.items()) if p.produces == "circuit" and n != "snapshot"]
    for i in range(pipelines):
        pick = lambda: rng.choice(circuit_passes)
        steps = [pick() for _ in range(rng.randint(0, 2))]
        steps.insert(rng.randint(0, len(steps)), "{" + ";".join(pick() for _ in range(rng.randint(1, 2))) + "}")
        steps.insert(rng.randint(0, len(steps)),
                     "(" + ";".join(pick() for _ in range(rng.randint(1, 2))) + f")*{rng.randint(1, 3)}")
        if rng.randint(0, 1):
            steps.insert(0, "snapshot")
        last = rng.choice(["nand", "nand[cover=true]", "map[choices=true]", "map", "balance"])
        jobs.append((f"pipe{i}", ";".join(steps + [last])))
    # one pass with random parameters (small counts, halved or doubled defaults, flipped switches):
    # each must run and keep the function, or be refused with a PassError naming the parameter
    import dataclasses

    name = rng.choice([n for n, p in sorted(PASSES.items()) if p.params is not None and p.param_names])
    settings = []
    for f in dataclasses.fields(PASSES[name].params):
        if rng.random() < 0.5:
            continue
        if isinstance(f.default, bool):
            settings.append(f"{f.name}={'false' if f.default else 'true'}")
        elif isinstance(f.default, int):
            value = rng.choice([0, 1, 2, 3, 4, rng.randint(0, 20), f.default // 2, f.default * 2, f.default + 1])
            settings.append(f"{f.name}={value}")
    jobs.append(("param", f"{name}[{','.join(settings)}]" if settings else name))
    return jobs


def check(source, result, conflicts: int) -> tuple[str, str]:
    """(outcome, detail) of comparing ``result`` with ``source``."""
    from nandc.errors import EquivalenceError
    from nandc.synth.equiv import check_equivalence

    n = source.num_inputs
    if n <= 16:
        r = check_equivalence(source, result, method="exhaustive")
    else:
        try:
            r = check_equivalence(source, result, method="sat", conflict_budget=conflicts)
        except EquivalenceError as e:
            if "conflict" not in str(e):
                raise
            r = check_equivalence(source, result, method="simulation", samples=1 << 14, seed=1)
    if not r:
        return "mismatch", str(r)[:1500]
    return ("ok-sim" if r.method == "simulation" else "ok"), r.method


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def make_circuit(kind: str, seed: int, workdir: Path, files: list[Path]):
    if kind == "yosys":
        return yosys_circuit(seed, workdir)
    if kind == "edge":
        return edge_circuit(seed)
    if kind == "mutant":
        return mutant_circuit(seed, files)
    raise ValueError(kind)


def run_circuit(kind: str, seed: int, args, workdir: Path, files: list[Path], emit) -> None:
    from nandc.errors import NandcError
    from nandc.ir.netlist import NandNetlist
    from nandc.passes import run_pipeline

    shape, c = make_circuit(kind, seed, workdir, files)
    c.verify()
    info = {"kind": kind, "seed": seed, "shape": shape, "ands": c.num_ands, "inputs": c.num_inputs,
            "outputs": len(c.output_literals()), "depth": c.depth()}
    rng = random.Random(seed * 7919 + 1)
    for job, pipeline in pass_jobs(rng, args.pipelines):
        if args.only and job not in args.only:
            continue
        emit({**info, "job": job, "pipeline": pipeline, "outcome": "started"})
        t0 = time.process_time()
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(int(args.timeout))
        try:
            result, _ = run_pipeline(c, pipeline)
            cpu = time.process_time() - t0
            signal.alarm(0)
            size = result.num_gates if isinstance(result, NandNetlist) else result.num_ands
            outcome, detail = check(c, result, args.conflicts)
        except _Timeout:
            cpu, size = time.process_time() - t0, -1
            outcome, detail = "timeout", f"over {args.timeout} s"
        except NandcError as e:
            signal.alarm(0)
            cpu, size = time.process_time() - t0, -1
            msg = str(e).strip()
            outcome = "rejected" if msg else "raw"
            detail = f"{type(e).__name__}: {msg}"[:1500]
        except Exception:  # noqa: BLE001 - the campaign counts these
            signal.alarm(0)
            cpu, size = time.process_time() - t0, -1
            outcome, detail = "raw", traceback.format_exc()[-3000:]
        finally:
            signal.alarm(0)
        emit({**info, "job": job, "pipeline": pipeline, "outcome": outcome, "detail": detail,
              "cpu": round(cpu, 4), "size": size})


def child(kind: str, start: int, count: int, args) -> None:
    files = _aiger_files(args.circuits) if kind == "mutant" else []

    def emit(item):
        sys.stdout.write(json.dumps(item) + "\n")
        sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="synthfuzz") as tmp:
        for seed in range(start, start + count):
            try:
                run_circuit(kind, seed, args, Path(tmp), files, emit)
            except Exception:  # noqa: BLE001 - generating the circuit failed: not a finding about nandc passes
                emit({"kind": kind, "seed": seed, "job": "generate", "outcome": "raw",
                      "detail": traceback.format_exc()[-3000:], "shape": "?", "ands": 0, "cpu": 0})


# ====================================================================== parent
def _parse_size(text: str) -> int:
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def _child_argv(args, kind, start, count):
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(start), str(count),
            "--pipelines", str(args.pipelines), "--timeout", str(args.timeout), "--conflicts", str(args.conflicts),
            "--circuits", args.circuits or ""]
    if args.only:
        argv += ["--only", ",".join(args.only)]
    return argv


def run_batch(args, kind: str, start: int, count: int, deadline: float) -> list[dict]:
    """Outcomes of circuits ``start ..`` of ``kind``, restarting the child after a crash or hang."""
    memory = _parse_size(args.memory)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NANDC_MAX_MEMORY": str(memory // 2)}
    results: list[dict] = []

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    seed, end = start, start + count
    while seed < end and time.monotonic() < deadline:
        proc = subprocess.Popen(_child_argv(args, kind, seed, end - seed), cwd=ROOT, env=env, preexec_fn=limits,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        last = None
        stalled = False
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], args.timeout + 120)
            if not ready:
                stalled = True
                break
            line = proc.stdout.readline()
            if not line:
                break
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if item["outcome"] == "started":
                last = item
                continue
            last = None
            results.append(item)
            if args.verbose or item["outcome"] in BAD:
                print(f"  {item['kind']} {item['seed']} {item.get('shape')} {item['job']}: {item['outcome']}"
                      f" ({item.get('cpu', 0):.2f}s, {item.get('ands')} ANDs)", flush=True)
            seed = item["seed"] + (1 if item["job"] == "generate" else 0)
            if time.monotonic() > deadline:
                break
        if stalled or time.monotonic() > deadline:
            proc.kill()
        proc.wait()
        if last is not None:  # the child died or hung inside this job
            outcome = "hang" if stalled else "crash"
            item = {**last, "outcome": outcome, "detail": f"child ended with status {proc.returncode}", "cpu": 0}
            results.append(item)
            print(f"  {kind} {last['seed']} {last['shape']} {last['job']}: {outcome}", flush=True)
            seed = last["seed"] + 1
        elif results and results[-1]["seed"] >= seed:
            seed = results[-1]["seed"] + 1
        if time.monotonic() > deadline:
            break
        if proc.returncode == 0 and last is None:
            break
    return results


def summary(results: list[dict]) -> str:
    lines = []
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    circuits: dict[str, set] = collections.defaultdict(set)
    for r in results:
        table[r["kind"]][r["outcome"]] += 1
        circuits[r["kind"]].add(r["seed"])
    head = f"| {'kind':<7} | {'circuits':>8} | {'jobs':>6} | " + " | ".join(f"{c:>8}" for c in OUTCOMES) + " |"
    lines += [head, "|" + "|".join("-" * (len(x)) for x in head.split("|")[1:-1]) + "|"]
    total = collections.Counter()
    for kind in sorted(table):
        row = table[kind]
        total.update(row)
        lines.append(f"| {kind:<7} | {len(circuits[kind]):>8} | {sum(row.values()):>6} | "
                     + " | ".join(f"{row[c]:>8}" for c in OUTCOMES) + " |")
    lines.append(f"| {'all':<7} | {sum(len(s) for s in circuits.values()):>8} | {sum(total.values()):>6} | "
                 + " | ".join(f"{total[c]:>8}" for c in OUTCOMES) + " |")
    return "\n".join(lines)


def shape_table(results: list[dict]) -> str:
    per: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    seeds: dict[tuple, set] = collections.defaultdict(set)
    for r in results:
        key = (r["kind"], str(r.get("shape", "?")).split(":")[0])
        per[key]["bad" if r["outcome"] in BAD else r["outcome"]] += 1
        seeds[key].add(r["seed"])
    lines = ["| kind | shape | circuits | jobs | ok | ok-sim | rejected | bad |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(per):
        row = per[key]
        lines.append(f"| {key[0]} | {key[1]} | {len(seeds[key])} | {sum(row.values())} | {row['ok']} | {row['ok-sim']} "
                     f"| {row['rejected']} | {row['bad']} |")
    return "\n".join(lines)


def timing_table(results: list[dict], top: int = 12) -> str:
    """Per job: total CPU, and the worst microseconds per AND node on circuits of at least 200 ANDs."""
    per: dict[str, list] = collections.defaultdict(list)
    for r in results:
        if r.get("cpu") is not None and r["outcome"] not in ("crash", "hang") and r["job"] != "generate":
            per[r["job"]].append(r)
    lines = ["| job | runs | total CPU s | max s | worst us/AND (>=200 ANDs) | on |", "|---|---:|---:|---:|---:|---|"]
    for job in sorted(per, key=lambda j: -sum(r["cpu"] for r in per[j])):
        rs = per[job]
        big = [r for r in rs if r["ands"] >= 200]
        worst = max(big, key=lambda r: r["cpu"] / r["ands"], default=None)
        w = f"{1e6 * worst['cpu'] / worst['ands']:.0f}" if worst else "-"
        on = f"{worst['kind']} {worst['seed']} {worst['shape']} ({worst['ands']} ANDs, {worst['cpu']:.2f} s)" if worst else ""
        lines.append(f"| {job} | {len(rs)} | {sum(r['cpu'] for r in rs):.1f} | {max(r['cpu'] for r in rs):.2f} "
                     f"| {w} | {on} |")
    return "\n".join(lines)


# ====================================================================== scaling
def scaling(args) -> str:
    """Each pass on growing instances of the edge shapes; the exponent of CPU time in size."""
    from nandc.passes import run_pipeline

    jobs = [j for j in pass_jobs(random.Random(0), 0) if not args.only or j[0] in args.only]
    lines = ["| shape | job | " + " | ".join(f"n={n}" for n in args.scaling_sizes) + " | exponent |",
             "|---|---|" + "---:|" * (len(args.scaling_sizes) + 1)]
    for shape in args.scaling_shapes:
        fn, _ = EDGE[shape]
        circuits = [fn(random.Random(1), n) for n in args.scaling_sizes]
        for job, pipeline in jobs:
            cells, points = [], []
            for c in circuits:
                t0 = time.process_time()
                run_pipeline(c, pipeline)
                t = time.process_time() - t0
                cells.append(f"{t:.2f}s/{c.num_ands}")
                points.append((c.num_ands, max(t, 1e-3)))
                if t > args.timeout:
                    break
            big = [p for p in points if p[1] > 0.05]
            exp = (math.log(big[-1][1] / big[0][1]) / math.log(big[-1][0] / big[0][0])
                   if len(big) >= 2 and big[-1][0] > big[0][0] else float("nan"))
            cells += [""] * (len(args.scaling_sizes) - len(cells))
            lines.append(f"| {shape} | {job} | " + " | ".join(cells) + f" | {exp:.2f} |")
            print(lines[-1], flush=True)
    return "\n".join(lines)



def _aiger_files(folder: str) -> list[Path]:
    """The ``*.aig`` files of ``folder`` (none when no folder is given)."""
    return sorted(Path(folder).glob("*.aig")) if folder else []

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", default=",".join(KINDS), help=f"circuit kinds, or none (default: {','.join(KINDS)})")
    p.add_argument("--count", type=int, default=20, help="circuits per kind (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    p.add_argument("--batch", type=int, default=10, help="circuits per child process (default: 10)")
    p.add_argument("--pipelines", type=int, default=2, help="random pipelines per circuit (default: 2)")
    p.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], default=None,
                   help="run only these jobs (O1,O2,O3, pass names, nand[cover], map[choices], pipe0, ...)")
    p.add_argument("--budget", type=float, default=1800, help="wall-clock seconds for the campaign (default: 1800)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one job may take (default: 120)")
    p.add_argument("--conflicts", type=int, default=200000, help="SAT conflict budget per query (default: 200000)")
    p.add_argument("--memory", default="4G", help="address-space limit of a child (default: 4G)")
    p.add_argument("--circuits", default="", help="a folder of AIGER files (*.aig) to mutate (the mutant kind; none: skipped)")
    p.add_argument("--scaling", action="store_true", help="also time every pass on growing edge shapes")
    p.add_argument("--scaling-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000, 4000, 8000])
    p.add_argument("--scaling-shapes", type=lambda s: s.split(","), default=["chain", "fanout", "lattice", "redundant"])
    p.add_argument("--json", metavar="FILE", help="also write every outcome to FILE (JSON lines)")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    p.add_argument("--replay", nargs=2, metavar=("KIND", "SEED"), help="run one circuit in this process, verbosely")
    p.add_argument("--save", metavar="FILE", help="with --replay: write the circuit to FILE (AIGER) and stop")
    p.add_argument("--verbose", action="store_true", help="print every outcome")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), args)
        return 0
    files = _aiger_files(args.circuits)
    if args.replay:
        kind, seed = args.replay[0], int(args.replay[1])
        with tempfile.TemporaryDirectory(prefix="synthfuzz") as tmp:
            if args.save:
                from nandc.ir.io import write

                shape, c = make_circuit(kind, seed, Path(tmp), files)
                write(c, args.save)
                print(f"{shape}: {c.num_ands} ANDs, {c.num_inputs} inputs -> {args.save}")
                return 0
            run_circuit(kind, seed, args, Path(tmp), files,
                        lambda item: item["outcome"] != "started" and print(json.dumps(item)))
        return 0
    kinds = [k for k in args.kinds.split(",") if k and k != "none"]
    if "yosys" in kinds and shutil.which("yosys") is None:
        print("yosys not found: the yosys kind is skipped")
        kinds.remove("yosys")
    if "mutant" in kinds and not files:
        print(f"no *.aig in {args.circuits!r} (--circuits): the mutant kind is skipped")
        kinds.remove("mutant")
    t0 = time.monotonic()
    deadline = t0 + args.budget
    results: list[dict] = []
    # interleave the kinds batch by batch, so a short budget still covers each of them
    batches = [(k, s, min(args.batch, args.seed + args.count - s))
               for s in range(args.seed, args.seed + args.count, args.batch) for k in kinds]
    for kind, start, count in batches:
        if time.monotonic() > deadline:
            print("time budget spent")
            break
        print(f"{kind} {start}..{start + count - 1}", flush=True)
        results += run_batch(args, kind, start, count, deadline)
    out = [f"## Outcomes\n\n{summary(results)}", f"## By shape\n\n{shape_table(results)}",
           f"## CPU time per job\n\n{timing_table(results)}"]
    bad = [r for r in results if r["outcome"] in BAD or r["outcome"] == "ok-sim"
           or (r["outcome"] == "rejected" and r["job"] != "param")]
    if args.scaling:
        out.append(f"## Scaling (CPU seconds / AND nodes; exponent of time in size)\n\n{scaling(args)}")
    text = "\n\n".join(out)
    print("\n" + text)
    print(f"\n{time.monotonic() - t0:.0f} s")
    for r in bad[:40]:
        print(f"\n{r['kind']} {r['seed']} {r.get('shape')} {r['job']} [{r.get('pipeline')}]: {r['outcome']}\n"
              f"{str(r.get('detail'))[:1500]}")
    if args.json:
        _atomic_write(Path(args.json), "\n".join(json.dumps(r) for r in results) + "\n")
    if args.markdown:
        _atomic_write(Path(args.markdown), text + "\n")
    return 1 if any(r["outcome"] in BAD for r in results) else 0


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
