"""Restructuring by AND count (in the manner of ABC's ``dc2``): balancing interleaved with
rewriting and refactoring that count AND nodes and may make zero-gain moves.

The NAND2 passes accept only replacements that lower the NAND2 cost, so
they stop in the first local minimum; and a structure built for NAND2 (an
inverter here and there saved) may hide a much smaller AIG.  This pass
shrinks the AIG first, by a script of steps separated by dots:

* ``b``: balance (:mod:`nandc.passes.balance`: AND trees rebuilt with the
  fewest levels, which regroups their leaves);
* ``rw``: rewriting of 4-input cuts by their smallest known AIGs
  (:func:`~nandc.synth.andopt.rewrite_choices`);
* ``rf``: refactoring of reconvergence-driven cuts of up to ``cut_size``
  leaves by factored minimized covers (:func:`~nandc.synth.andopt.refactor_choices`);
* ``rwz``, ``rfz``: the same, also accepting replacements that save nothing
  but build new nodes (moves out of a local minimum).

Every step is kept only if it leaves no more AND nodes than before (a
zero-gain step: as many).  The script runs once per variant of ``slacks``,
each from the input: rewriting by AND count alone (``any``), or taking only
replacements that add at most ``n`` NAND2 gates to their cone (a number).

Fewer AND nodes do not always mean fewer NAND2 gates: on XOR-rich
arithmetic and comparator trees the smallest AIG needs many inverters that
no later pass removes.  So with ``guard=true`` (the default) the variant
that NAND2 mapping (:mod:`nandc.passes.mapper`, :data:`GUARD_MAP`) gives the fewest gates is
kept if that saves at least ``min_gain`` of the input's mapped gates, and
otherwise the input (cleaned) is returned (a variant that saves less than
``min_gain`` of the AND nodes is not mapped at all, and never kept: no
such variant was kept on the benchmark circuits; nor is the input mapped
when no variant is); with ``guard=false`` the variant
with the fewest AND nodes is kept.  The NAND2 cost of the result
(:func:`~nandc.synth.cost.nand_cost`, direct lowering) may be higher than
the input's: the passes that follow (rewrite, resub, map) recover the
inverters, from a smaller graph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.passes.options import Progress, parse_params, report, check_params
from nandc.synth.andopt import and_count, apply_if_fewer, compiled_rewrite_choices, refactor_choices, rewrite_choices
from nandc.synth.cost import CostView
from nandc.synth.rebuild import cleaned

__all__ = ["RestructureParams", "restructure", "STEPS", "DC2", "SCRIPT"]

#: The rounds of a variant stop once one saves less than this fraction of the AND nodes.
MIN_ROUND_GAIN = 0.01
#: With the guard, a variant whose mapping after a round is this fraction above the
#: input's is not run for more rounds.
ABANDON = 0.05
#: The steps a script may name.
STEPS = ("b", "rw", "rwz", "rf", "rfz")
#: ABC's dc2 order of steps.
DC2 = "b.rw.rf.b.rw.rwz.b.rfz.rwz.b"
#: The default: dc2's rewriting and refactoring without the balancing, which on
#: nandc's layers gave results as small or smaller after -O3 (int4_cnn.head 492
#: NAND2 against 497 with balancing, int4_cnn.pool1 1438 against 1454,
#: ternary_mlp.head 535 both) in less time.
SCRIPT = "rw.rf.rw.rwz.rfz.rwz"


@dataclass(frozen=True)
class RestructureParams:
    """``script``: steps separated by dots (see the module docstring); ``rounds``: times
    the script runs (at most; it stops once a round saves less than :data:`MIN_ROUND_GAIN`
    of the AND nodes, or with the guard once a round maps :data:`ABANDON` above the input); ``cut_size``:
    leaves of refactoring cuts (at most 12); ``max_cubes``: refactoring skips covers
    with more cubes; ``cuts_per_node``: priority cuts kept for rewriting;
    ``max_nodes``: leave circuits with more AND nodes unchanged (0: no limit);
    ``guard``: keep the result only if it maps to fewer NAND2 gates than the input;
    ``slacks``: variants separated by dots, each run from the input (the one that maps
    smallest is kept): ``any``, rewriting by AND count alone, or a number ``n``,
    rewriting takes only replacements that add at most ``n`` NAND2 gates to their cone;
    ``min_gain``: with the guard, the fraction of the input's mapped gates a variant must
    save to be kept (mapping is only a forecast of what the passes after it reach);
    ``lean_above``: circuits with more AND nodes run only the last variant of ``slacks``
    and, with the guard, map it once, after its last round (no :data:`ABANDON` check;
    0: never)."""

    script: str = SCRIPT
    rounds: int = 3
    cut_size: int = 10
    max_cubes: int = 24
    cuts_per_node: int = 8
    max_nodes: int = 20000
    guard: bool = True
    slacks: str = "any.0"
    min_gain: float = 0.01
    lean_above: int = 0

    def __post_init__(self):
        check_params(self, "restructure", cut_size=(2, 12), cuts_per_node=(1, None))
        bad = [s for s in str(self.script).split(".") if s not in STEPS]
        if bad:
            raise PassError(f"pass 'restructure': script steps must be some of {', '.join(STEPS)} separated "
                            f"by '.', found {', '.join(map(repr, bad))} in {self.script!r}")
        if any(not (x == "any" or x.isdigit()) for x in str(self.slacks).split(".")):
            raise PassError(f"pass 'restructure': slacks must be 'any' or numbers separated by '.', "
                            f"found {self.slacks!r}")
        if not 2 <= self.cut_size <= 12:
            raise PassError(f"pass 'restructure': cut_size must be 2..12, found {self.cut_size}")


def _cuts(circuit: Circuit, ctx: CostView, limit: int):
    """``(node, cuts)`` of every live AND node (4-input priority cuts)."""
    from nandc.synth.compiled import use_compiled

    if use_compiled(len(ctx.ands)):
        from nandc.synth import kernels

        f0, f1, _ = circuit.arrays()
        return kernels.cut_lists(kernels.cut_arrays(f0, f1, ctx.ands, 4, limit), ctx.ands)
    from nandc.synth.cuts import iter_cuts

    return iter_cuts(ctx.f0, ctx.f1, ctx.ands, 4, limit)


def _step(circuit: Circuit, step: str, p: RestructureParams, slack: int | None,
          progress: Progress | None) -> Circuit:
    if step == "b":
        from nandc.passes.balance import balance

        new, _ = balance(circuit)
        return new if and_count(new) <= and_count(circuit) else circuit
    zero = step.endswith("z")
    ctx = CostView(circuit)
    if step.startswith("rw"):
        from nandc.synth.compiled import use_compiled

        if use_compiled(len(ctx.ands)):
            from nandc.synth import kernels

            f0, f1, _ = circuit.arrays()
            cuts = kernels.cut_arrays(f0, f1, ctx.ands, 4, p.cuts_per_node)
            replaced = compiled_rewrite_choices(circuit, ctx, cuts, zero, progress, slack)
        else:
            replaced = rewrite_choices(circuit, ctx, _cuts(circuit, ctx, p.cuts_per_node), zero, progress,
                                       slack)
    else:
        replaced = refactor_choices(circuit, ctx, p.cut_size, p.max_cubes, zero, progress)
    new, _, _ = apply_if_fewer(circuit, ctx, replaced, allow_equal=zero)
    return new


@register("restructure", "dc2-style restructuring by AND count: balance, rewrite and refactor with zero-gain moves",
          params=RestructureParams, progress=True)
def restructure(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Shrink the AIG by balancing, rewriting and refactoring measured in AND nodes.

    Requires: a valid Circuit.  Ensures: the same function on every output; no
    more AND nodes than the input's live ones (the NAND2 cost may grow); no dead
    nodes; new nodes carry the layer of the node they rebuild.  Circuits with
    more than ``max_nodes`` AND nodes are only cleaned.
    """
    p = parse_params(RestructureParams, params, "restructure")
    t0 = time.perf_counter()
    steps = str(p.script).split(".")
    start = and_count(circuit)
    if p.max_nodes and start > p.max_nodes:
        new = cleaned(circuit)
        return new, pass_stats("restructure", circuit, new, t0, skipped=True)
    variants = [None if x == "any" else int(x) for x in str(p.slacks).split(".")]
    lean = bool(p.lean_above) and start > p.lean_above
    if lean:
        variants = variants[-1:]  # mapping is most of the time on large circuits
    rounds = max(1, p.rounds)
    done, total = 0, len(steps) * rounds * len(variants)
    results, mapped = [], []
    before_cache: list[int] = []

    def mapped_before() -> int:  # the input is mapped only if some variant needs the comparison
        if not before_cache:
            before_cache.append(_mapped(circuit))
        return before_cache[0]

    for slack in variants:
        current = cleaned(circuit)
        forecast = None  # (circuit, its mapped gates)
        for count in range(rounds):
            before = and_count(current)
            for step in steps:
                report(progress, "restructure", done, total)
                current = _step(current, step, p, slack, progress)
                done += 1
            if and_count(current) > (1 - MIN_ROUND_GAIN) * before:
                break
            if p.guard and not lean:
                forecast = (current, _mapped(current))
                if forecast[1] > (1 + ABANDON) * mapped_before():
                    done += len(steps) * (rounds - count - 1)
                    break  # far behind the input after a round: the next ones rarely catch up
        results.append(current)
        if p.guard and and_count(current) <= (1 - p.min_gain) * start:
            mapped.append(forecast[1] if forecast is not None and forecast[0] is current else _mapped(current))
        elif p.guard:
            mapped.append(None)  # too few AND nodes saved to be worth a mapping: never kept
    report(progress, "restructure", total, total)
    notes = {"ands_before": start, "ands_after": [and_count(r) for r in results]}
    if p.guard:
        tried = [i for i, m in enumerate(mapped) if m is not None]
        best = min(tried, key=lambda i: mapped[i], default=None)
        keep = best is not None and mapped[best] < mapped_before() * (1 - p.min_gain)
        notes.update(mapped_before=before_cache[0] if before_cache else None, mapped_after=mapped)
        current = results[best] if keep else cleaned(circuit)
    else:
        current = min(results, key=and_count)
    notes["ands_after"] = and_count(current)
    return current, pass_stats("restructure", circuit, current, t0, **notes)


#: The guard's mapping: the mapper without its inverter-cover rounds (rewriting before the cuts),
#: which cost as much as the cover itself and, compared on both sides, changed no decision of a
#: benchmark circuit (one came out smaller: fmul8x8 598 -> 589 NAND2); and one round of area
#: recovery from each start, not two (half the recovery, most of a mapping's time: of the bench_abc
#: and bench_foreign circuits up to 30k AND nodes, only ternary_mlp.argmax changed, 1000 -> 999
#: NAND2).  Both starts: from least area flow alone, the mapping of a 64x32 layer of ripple-adder
#: popcounts (flayer64x32) was 3% larger than from literal translation, and the guard let a restructure
#: through that ended 2 gates larger.
GUARD_MAP = {"cover_rounds": 0, "rounds": 1}


def _mapped(circuit: Circuit) -> int:
    """NAND2 gates of the guard's mapping of ``circuit`` (:data:`GUARD_MAP`)."""
    from nandc.passes.mapper import mapped_gates

    return mapped_gates(circuit, GUARD_MAP)
