"""Pipeline strings (``"cleanup;sweep;rewrite;nand"``) and the ``-O`` presets.

Grammar::

    pipeline := step (";" step)*
    step     := atom ["*" [count]]
    atom     := name ["[" key "=" value ("," key "=" value)* "]"]  |  "(" pipeline ")"  |  "{" pipeline "}"

A step followed by ``*`` is iterated to a fixpoint: it runs again while the
NAND2 cost of the circuit (:func:`~nandc.synth.cost.nand_cost`) keeps
decreasing by at least :data:`MIN_GAIN` of itself, at most ``count`` times
(default :data:`MAX_ITERATIONS`); the cheapest circuit seen is kept.  A loop
whose input is a circuit on which the same loop body already converged
earlier in the run is skipped.  ``name[key=value]`` sets a pass parameter
(integers, floats, ``true``/``false`` and bare words are understood), e.g.
``"sweep[rounds=1];rewrite*;nand"``.  A preset name (``O0`` .. ``O3``, with
or without the dash) stands for its pipeline.  Only the last step may
produce a netlist.  A ``snapshot`` step keeps the circuit as it is then, a
*branch* ``{...}`` runs its steps on the current circuit and keeps their
result while the pipeline goes on with the circuit as it was, and
``map[choices=true]`` maps across the kept structures (structural choices,
the newest :data:`MAX_SNAPSHOTS`).  Passes that simulate (``sweep``, ``sums``'
sweeps, and ``map`` for its choices) share the counterexamples SAT found earlier in the
run (a :class:`~nandc.synth.simulation.PatternPool`), so the same look-alike
pairs are not disproved again and again.  Passes are otherwise pure
functions, so in a pipeline with a branch, a step (a pass, a loop or a group)
that already ran on a structurally equal circuit in this run is not run
again: its result is reused (a result is correct whatever patterns it was
found with).
"""

from __future__ import annotations

import contextlib
import gc
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Union

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist
from nandc.passes.base import PassInfo, Stats, get_pass, renamed_params
from nandc.passes.options import Progress
from nandc.synth.simulation import PatternPool

__all__ = ["PRESETS", "MAX_ITERATIONS", "MAX_SNAPSHOTS", "PassStep", "Loop", "Branch", "parse_pipeline", "parse_steps",
           "run_pipeline"]

#: Optimization levels; each is a pipeline string.
PRESETS: dict[str, str] = {
    "O0": "nand",
    "O1": "cleanup;nand",
    # fast on millions of nodes: full rewriting (4 cuts per node) only up to 200k AND nodes
    "O2": "cleanup;sweep;rewrite[cuts_per_node=4,max_nodes=200000];nand[cover=true]",
    # a circuit whose AND nodes mostly duplicate others (half or more, by simulation) is swept
    # first: recover, sums and the mapper's choices then work on the merged graph
    # (ternary_mlp.fc1.absmax, 22,659 AND nodes of which 84% duplicates: 4.8 -> 2.5 s for 950 -> 951 NAND2;
    # the other benchmark circuits have at most 43% and are left alone: binary_mlp.out, with 16%,
    # ends 26% larger if swept first);
    # XOR sharing up to 1M AND nodes, AND sharing up to 200k (it finds nothing to share in the wide binary
    # layers and would cost 2 s per 300k nodes to say so);
    # shared base sums only up to 2M AND nodes: pricing them costs SAT sweeps of the input and of the
    # rebuilt circuit (binary_mlp.fc1, 913k: 694,075 -> 651,772 NAND2 for +56 s against ABC's
    # 512 s; a whole ternary MLP, 331k: 256,433 -> 252,902 for +46 s; a whole int4 CNN, 235k: -6.5% for
    # +146 s; a whole binary MLP, 1.2M: 929,669 -> 877,829 for +102 s);
    # resubstitution and mapping (exact area recovery over 4-input cuts) only up to 200k AND nodes
    # (ternary_mlp.out.absmax, 128k: 1.002x -> 0.985x ABC's gates, 24 -> 36 s against ABC's 79 s);
    # the structure before optimization is kept as a structural choice for the mapper;
    # restructuring by AND count (kept where it maps smaller) only up to 10k AND nodes, above 1k with one
    # variant mapped once (its mapping guard and refactoring cost more than it saves on larger layers:
    # int4_cnn.conv1 -2.5% mapped for 15 s, int4_cnn.out / binary_mlp.out / ternary_mlp.out nothing;
    # the second variant and the guard's mappings after each round changed no gate of a bench_abc circuit
    # between 1k and 5k AND nodes, for 0.3-0.5 s each; below 1k they do: ternary_mlp.head 533 -> 572)
    "O3": "cleanup;sweep[min_duplicates=0.5];snapshot;recover;sums[sweep=true,max_nodes=2000000];nnsynth;xorshare[max_nodes=1000000];andshare[max_nodes=200000];"
          "{restructure[max_nodes=10000,lean_above=1000];(rewrite;resub[max_nodes=200000];sweep)*4;"
          "refactor[max_nodes=100000,min_saved=6];(rewrite;resub[max_nodes=200000];sweep)*2};"
          "(rewrite;resub[max_nodes=200000];sweep)*4;"
          "refactor[max_nodes=100000,min_saved=6];(rewrite;resub[max_nodes=200000];sweep)*2;"
          "map[max_nodes=200000,choices=true,swap=true]",
}

