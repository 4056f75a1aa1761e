"""Cones as truth tables, two-level covers and factored forms.

:func:`reconvergent_cut` grows a cut of a node, :func:`cone_table` computes
the node's function over the cut as one Python int of ``2**k`` bits,
:func:`minimize_cover` minimizes it into a sum of products (espresso, pyeda, started
from the irredundant cover of :func:`isop`),
:func:`factor` factors the cover algebraically (the literal shared by most
cubes is pulled out, recursively) and :func:`build_form` builds the factored
form as AND nodes; :func:`cover_program` is its NAND2 program over free-phase
leaves.  Used by the refactor and nnsynth passes and the table generator.
"""

from __future__ import annotations

from functools import lru_cache

from nandc.ir.circuit import Circuit
from nandc.synth.library import Program
from nandc.synth.resynth import program_from_circuit
from nandc.synth.truth import variable_table

__all__ = ["Cube", "MAX_CONE", "reconvergent_cut", "pair_cut", "cone_table", "minimize_cover", "isop", "factor", "build_form",
           "cover_program", "support_size"]

Cube = tuple[int, ...]  # per variable: 0 (complemented), 1 (positive), 2 (absent)


#: AND nodes a reconvergent cut's cone may hold (``v`` included): expanding a leaf that adds no new
#: leaf never stops by itself on a long chain over a few signals, which made every pass that grows
#: these cuts quadratic in the chain's depth (the cones of ordinary circuits hold at most ~80 nodes
#: at 12 leaves).  :func:`nandc.synth.kernels._reconvergent` keeps the same limit.
MAX_CONE = 128


def reconvergent_cut(v: int, f0: list[int], f1: list[int], k: int) -> tuple[int, ...]:
    """Leaves (increasing) of a cut of AND node ``v`` with at most ``k`` leaves,
    grown by expanding the leaf that adds the fewest new leaves, while the cone
    holds fewer than :data:`MAX_CONE` AND nodes."""
    leaves = {f0[v] >> 1, f1[v] >> 1}
    leaves.discard(0)
    return _grow_cut(leaves, {v} | leaves, 1, f0, f1, k)


def pair_cut(x: int, y: int, f0: list[int], f1: list[int], k: int) -> tuple[int, ...]:
    """Leaves (increasing) of a cut of nodes ``x`` and ``y`` together, grown as
    :func:`reconvergent_cut` grows one from the two nodes themselves (the
    constant is never a leaf)."""
    leaves = {x, y}
    leaves.discard(0)
    return _grow_cut(leaves, set(leaves), 0, f0, f1, k)


def _grow_cut(leaves: set[int], visited: set[int], inner: int, f0, f1, k: int) -> tuple[int, ...]:
    """Expand the leaf that adds the fewest new leaves (ties: the highest node) while the cut
    keeps at most ``k`` leaves and the cone (``inner`` AND nodes so far) fewer than :data:`MAX_CONE`."""
    while inner < MAX_CONE:
        best, best_cost = -1, k + 1
        for x in leaves:
            if not f0[x]:
                continue
            new = [u for u in (f0[x] >> 1, f1[x] >> 1) if u and u not in visited]
            cost = len(new) - 1
            if cost < best_cost or (cost == best_cost and x > best):
                best, best_cost = x, cost
        if best < 0 or len(leaves) + best_cost > k:
            return tuple(sorted(leaves))
        leaves.discard(best)
        inner += 1
        for u in (f0[best] >> 1, f1[best] >> 1):
            if u and u not in visited:  # (a visited fanin is a leaf already or inside the cone)
                leaves.add(u)
                visited.add(u)
    return tuple(sorted(leaves))


