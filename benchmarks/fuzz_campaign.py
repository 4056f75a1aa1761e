"""Fuzz campaign: thousands of mutated AIGER, BLIF and .nandc files and command lines.

Each batch of mutants runs in a child process (``python -m
tests.fuzz.harness``) with an address-space limit (``--memory``) and a wall
clock limit, so that a native crash, a hang or a runaway allocation is
caught and counted instead of taking the campaign down.  Prints a table of
outcomes per kind and the seeds of every bad outcome (replay one with
``python -m tests.fuzz.harness KIND SEED 1``).  Exit status 1 if any mutant
ended as a raw traceback, a crash, a hang or a silently wrong result.

    python benchmarks/fuzz_campaign.py --mutants 2500 --cli 500 --workers 2
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READERS = ("aag", "aig", "blif", "nandc")
BAD = ("raw", "mismatch", "hang", "crash")


def _parse_size(text: str) -> int:
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def run_range(kind: str, start: int, count: int, memory: int, timeout: float) -> list[dict]:
    """Outcomes of mutants ``start ..`` of ``kind``; restarts after a crash or hang of the child."""
    results: list[dict] = []
    seed, end = start, start + count
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NANDC_MAX_MEMORY": str(memory // 2)}

    def limits():
        os.nice(10)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    while seed < end:
        proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.harness", kind, str(seed), str(end - seed)],
                                cwd=ROOT, env=env, preexec_fn=limits, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        done = seed
        started = time.monotonic()
        try:
            out, _ = proc.communicate(timeout=timeout + 60 * (end - seed))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        for line in out.splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            results.append(item)
            done = item["seed"] + 1
        if done < end:  # the child died (signal, memory limit) or hung on mutant `done`
            code = proc.returncode
            outcome = "hang" if time.monotonic() - started > timeout and code in (None, -9) else "crash"
            results.append({"kind": kind, "seed": done, "outcome": outcome,
                            "detail": f"child process ended with status {code}"})
            done += 1
        seed = done
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mutants", type=int, default=2500, help="mutants per reader (default: 2500)")
    p.add_argument("--cli", type=int, default=500, help="command lines (default: 500)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    p.add_argument("--batch", type=int, default=500, help="mutants per child process (default: 500)")
    p.add_argument("--workers", type=int, default=2, help="child processes at once (default: 2)")
    p.add_argument("--memory", default="3G", help="address space limit of a child (default: 3G)")
    p.add_argument("--timeout", type=float, default=60, help="seconds a child may spend on one mutant")
    p.add_argument("--json", metavar="FILE", help="also write every outcome to FILE")
    args = p.parse_args(argv)
    memory = _parse_size(args.memory)
    jobs = []
    for kind, count in [(k, args.mutants) for k in READERS] + [("cli", args.cli)]:
        for start in range(args.seed, args.seed + count, args.batch):
            jobs.append((kind, start, min(args.batch, args.seed + count - start)))
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.workers) as pool:
        parts = list(pool.map(lambda j: run_range(*j, memory, args.timeout), jobs))
    results = [r for part in parts for r in part]
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results:
        table[r["kind"]][r["outcome"]] += 1
    columns = ("accepted", "rejected", "unverified") + BAD
    print(f"{'kind':<6} {'total':>6} " + " ".join(f"{c:>10}" for c in columns))
    for kind in list(READERS) + ["cli"]:
        row = table[kind]
        print(f"{kind:<6} {sum(row.values()):>6} " + " ".join(f"{row[c]:>10}" for c in columns))
    total = collections.Counter()
    for row in table.values():
        total.update(row)
    print(f"{'all':<6} {sum(total.values()):>6} " + " ".join(f"{total[c]:>10}" for c in columns))
    print(f"{time.monotonic() - t0:.0f} s")
    bad = [r for r in results if r["outcome"] in BAD or r["outcome"] == "unverified"]
    for r in bad[:40]:
        print(f"\n{r['kind']} seed {r['seed']}: {r['outcome']}\n{r['detail'][:1500]}")
    if args.json:
        Path(args.json).write_text("\n".join(json.dumps(r) for r in results) + "\n")
    return 1 if any(r["outcome"] in BAD for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