#: Snapshots a pipeline keeps for structural choices (the newest ones).
MAX_SNAPSHOTS = 4
#: Iterations of a ``*`` step when no count is given.
MAX_ITERATIONS = 8
#: A ``*`` step stops once an iteration saves less than this fraction of the cost.
MIN_GAIN = 0.001

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)|(?P<num>\d+(?:\.\d+)?)|(?P<sym>[;(){}*\[\],=]))")


@dataclass(frozen=True)
class PassStep:
    """One pass with the parameters given in the pipeline string."""

    info: PassInfo
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Loop:
    """Steps iterated while the NAND2 cost decreases, at most ``limit`` times
    (a plain parenthesized group, ``fixpoint=False``, runs once)."""

    steps: tuple["Step", ...]
    limit: int = MAX_ITERATIONS
    fixpoint: bool = True


@dataclass(frozen=True)
class Branch:
    """Steps run on the current circuit whose result is kept as a snapshot (a
    structural choice for ``map[choices=true]``); the pipeline goes on with the
    circuit as it was before the branch."""

    steps: tuple["Step", ...]


Step = Union[PassStep, Loop, Branch]


@dataclass
class _Parser:
    text: str
    tokens: list[tuple[str, str]] = field(default_factory=list)
    pos: int = 0

    def __post_init__(self):
        i = 0
        text = self.text
        while i < len(text):
            if text[i:].strip() == "":
                break
            m = _TOKEN.match(text, i)
            if m is None or m.end() == i:
                raise PassError(f"pipeline {text!r}: unexpected character {text[i:].strip()[0]!r} at position {i}")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            i = m.end()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (expected is not None and tok[1] != expected):
            found = "the end" if tok is None else repr(tok[1])
            want = repr(expected) if expected else "a pass name"
            raise PassError(f"pipeline {self.text!r}: expected {want}, found {found}")
        self.pos += 1
        return tok

    def pipeline(self) -> tuple[Step, ...]:
        steps = [self.step()]
        while self.peek() is not None and self.peek()[1] == ";":
            self.take(";")
            if self.peek() is None or self.peek()[1] in (")", "}"):
                break  # a trailing ';' is allowed
            steps.append(self.step())
        return tuple(steps)

    def step(self) -> Step:
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.take("(")
            inner = self.pipeline()
            self.take(")")
            atom: Step = Loop(inner, 1, fixpoint=False)
        elif tok is not None and tok[1] == "{":
            self.take("{")
            branch = Branch(self.pipeline())
            self.take("}")
            for s in _flatten(branch.steps):
                if s.info.produces != "circuit":
                    raise PassError(f"pipeline {self.text!r}: pass {s.info.name!r} produces a netlist and cannot "
                                    f"run in a branch {{...}} (a branch's result is kept as a circuit)")
            return branch
        else:
            kind, name = self.take()
            if kind != "name":
                raise PassError(f"pipeline {self.text!r}: expected a pass name, found {name!r}")
            info = get_pass(name)
            params = tuple(renamed_params(name, dict(self.params(name))).items())
            unknown = sorted({key for key, _ in params} - set(info.param_names))
            if unknown:
                known = list(info.param_names)
                expected = f"expected some of: {', '.join(known)}" if known else "it takes none"
                raise PassError(f"pipeline {self.text!r}: pass {name!r} has no parameter(s) "
                                f"{', '.join(map(repr, unknown))}; {expected}")
            atom = PassStep(info, params)
        tok = self.peek()
        if tok is not None and tok[1] == "*":
            self.take("*")
            limit = MAX_ITERATIONS
            if self.peek() is not None and self.peek()[0] == "num":
                count = self.take()[1]
                if not count.isdigit():
                    raise PassError(f"pipeline {self.text!r}: a repeat count must be a whole number, found {count!r}")
                limit = int(count)
            inner = atom.steps if isinstance(atom, Loop) else (atom,)
            return Loop(inner, limit)
        return atom

    def params(self, name: str) -> tuple[tuple[str, Any], ...]:
        tok = self.peek()
        if tok is None or tok[1] != "[":
            return ()
        self.take("[")
        out = []
        while True:
            key = self.take()[1]
            self.take("=")
            out.append((key, _value(self.take()[1])))
            if self.peek() is not None and self.peek()[1] == ",":
                self.take(",")
                continue
            self.take("]")
            return tuple(out)


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _flatten(steps: tuple[Step, ...]) -> list[PassStep]:
    out: list[PassStep] = []
    for s in steps:
        out.extend(_flatten(s.steps) if isinstance(s, (Loop, Branch)) else [s])
    return out