def cone_table(v: int, leaves: tuple[int, ...], f0: list[int], f1: list[int]) -> int:
    """Truth table of node ``v`` over ``leaves`` (variable ``i`` = ``leaves[i]``), ``2**k`` bits."""
    k = len(leaves)
    rows = 1 << k
    mask = (1 << rows) - 1
    value = {0: 0}
    for i, x in enumerate(leaves):
        value[x] = variable_table(i, k)
    stack = [v]
    while stack:
        u = stack[-1]
        if u in value:
            stack.pop()
            continue
        pending = [w for w in (f0[u] >> 1, f1[u] >> 1) if w not in value]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        a, b = f0[u], f1[u]
        va = value[a >> 1] ^ (mask if a & 1 else 0)
        vb = value[b >> 1] ^ (mask if b & 1 else 0)
        value[u] = va & vb
    return value[v]


#: Up to this many variables :func:`minimize_cover` gives espresso the minterms.
MINTERM_START = 4


@lru_cache(maxsize=1 << 16)
def minimize_cover(table: int, k: int) -> tuple[Cube, ...]:
    """A near-minimal sum of products of ``table`` (espresso; remembered, since
    the cones of a neural network repeat the same functions many times).

    Above :data:`MINTERM_START` variables espresso starts from the irredundant
    cover of :func:`isop`, not from the table's minterms: its cost grows with
    the size of the cover it is given (up to 1,024 minterms at 10 variables),
    and on the 756 distinct tables of 3 to 10 variables that ``-O3`` met on
    three example layers it returned the same covers in a quarter of the time
    (ISOP included: 1.07 -> 0.40 s).  Up to 4 variables the minterms, as the
    shipped 4-input table was generated (from ISOP, one of its entries would
    come out a gate smaller)."""
    from pyeda.boolalg import espresso

    if not table:
        return ()
    full = (1 << (1 << k)) - 1
    if table == full:
        return ((2,) * k,)
    if k <= MINTERM_START:
        start = tuple(tuple((t >> i) & 1 for i in range(k)) for t in range(1 << k) if (table >> t) & 1)
    else:
        start, _ = isop(table, table, k)
    # pyeda's positional notation: 1 = complemented, 2 = positive, 3 = absent
    onset = {(tuple(x + 1 for x in cube), (1,)) for cube in start}
    espresso.set_config(single_expand=False, remove_essential=True, force_irredundant=True,
                        unwrap_onset=True, recompute_onset=False, use_super_gasp=False,
                        skip_make_sparse=False)
    out = espresso.espresso(k, 1, onset, intype=espresso.FTYPE)
    return tuple(sorted(tuple(x - 1 for x in cube) for cube, _ in out))


def isop(lower: int, upper: int, k: int) -> tuple[tuple[Cube, ...], int]:
    """An irredundant sum of products covering ``lower`` within ``upper``
    (tables of ``2**k`` bits, ``lower`` within ``upper``; ``upper`` minus
    ``lower`` is don't care) and the table it covers, by the Minato-Morreale
    recursion: split on the highest variable either table depends on, cover
    the minterms only one cofactor can cover with cubes of that literal, then
    the rest with cubes free of it.  A table that depends on no variable from
    ``n`` on is held in its low ``2**n`` bits, so the tables halve as the
    recursion goes down.  Sub-problems repeat within one call and are
    remembered for its duration."""
    memo: dict[tuple[int, int, int], tuple[tuple[Cube, ...], int]] = {}
    tautology = ((2,) * k,)

    def cover(low: int, up: int, n: int) -> tuple[tuple[Cube, ...], int]:
        # low and up: tables of 2**n bits (of the variables below n)
        if not low:
            return (), 0
        full = (1 << (1 << n)) - 1
        if up == full:
            return tautology, full
        key = (low, up, n)
        known = memo.get(key)
        if known is not None:
            return known
        i = n - 1
        while i > 0:
            half = 1 << i  # the table of the variables below i, replicated over variable i
            if low >> half != low & ((1 << half) - 1) or up >> half != up & ((1 << half) - 1):
                break
            i -= 1
            low &= (1 << half) - 1
            up &= (1 << half) - 1
        half = 1 << i
        part = (1 << half) - 1
        low0, low1, up0, up1 = low & part, low >> half, up & part, up >> half
        cubes0, got0 = cover(low0 & ~up1, up0, i)
        cubes1, got1 = cover(low1 & ~up0, up1, i)
        rest, got = cover((low0 & ~got0) | (low1 & ~got1), up0 & up1, i)
        covered = (got0 | got) | ((got1 | got) << half)  # over the variables up to i
        covered *= full // ((1 << (half << 1)) - 1)  # replicated over the ones above it
        result = (tuple(c[:i] + (0,) + c[i + 1:] for c in cubes0) + tuple(c[:i] + (1,) + c[i + 1:] for c in cubes1)
                  + rest, covered)
        memo[key] = result
        return result

    full = (1 << (1 << k)) - 1
    return cover(lower & full, upper & full, k)


