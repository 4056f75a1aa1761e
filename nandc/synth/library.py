"""The library of smallest known NAND2 programs for functions of at most 4 inputs.

Functions are looked up by their canonical table under input permutation
(:func:`~nandc.passes.truth.p_canonical`); a program is stored over the
canonical table's variables.  Entries come from exact synthesis by SAT
(:mod:`nandc.passes.exact`), computed on first use with a conflict budget and
remembered for the rest of the process, together with a proved lower bound
so that a later, tighter query does not repeat a failed search.

Inputs of a program are the *positive* variables: a program that needs an
input complemented pays for the inverter, which is what lowering to NAND2
costs when the signal is only available in one phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from nandc.passes.exact import synthesize
from nandc.passes.truth import VAR, p_canonical, support

__all__ = ["Program", "NandLibrary", "DEFAULT_LIBRARY", "decode_table", "encode_entry", "shipped_programs"]


@dataclass(frozen=True)
class Program:
    """A NAND2 program over ``num_inputs`` variables (4 for library programs).

    ``gates[i] = (j, k)``: signal ``num_inputs + i`` is ``NAND(signal j, signal k)``,
    signals ``0 .. num_inputs - 1`` being the variables (``j == k`` is an
    inverter).  The program's value is signal ``output`` (a variable when
    there are no gates).
    """

    gates: tuple[tuple[int, int], ...]
    output: int
    num_inputs: int = 4

    @property
    def cost(self) -> int:
        return len(self.gates)


@dataclass
class _Entry:
    program: Program | None  # best known
    lower_bound: int  # no program with fewer gates exists
    final: bool = False  # from the shipped table: searched with a larger budget than at run time


def _program_from_synthesis(gates, num_inputs: int, slots: list[int]) -> Program:
    """Re-express a synthesized program over ``num_inputs`` inputs (input ``i`` is
    variable ``slots[i]``) in the 4-variable signal numbering of :class:`Program`."""

    def sig(s: int) -> int:
        return slots[s] if s < num_inputs else 4 + (s - num_inputs)

    out = tuple((sig(j), sig(k)) for j, k in gates)
    return Program(out, 4 + len(out) - 1)


def decode_table(text: str) -> dict[int, tuple[int, Program | None]]:
    """Entries of the shipped table (:mod:`nandc.passes.nand4_table`).

    One entry per line: ``canon lower_bound gates``, the canonical table and
    lower bound in hex and decimal, ``gates`` as ``jk`` digit pairs in the
    4-variable signal numbering of :class:`Program` (signals 10 and up as
    ``a``, ``b``, ...), or ``-`` when no program was found.
    """
    entries: dict[int, tuple[int, Program | None]] = {}
    for line in text.split():
        canon, lower, gates = line.split(":")
        prog = None
        if gates != "-":
            pairs = tuple((int(gates[i], 36), int(gates[i + 1], 36)) for i in range(0, len(gates), 2))
            prog = Program(pairs, 4 + len(pairs) - 1)
        entries[int(canon, 16)] = (int(lower), prog)
    return entries


def encode_entry(canon: int, lower: int, program: Program | None) -> str:
    """One line of the shipped table (inverse of :func:`decode_table`)."""
    if program is None:
        gates = "-"
    else:
        gates = "".join(_digit(j) + _digit(k) for j, k in program.gates)
    return f"{canon:04x}:{lower}:{gates}"


def _digit(x: int) -> str:
    return "0123456789abcdefghijklmnopqrstuvwxyz"[x]


class NandLibrary:
    """Smallest known NAND2 programs: the shipped table, then SAT searches on demand (cached)."""

    def __init__(self, conflicts: int = 3000, max_gates: int = 10, preload: bool = True):
        self.conflicts = conflicts
        self.max_gates = max_gates
        self._entries: dict[int, _Entry] = {}
        self.searches = 0
        if preload:
            self._entries.update({canon: _Entry(e.program, e.lower_bound, e.final) for canon, e in _shipped().items()})

    def export(self) -> list[str]:
        """Every entry as table lines (see :func:`decode_table`), sorted."""
        return [encode_entry(canon, e.lower_bound, e.program)
                for canon, e in sorted(self._entries.items()) if e.program is None or e.program.gates]

    def _trivial(self, canon: int) -> Program | None:
        for i in range(4):
            if canon == VAR[i]:
                return Program((), i)
        return None

    def lookup(self, tt: int, bound: int, search: bool = True) -> tuple[Program, tuple[int, ...]] | None:
        """A program of at most ``bound`` gates for ``tt`` and the permutation
        ``perm`` relating them: variable ``perm[i]`` of the program is variable
        ``i`` of ``tt``.  None if none is known or found within the budget
        (``search=False``: none is known; no SAT search is made).

        Requires: ``tt`` is not constant.
        """
        if bound < 0:
            return None
        canon, perm = p_canonical(tt)
        entry = self._entries.get(canon)
        if entry is None:
            trivial = self._trivial(canon)
            entry = _Entry(trivial, 0 if trivial else 1)
            self._entries[canon] = entry
        if entry.program is not None and entry.program.cost <= bound:
            return entry.program, perm
        limit = min(bound, self.max_gates)
        if not search or entry.lower_bound > limit or entry.final:
            return None
        self._search(canon, entry, limit)
        if entry.program is not None and entry.program.cost <= bound:
            return entry.program, perm
        return None

    def _search(self, canon: int, entry: _Entry, limit: int) -> None:
        """Try sizes ``entry.lower_bound .. limit``; update the entry."""
        sup = support(canon)
        slots = [i for i in range(4) if (sup >> i) & 1]
        small = 0
        for t in range(1 << len(slots)):  # the table over the support variables only
            row = sum(1 << slots[i] for i in range(len(slots)) if (t >> i) & 1)
            if (canon >> row) & 1:
                small |= 1 << t
        self.searches += 1
        stop = limit if entry.program is None else min(limit, entry.program.cost - 1)
        prog, lower = synthesize(small, len(slots), max_gates=stop, conflicts=self.conflicts,
                                 start=max(1, entry.lower_bound))
        entry.lower_bound = max(entry.lower_bound, lower)
        if prog is not None:
            entry.program = _program_from_synthesis(prog.gates, len(slots), slots)


_SHIPPED_PROGRAMS: dict[int, Program] | None = None


def shipped_programs() -> dict[int, Program]:
    """The program of every canonical table of the shipped table that has one
    (read once; the same in every process, whatever was searched since)."""
    global _SHIPPED_PROGRAMS
    if _SHIPPED_PROGRAMS is None:
        _SHIPPED_PROGRAMS = {canon: e.program for canon, e in _shipped().items() if e.program is not None}
    return _SHIPPED_PROGRAMS


@lru_cache(maxsize=1)
def _shipped() -> dict[int, _Entry]:
    """The entries of :mod:`nandc.passes.nand4_table`: its SAT results (final: no
    search at run time can do better), with the constructed programs where
    those are smaller or the search found none (not final where no search was made).
    Read once; callers copy what they change."""
    try:
        from nandc.passes.nand4_table import CONSTRUCTED, TABLE
    except ImportError:  # pragma: no cover - the table ships with nandc
        return {}
    entries = {canon: _Entry(prog, lower, True) for canon, (lower, prog) in decode_table(TABLE).items()}
    for canon, (lower, prog) in decode_table(CONSTRUCTED).items():
        entry = entries.get(canon)
        if entry is None:
            entries[canon] = _Entry(prog, lower, False)
        elif entry.program is None or prog.cost < entry.program.cost:
            entry.program = prog
    return entries


DEFAULT_LIBRARY = NandLibrary()
