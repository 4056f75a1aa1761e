"""The pass protocol: what every optimization or lowering pass looks like.

A pass is a pure function ``run(circuit, params) -> (result, Stats)``.  It never
mutates its input.  ``result`` is a new :class:`~nandc.ir.Circuit` (for
circuit-to-circuit passes) or a :class:`~nandc.ir.NandNetlist` (for the final
lowering).  Each pass documents what it *requires* of its input and what it
*ensures* of its output; its tests check equivalence before and after.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist

__all__ = ["Params", "Stats", "PassInfo", "PASSES", "register", "get_pass", "size_of", "pass_stats", "resynthesis_result",
           "renamed_params"]

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Stats:
    """What one pass did: sizes before and after, time taken, pass-specific notes.

    ``before`` and ``after`` are AND nodes reachable from the outputs for
    circuits and NAND2 gates for netlists.  ``nand2_before`` and
    ``nand2_after`` are the objective every pass works on: the NAND2 gates
    the circuit lowers to (:func:`~nandc.synth.cost.nand_cost`, inverters
    included), or the netlist's gate count.
    """

    pass_name: str
    before: int
    after: int
    seconds: float
    notes: Mapping[str, Any] = field(default_factory=dict)
    nand2_before: int | None = None
    nand2_after: int | None = None

    def __str__(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self.notes.items())
        nand2 = "" if self.nand2_after is None else f", NAND2 {self.nand2_before} -> {self.nand2_after}"
        return f"{self.pass_name}: {self.before} -> {self.after} ({self.seconds:.3f}s{nand2}{extra})"


@dataclass(frozen=True)
class PassInfo:
    """A registered pass: name, one-line description, function, output kind,
    the frozen dataclass of its parameters (None: it takes none), and whether
    it reports progress (then it is called as ``run(circuit, params, progress=callback)``)."""

    name: str
    description: str
    run: Callable[..., tuple[Any, Stats]]
    produces: str  # "circuit" or "netlist"
    params: type | None = None
    progress: bool = False
    renamed: Mapping[str, str] = field(default_factory=dict)  # old parameter name -> new one
    keeps_snapshot: bool = False  # a pipeline keeps its result as a structural choice for later passes
    uses_snapshots: bool = False  # called with ``snapshots=`` (the circuits kept so far in the pipeline)
    uses_patterns: bool = False  # called with ``patterns=`` (the pipeline's PatternPool of counterexamples)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names a pipeline string may set (the fields of :attr:`params`)."""
        return () if self.params is None else tuple(f.name for f in dataclasses.fields(self.params))


PASSES: dict[str, PassInfo] = {}


def register(name: str, description: str, produces: str = "circuit", params: type | None = None,
             progress: bool = False, renamed: Mapping[str, str] | None = None,
             keeps_snapshot: bool = False, uses_snapshots: bool = False, uses_patterns: bool = False):
    """Decorator that adds a pass function to :data:`PASSES`.

    ``params``: the frozen dataclass of the pass's parameters; ``progress``:
    the function takes a keyword argument ``progress`` (a
    :data:`~nandc.synth.progress.Progress` callback, never stored in the parameters);
    ``renamed``: old parameter names still accepted, with a warning (see :func:`renamed_params`);
    ``keeps_snapshot``: a pipeline keeps the pass's result as a snapshot (a structure of the circuit,
    see :mod:`nandc.synth.choices`); ``uses_snapshots``: the function takes a keyword argument
    ``snapshots`` (the circuits kept so far by the pipeline, oldest first); ``uses_patterns``: the
    function takes a keyword argument ``patterns``, the pipeline's
    :class:`~nandc.synth.simulation.PatternPool` (counterexamples found by earlier passes of the run, to
    simulate and to add to; one per run, since every pass keeps the circuit's inputs).
    """
    if params is not None and not dataclasses.is_dataclass(params):
        raise PassError(f"pass {name!r}: params must be a dataclass type, found {params!r}")

    def deco(fn):
        if name in PASSES:
            raise PassError(f"pass {name!r} is registered twice")
        PASSES[name] = PassInfo(name, description, fn, produces, params, progress, dict(renamed or {}),
                                keeps_snapshot, uses_snapshots, uses_patterns)
        return fn

    return deco


def get_pass(name: str) -> PassInfo:
    try:
        return PASSES[name]
    except KeyError:
        raise PassError(
            f"unknown pass {name!r}; expected one of: {', '.join(sorted(PASSES))}"
        ) from None


def size_of(obj: Circuit | NandNetlist) -> int:
    """AND nodes reachable from the outputs, or NAND2 gates."""
    if isinstance(obj, NandNetlist):
        return obj.num_gates
    mask = obj.reachable()
    f0, _, _ = obj.arrays()
    return int((mask & (f0 != 0)).sum())


def pass_stats(name: str, source: Circuit, result: Circuit | NandNetlist, t0: float,
               nand2_before: int | None = None, nand2_after: int | None = None, **notes) -> Stats:
    """The Stats of a pass that turned ``source`` into ``result`` starting at ``t0``
    (``time.perf_counter()``); NAND2 costs are computed unless given."""
    from nandc.synth.cost import nand_cost

    if nand2_before is None:
        nand2_before = nand_cost(source)
    if nand2_after is None:
        nand2_after = result.num_gates if isinstance(result, NandNetlist) else nand_cost(result)
    return Stats(name, size_of(source), size_of(result), time.perf_counter() - t0, notes, nand2_before, nand2_after)


def resynthesis_result(name: str, circuit: Circuit, ctx, replaced: dict, t0: float, **notes) -> tuple[Circuit, Stats]:
    """A resynthesis pass's result: ``circuit`` with ``replaced`` applied if that
    lowers its NAND2 cost (:func:`~nandc.synth.resynth.apply_if_cheaper`), and its Stats."""
    from nandc.synth.resynth import apply_if_cheaper

    new, cost_before, cost_after = apply_if_cheaper(circuit, ctx, replaced)
    return new, pass_stats(name, circuit, new, t0, cost_before, cost_after, **notes)


def renamed_params(name: str, params):
    """``params`` with the renamed parameters of pass ``name`` under their new names.

    A :class:`DeprecationWarning` names the old and the new spelling; params
    that are not a mapping are returned as they are.
    """
    info = PASSES.get(name)
    if not isinstance(params, Mapping) or info is None or not set(params) & set(info.renamed):
        return params
    import warnings

    out = {}
    for key, value in params.items():
        if key in info.renamed:
            new = info.renamed[key]
            warnings.warn(f"pass {name!r}: parameter {key!r} is now called {new!r} "
                          f"(write {name}[{new}=...]); the old name will be removed", DeprecationWarning, stacklevel=3)
            key = new
        out[key] = value
    return out