# A factored form: ("lit", var, positive) | ("and", parts) | ("or", parts) | ("const", value); parts: a tuple
def factor(cubes) -> tuple:
    """An algebraically factored form of a sum of ``cubes``: the literal in most cubes (ties: the
    lowest variable, then the phase met first) times the factored rest of its cubes, plus the
    factored other cubes.  Remembered by the cubes (refactoring factors the same covers over and
    over, and the sub-sums recur: ternary_mlp.argmax, 22k calls for 4k different sums)."""
    return _factor(tuple(cubes))


@lru_cache(maxsize=1 << 16)
def _factor(cubes: tuple[Cube, ...]) -> tuple:
    if not cubes:
        return ("const", 0)
    if (2,) * len(cubes[0]) in cubes:  # a cube of no literal: the sum is 1
        return ("const", 1)
    if len(cubes) == 1:
        lits = tuple(("lit", i, x) for i, x in enumerate(cubes[0]) if x != 2)
        return lits[0] if len(lits) == 1 else ("and", lits)
    counts: dict[tuple[int, int], int] = {}
    for c in cubes:
        for i, x in enumerate(c):
            if x != 2:
                counts[(i, x)] = counts.get((i, x), 0) + 1
    (var, phase), n = max(counts.items(), key=_literal_rank)
    if n == 1:
        return ("or", tuple(_factor((c,)) for c in cubes))
    with_lit = tuple(c[:var] + (2,) + c[var + 1:] for c in cubes if c[var] == phase)
    rest = tuple(c for c in cubes if c[var] != phase)
    term = ("and", (("lit", var, phase), _factor(with_lit)))
    return term if not rest else ("or", (term, _factor(rest)))


def _literal_rank(item: tuple[tuple[int, int], int]) -> tuple[int, int]:
    """The order :func:`factor` picks its literal by: most cubes, then the lowest variable."""
    (var, _), n = item
    return n, -var


def build_form(c: Circuit, form: tuple, variables: list[int]) -> int:
    """Build a factored form in ``c``; variable ``i`` is literal ``variables[i]``."""
    kind = form[0]
    if kind == "const":
        return form[1]
    if kind == "lit":
        _, i, positive = form
        return variables[i] ^ (0 if positive else 1)
    parts = [build_form(c, f, variables) for f in form[1]]
    if kind == "or":
        return c.or_many(parts)
    return c.and_many(parts)


@lru_cache(maxsize=1 << 16)
def _cached_cover_program(cubes: tuple[Cube, ...], k: int, free: tuple[int, ...]) -> Program | None:
    scratch = Circuit("cover")
    signals = [scratch.add_input() for _ in range(k)]
    root = build_form(scratch, factor(list(cubes)), [s ^ f for s, f in zip(signals, free)])
    return program_from_circuit(scratch, root)


def cover_program(cubes, k: int, free: list[int]) -> Program | None:
    """The NAND program of the factored cover over free-phase leaf signals
    (variable ``i`` is signal ``i`` complemented if ``free[i]``); None if constant."""
    return _cached_cover_program(tuple(cubes), k, tuple(free))


def support_size(table: int, k: int) -> int:
    """How many of the ``k`` variables the ``2**k``-bit ``table`` depends on."""
    count = 0
    for i in range(k):
        var = variable_table(i, k)
        if (table & var) >> (1 << i) != table & (var >> (1 << i)):
            count += 1
    return count