def parse_steps(text: str) -> tuple[Step, ...]:
    """The step tree of a pipeline string or preset (see the module docstring).

    Raises :class:`PassError` for unknown passes, syntax errors, and a
    netlist-producing pass anywhere but at the very end.
    """
    key = text.strip().lstrip("-")
    if key in PRESETS:
        text = PRESETS[key]
    parser = _Parser(text)
    if not parser.tokens:
        raise PassError(f"empty pipeline {text!r}; expected pass names separated by ';'")
    steps = parser.pipeline()
    if parser.peek() is not None:
        raise PassError(f"pipeline {text!r}: unexpected {parser.peek()[1]!r} after the last step")
    flat = _flatten(steps)
    for s in flat[:-1]:
        if s.info.produces != "circuit":
            raise PassError(f"pipeline {text!r}: pass {s.info.name!r} produces a netlist and must come last")
    if flat[-1].info.produces != "circuit" and not isinstance(steps[-1], PassStep):
        raise PassError(f"pipeline {text!r}: pass {flat[-1].info.name!r} produces a netlist and cannot be repeated")
    return steps


def parse_pipeline(text: str) -> list[PassInfo]:
    """The passes of a pipeline string or preset, in order (each loop body once)."""
    return [s.info for s in _flatten(parse_steps(text))]


def _cost(obj: Circuit | NandNetlist) -> int:
    from nandc.synth.cost import nand_cost

    return obj.num_gates if isinstance(obj, NandNetlist) else nand_cost(obj)


def _key(steps: tuple[Step, ...]) -> tuple:
    """What a sequence of steps does, as a hashable value."""
    return tuple((s.info.name, s.params) if isinstance(s, PassStep) else
                 ("branch", _key(s.steps)) if isinstance(s, Branch) else ("loop", s.limit, s.fixpoint, _key(s.steps))
                 for s in steps)


@dataclass
class _Run:
    """State of one pipeline run."""

    history: list[Stats]
    on_stats: Callable[[Stats], Any] | None
    progress: Progress | None
    converged: set = field(default_factory=set)  # (loop body key, structural hash) at a fixpoint
    snapshots: list = field(default_factory=list)  # circuits kept by passes with ``keeps_snapshot``
    results: dict = field(default_factory=dict)  # (step key, structural hash of its input) -> its result
    patterns: PatternPool = field(default_factory=PatternPool)  # counterexamples, for passes with ``uses_patterns``


def _run(steps: tuple[Step, ...], obj, run: _Run, memoize: bool = False):
    """Run ``steps`` on ``obj``; ``memoize``: reuse (and record) the results of steps
    that ran on a structurally equal circuit (not inside loops, which re-run on purpose)."""
    for step in steps:
        if isinstance(step, Loop):
            memo = (_key((step,)), obj.structural_hash()) if memoize and isinstance(obj, Circuit) else None
            if memo is not None and memo in run.results:
                obj = run.results[memo]  # the same steps ran on the same circuit before (in a branch)
                continue
            obj = _run_loop(step, obj, run) if step.fixpoint else _run(step.steps, obj, run, False)
            if memo is not None:
                run.results[memo] = obj
            continue
        if isinstance(step, Branch):
            _keep_snapshot(run, _run(step.steps, obj, run, memoize))
            continue
        memo = (_key((step,)), obj.structural_hash()) if memoize and isinstance(obj, Circuit) and not (
            step.info.keeps_snapshot or step.info.uses_snapshots) else None
        if memo is not None and memo in run.results:
            obj = run.results[memo]
            continue
        params = dict(step.params)
        kwargs: dict = {}
        if run.progress is not None and step.info.progress:
            kwargs["progress"] = run.progress
        if step.info.uses_snapshots:
            kwargs["snapshots"] = tuple(run.snapshots)
        if step.info.uses_patterns:
            kwargs["patterns"] = run.patterns
        obj, stats = step.info.run(obj, params, **kwargs)
        if step.info.keeps_snapshot:
            _keep_snapshot(run, obj)
        if memo is not None:
            run.results[memo] = obj
        run.history.append(stats)
        if run.on_stats is not None:
            run.on_stats(stats)
    return obj


