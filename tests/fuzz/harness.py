"""Running one mutant: the outcome of a reader (or the command line) on a damaged input.

Outcomes:

``accepted``      read, and equal to the independent reference (:mod:`.reference`)
``rejected``      a :class:`~nandc.errors.NandcError` (or a clean ``nandc: error:`` exit 1)
``raw``           any other exception: a raw traceback (a bug)
``mismatch``      read, but computing something else than the reference: silently wrong (a bug)
``unverified``    read by nandc but refused by the reference (to be looked at; the reference is small)
``hang``          not done within the time bound (a bug)
``crash``         the process died (a native crash; seen only by the campaign's parent)

``python -m tests.fuzz.harness KIND SEED COUNT`` runs mutants ``SEED ..
SEED + COUNT - 1`` and prints one JSON line per mutant (used by
``benchmarks/fuzz_campaign.py``, which runs it in a memory-limited process).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import random
import signal
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

from nandc.errors import NandcError
from tests.fuzz import reference as ref
from tests.fuzz.mutators import mutate

KINDS = ("aag", "aig", "blif", "nandc")
TIME_BOUND = 20  # seconds per mutant; far above what any mutant of the small seed files needs


class Hang(Exception):
    """A mutant ran past the time bound."""


@contextlib.contextmanager
def time_bound(seconds: int):
    """Raise :class:`Hang` in this (main) thread after ``seconds``."""
    def alarm(signum, frame):
        raise Hang(f"more than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------- seed corpus
@functools.lru_cache(maxsize=None)
def corpus(kind: str) -> tuple[bytes, ...]:
    """Valid files of ``kind`` written by nandc: random circuits, their netlists, small models."""
    from nandc.ir.io import aiger_bytes, blif_text
    from nandc.passes.nand import lower_to_nand
    from tests.modelfiles import tiny_model
    from tests.strategies import random_circuit

    if kind == "nandc":
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "m.nandc"
            tiny_model().save(path)
            return (path.read_bytes(),)
    files = []
    for seed, (inputs, ops) in enumerate([(3, 8), (5, 20), (6, 40), (8, 60), (4, 15)]):
        c = random_circuit(100 + seed, inputs, ops, max_output_width=4)
        net = lower_to_nand(c)[0]
        if kind in ("aag", "aig"):
            files.append(aiger_bytes(c, binary=kind == "aig", layers=seed % 2 == 0))
            files.append(aiger_bytes(net, binary=kind == "aig", layers=False))
        else:
            files.append(blif_text(c, layers=seed % 2 == 0).encode())
            files.append(blif_text(net, style="gates").encode())
    if kind == "aag":  # hand-written forms nandc does not write: gates out of order, sparse M, no symbols
        files.append(b"aag 7 2 0 2 3\n2\n4\n6\n11\n10 6 8\n6 2 4\n8 3 5\n")
    return tuple(files)


def mutant(kind: str, seed: int) -> bytes:
    rng = random.Random(f"{kind}:{seed}")
    files = corpus(kind)
    return mutate(rng, rng.choice(files), list(files))


# ---------------------------------------------------------------------- checking one file
def circuit_flat(c) -> ref.Flat:
    f0, f1, _ = c.arrays()
    node = {0: 0}
    for k, n in enumerate(c.inputs):
        node[n] = k + 1
    gates = []
    for n in range(1, c.num_nodes):
        if n in node:
            continue
        gates.append(tuple(2 * node[int(x) >> 1] + (int(x) & 1) for x in (f0[n], f1[n])))
        node[n] = c.num_inputs + len(gates)
    outs = [2 * node[b >> 1] + (b & 1) for bus in c.output_buses.values() for b in bus.bits]
    return ref.Flat(c.num_inputs, gates, outs)


def netlist_flat(net) -> tuple[ref.Flat, dict[str, list[int]]]:
    a, b = net.gate_arrays()

    def lit(s: int) -> int:
        return s if s < 2 else 2 * (s - 1)

    gates = [(lit(x), lit(y)) for x, y in zip(a.tolist(), b.tolist())]
    buses = {name: [lit(s) for s in bus.bits] for name, bus in net.output_buses.items()}
    return ref.Flat(net.num_inputs, gates, [x for bits in buses.values() for x in bits], nand=True), buses


def check_file(kind: str, data: bytes) -> tuple[str, str]:
    """``(outcome, detail)`` of reading ``data`` as a ``kind`` file and comparing with the reference."""
    from nandc.ir.io import parse_aiger, parse_blif

    try:
        with time_bound(TIME_BOUND):
            if kind == "nandc":
                return _check_model(data)
            if kind == "blif":
                circuit = parse_blif(data.decode("utf-8", errors="replace"), "mutant.blif")
            else:
                circuit = parse_aiger(data, f"mutant.{kind}")
            mine = ref.signature(circuit_flat(circuit))
    except Hang as e:
        return "hang", str(e)
    except NandcError as e:
        return "rejected", str(e)[:200]
    except Exception:
        return "raw", traceback.format_exc(limit=-4)
    try:
        theirs = ref.signature(ref.read_blif(data.decode("utf-8", errors="replace")) if kind == "blif"
                               else ref.read_aiger(data))
    except ref.RefReject as e:
        return "unverified", str(e)
    return ("accepted", "") if mine == theirs else ("mismatch", f"{mine[0]} inputs; outputs differ")


def _check_model(data: bytes) -> tuple[str, str]:
    import nandc

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mutant.nandc"
        path.write_bytes(data)
        model = nandc.load(path)
    flat, buses = netlist_flat(model.netlist)
    try:
        ref_flat, ref_buses = ref.read_model(data)
    except ref.RefReject as e:
        return "unverified", str(e)
    if flat.inputs != ref_flat.inputs or list(buses) != list(ref_buses):
        return "mismatch", "interfaces differ"
    words = np.random.default_rng(2).integers(0, 2**63, size=(flat.inputs, 2), dtype=np.uint64)
    if not np.array_equal(ref.evaluate(flat, words), ref.evaluate(ref_flat, words)):
        return "mismatch", "outputs differ"
    # the loaded model must also run: every input bit driven (the reference evaluator of nandc)
    x = np.random.default_rng(3).random((7,) + tuple(model.interface.input_shape))
    model.run(x, backend="reference")
    return "accepted", ""


# ---------------------------------------------------------------------- command line misuse
def cli_argv(rng: random.Random, work: Path) -> list[str]:
    """A random, mostly wrong, command line over the files in ``work``."""
    files = ["m.nandc", "c.aag", "c.aig", "c.blif", "x.npy", "bits.npy", "z.npz", "net.py", "bad.pt", "missing.aag",
             "dir", "", ".", "dir/", "nodir/out.v", "x.npy/y.npy", "\u00b2.aag", "a" * 300 + ".aag", "damaged.nandc",
             "damaged.aag", "empty.blif", "/dev/null", "out.v", "out.aag", "out.json", "out.nandc", "out.npy",
             "out.png", "out.xyz", "out"]
    values = ["-1", "0", "1", "2", "99999999999", "abc", "\u00b2", "", "1,28,28", "0,4", "6", "8", "1.5", "nan",
              "O2", "cleanup;nand", "nand[cover=true]", "text", "json", "markdown", "jit", "reference", "sat",
              "exhaustive", "auto", "simulation"]
    models = ["net.py:build", "net.py:raises", "net.py:plain", "net.py:missing", "./net.txt:build", "net:build",
              "bad.pt", "nosuch.module:x", "net.py:", ":build", "net.py:input_shape"]
    command = rng.choice(["compile", "report", "run", "verify", "passes", "demo", "bogus", ""])
    argv = [command] if command else []
    pick = lambda seq: rng.choice(seq)  # noqa: E731
    if command == "compile":
        argv += [pick(models)] + sum((["-o", pick(files)] for _ in range(rng.randint(0, 2))), [])
        options = [["--input-shape", pick(values)], ["--weights", pick(files)], ["--trust-pickle"],
                   ["--passes", pick(values)], ["-O", pick(values)], ["--report", pick(values)], ["-q"]]
    elif command == "report":
        argv += [pick(files)]
        options = [["--format", pick(values)], ["--plot", pick(files)]]
    elif command == "run":
        argv += [pick(files)]
        options = [["--inputs", pick(files)], ["-o", pick(files)], ["--logits"], ["--backend", pick(values)],
                   ["--threads", pick(values)], ["-q"]]
    elif command == "verify":
        argv += [pick(files), pick(files)]
        options = [["--method", pick(values)], ["--samples", pick(values)]]
    elif command == "demo":
        options = [["--epochs", pick(values)], ["--seed", pick(values)], ["-o", pick(files)]]
    else:
        options = [["--help"], ["--version"], [pick(values)]]
    for _ in range(rng.randint(0, 3)):
        argv += pick(options)
    if command == "demo":
        argv += ["--epochs", "-1"]  # a real demo trains for minutes; the campaign wants its argument checks
    return argv


def make_cli_workdir(work: Path) -> None:
    """The files :func:`cli_argv` names."""
    from nandc.ir.io import write
    from tests.cli.test_cli_misuse import MODEL_FILE
    from tests.modelfiles import tiny_model

    (work / "dir").mkdir(exist_ok=True)
    (work / "net.py").write_text(MODEL_FILE)
    (work / "net.txt").write_text(MODEL_FILE)
    (work / "bad.pt").write_bytes(b"garbage")
    (work / "empty.blif").write_text("")
    tiny_model().save(work / "m.nandc")
    data = (work / "m.nandc").read_bytes()
    (work / "damaged.nandc").write_bytes(data[:len(data) // 2])
    from tests.strategies import random_circuit

    c = random_circuit(7, 4, 20, max_output_width=3)
    for ext in ("aag", "aig", "blif"):
        write(c, work / f"c.{ext}")
    (work / "damaged.aag").write_bytes((work / "c.aag").read_bytes()[:-30] + b"\xc2\xb2\n")
    np.save(work / "x.npy", np.random.default_rng(0).random((5, 8)).astype(np.float32))
    np.save(work / "bits.npy", np.random.default_rng(0).integers(0, 2, (5, 4), dtype=np.uint8))
    np.savez(work / "z.npz", a=np.zeros(2))


def check_cli(argv: list[str]) -> tuple[str, str]:
    """Run ``main(argv)`` in this process; any exit but a clean one is ``raw`` (or ``hang``)."""
    from nandc.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with time_bound(TIME_BOUND * 6), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except Hang as e:
        return "hang", f"{argv!r}: {e}"
    except SystemExit as e:  # argparse: --help, --version (0) or a usage error (2)
        if e.code in (0, 2) and "Traceback" not in err.getvalue():
            return ("accepted" if e.code == 0 else "rejected"), ""
        return "raw", f"{argv!r}: SystemExit({e.code!r}) {err.getvalue()[-300:]}"
    except Exception:
        return "raw", f"{argv!r}:\n{traceback.format_exc(limit=-4)}"
    text = err.getvalue()
    if code == 1 and text.startswith("nandc: error: ") and text.count("\n") == 1 + text.count("\n  "):
        return "rejected", text.strip()[:200]
    if code in (0, 3) and "Traceback" not in text:
        return "accepted", ""
    return "raw", f"{argv!r}: exit {code}, stderr {text[-300:]!r}"


def run_batch(kind: str, seed: int, count: int, emit=print) -> None:
    """Check mutants ``seed .. seed + count - 1`` of ``kind`` (or ``cli``), one JSON line each."""
    if kind == "cli":
        work = Path(tempfile.mkdtemp(prefix="nandc-fuzz-cli-"))
        make_cli_workdir(work)
        os.chdir(work)
        os.environ.setdefault("NANDC_CACHE_DIR", str(work / "jit-cache"))
    for s in range(seed, seed + count):
        if kind == "cli":
            argv = cli_argv(random.Random(f"cli:{s}"), Path("."))
            outcome, detail = check_cli(argv)
        else:
            outcome, detail = check_file(kind, mutant(kind, s))
        emit(json.dumps({"kind": kind, "seed": s, "outcome": outcome, "detail": detail}), flush=True)


if __name__ == "__main__":
    run_batch(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
