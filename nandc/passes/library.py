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

from nandc.passes.exact import synthesize
from nandc.passes.truth import MASK, VAR, p_canonical, permute, support

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
            self._entries.update({canon: _Entry(prog, lower, True) for canon, (lower, prog) in _shipped().items()})

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
        _SHIPPED_PROGRAMS = {canon: prog for canon, (_, prog) in _shipped().items() if prog is not None}
    return _SHIPPED_PROGRAMS


def _shipped() -> dict[int, tuple[int, Program | None]]:
    try:
        from nandc.passes.nand4_table import TABLE
    except ImportError:  # pragma: no cover - the table ships with nandc
        return {}
    return decode_table(TABLE)


DEFAULT_LIBRARY = NandLibrary()


def table_text(entries: dict[int, tuple[int, Program | None]]) -> str:
    """The source of :mod:`nandc.passes.nand4_table` for ``entries``."""
    lines = [encode_entry(canon, lower, prog) for canon, (lower, prog) in sorted(entries.items())]
    body = "\n".join(lines)
    return (
        '"""Smallest known NAND2 programs of 4-input functions, one per input-permutation class.\n\n'
        "Generated by ``python -m nandc.passes.library OUT.py [conflicts] [max_gates]`` (exact\n"
        "synthesis by SAT, :mod:`nandc.passes.exact`); the format is described in\n"
        ":func:`nandc.passes.library.decode_table`.  Do not edit by hand.\n"
        '"""\n\n'
        f'TABLE = """\n{body}\n"""\n'
    )


def synthesize_classes(classes, conflicts: int, max_gates: int,
                       known: dict[int, tuple[int, Program | None]] | None = None):
    """Yield ``(canon, lower_bound, program)`` for each canonical table of ``classes``
    not in ``known`` and not trivial (constants and variables need no program)."""
    for canon in classes:
        if (known and canon in known) or canon in (0, MASK) or canon in VAR:
            continue
        lib = NandLibrary(conflicts, max_gates, preload=False)
        lib._entries[canon] = _Entry(None, 1)
        lib._search(canon, lib._entries[canon], max_gates)
        entry = lib._entries[canon]
        yield canon, entry.lower_bound, entry.program


def _main(argv: list[str]) -> None:  # pragma: no cover - a maintenance tool
    """Regenerate the shipped table: every permutation class of 4-input functions."""
    import numpy as np

    from nandc.fsutil import atomic_write
    from nandc.passes.truth import _canonical_tables

    out = argv[0]
    conflicts = int(argv[1]) if len(argv) > 1 else 20000
    max_gates = int(argv[2]) if len(argv) > 2 else 12
    classes = sorted(set(np.asarray(_canonical_tables()[0]).tolist()))
    entries = dict(_shipped())
    for canon, lower, prog in synthesize_classes(classes, conflicts, max_gates, entries):
        entries[canon] = (lower, prog)
    with atomic_write(out, "w") as f:
        f.write(table_text(entries))


if __name__ == "__main__":  # pragma: no cover
    import sys

    _main(sys.argv[1:])