def _keep_snapshot(run: _Run, circuit: Circuit) -> None:
    run.snapshots = (run.snapshots + [circuit])[-MAX_SNAPSHOTS:]


def _run_loop(loop: Loop, obj, run: _Run):
    body = _key(loop.steps)
    if isinstance(obj, Circuit) and (body, obj.structural_hash()) in run.converged:
        return obj
    best, best_cost = obj, _cost(obj)
    for _ in range(loop.limit):
        obj = _run(loop.steps, best, run, False)
        cost = _cost(obj)
        if cost < best_cost:
            best, previous, best_cost = obj, best_cost, cost
            if previous - cost >= MIN_GAIN * previous:
                continue
        if isinstance(best, Circuit):
            run.converged.add((body, best.structural_hash()))
        break
    return best


def run_pipeline(circuit: Circuit, pipeline: str,
                 on_stats: Callable[[Stats], Any] | None = None,
                 progress: Progress | None = None) -> tuple[Circuit | NandNetlist, list[Stats]]:
    """Run the steps of ``pipeline`` in order; returns the result and each pass's Stats.

    ``progress(stage, done, total)`` is handed to every pass that reports progress.
    """
    run = _Run([], on_stats, progress)
    steps = parse_steps(pipeline)
    with sparse_collections(), single_threaded_blas():
        # results are remembered only where a branch may repeat the main line's steps (they hold circuits)
        result = _run(steps, circuit, run, memoize=_has_branch(steps))
    return result, run.history


#: Allocations between two young-generation collections of Python's cyclic collector during a run
#: (Python's default: 700).
GC_THRESHOLD = 100_000


class _SharedSetting:
    """A process-wide setting that the first of nested or concurrent runs (threads) makes and the
    last one out undoes, whatever order they leave in: ``apply()`` makes it and returns what
    ``restore(saved)`` needs to undo it."""

    _lock = threading.Lock()

    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]):
        self.apply, self.restore = apply, restore
        self.depth = 0
        self.saved: Any = None  # what the first run in found, while runs are in

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if not self.depth:
                self.saved = self.apply()
            self.depth += 1
        try:
            yield
        finally:
            with self._lock:
                self.depth -= 1
                if not self.depth:
                    self.restore(self.saved)
                    self.saved = None


def _sparse_gc() -> tuple[tuple[int, ...], bool]:
    threshold = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    return threshold, freeze


def _restore_gc(saved: tuple[tuple[int, ...], bool]) -> None:
    threshold, freeze = saved
    gc.set_threshold(*threshold)
    if freeze:
        gc.unfreeze()


def _blas_limit():
    """A :mod:`threadpoolctl` limit of the loaded BLAS libraries to one thread (None without
    threadpoolctl)."""
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency
        return None
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _restore_blas(limit) -> None:
    if limit is not None:
        limit.restore_original_limits()


_BLAS_CONTROLLER = None  # the BLAS libraries threadpoolctl found (it looks once)
_GC_SETTING = _SharedSetting(_sparse_gc, _restore_gc)  # saved: (the collector's thresholds, whether it froze)
_BLAS_SETTING = _SharedSetting(_blas_limit, _restore_blas)


def sparse_collections():
    """Run with fewer, cheaper cyclic garbage collections.  The passes allocate millions of
    short-lived lists, tuples and dicts, none of them in reference cycles, and Python's collector
    rescans the survivors every 700 allocations; where a traced model, torch and its modules are
    loaded, every full collection also walks all of their objects.  Inside, the objects made before
    are frozen (:func:`gc.freeze`: kept out of every collection) unless some are frozen already
    (the caller's own use), and the young generation is collected every :data:`GC_THRESHOLD`
    allocations.  On ``ternary_mlp.fc1.absmax`` (22k AND nodes), ``-O3`` spent 0.1-0.2 s of its
    1.3 s in collections run alone, about 0.6 s of 1.8 s beside the example models.  The first of
    nested or concurrent runs (threads) changes the settings and the last one out restores them."""
    return _GC_SETTING.held()


def single_threaded_blas():
    """Run with one BLAS thread (:mod:`threadpoolctl`).  A few passes multiply small float
    matrices (``recover``'s probes of threshold hypotheses); numpy's OpenBLAS then wakes a worker
    thread per core, which spins waiting for more work long after the product is done.  On two cores
    that spinning took 0.1 s of CPU per ``-O3`` run of ``ternary_mlp.fc1.absmax`` (0.9 s) and slowed
    the main thread by as much.  The first of nested or concurrent runs sets the limit and the last
    one out restores the library's own."""
    return _BLAS_SETTING.held()


def _has_branch(steps: tuple[Step, ...]) -> bool:
    return any(isinstance(s, Branch) or (isinstance(s, Loop) and _has_branch(s.steps)) for s in steps)
