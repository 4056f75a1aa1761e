"""Word-level arithmetic on a :class:`~nandc.ir.circuit.Circuit`.

A :class:`Word` is a tuple of literals, least significant bit first, with a
declared signedness (two's complement when signed).  The functions here build
the exact integer semantics of quantized layers: sums, popcounts, constant
multiplications, comparisons, multiplexers and max/argmax.

Exactness
---------
Every arithmetic result is wide enough that it never overflows: widths are
derived from the operands' value ranges (:meth:`Word.value_range`), so the
result word holds the true integer.  Only :func:`truncate` drops bits.

How sums are built
------------------
All additions go through one engine (:func:`weighted_sum` for words with
constant coefficients, :func:`column_sum` for weighted bits): every operand bit
becomes a bit of weight ``2**j`` in a column ``j`` (a bit of negative weight
``-2**j`` is replaced by its complement plus the constant ``-2**j``, so signed
and subtracted words need no sign extension), all constants are folded into
one integer, and the columns are compressed LSB first by full and half adders,
taking the earliest-arriving bits first (a Wallace/Dadda-style carry-save
tree whose last steps form the final carry-propagate chain).  A constant 1
paired with a bit ``a`` costs nothing (``a + 1 = 2*a + ~a``).

Gate shapes
-----------
:func:`lower_to_nand <nandc.passes.nand.lower_to_nand>` turns each AND node
into one NAND2 gate carrying the node's *complement*; reading a node in its
positive phase costs an inverter.  The adders and comparators here are built
from NAND-shaped AND nodes that read their inputs in the phase that is free:
a full adder is 9 NAND2 gates and a half adder 4, whatever the polarity of
their inputs (complemented inputs flip the outputs instead of adding
inverters, using ``FA(~a, ~b, ~c) = ~FA(a, b, c)``).
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from nandc.errors import CircuitError
from nandc.ir.circuit import FALSE, TRUE, Circuit

__all__ = [
    "Word",
    "COMPARISONS",
    "word_type_for_range",
    "column_sum_mod",
    "word_terms",
    "signed_digit_columns",
    "extend",
    "to_signed",
    "truncate",
    "shift_left",
    "align",
    "full_adder",
    "half_adder",
    "weighted_sum",
    "column_sum",
    "add",
    "sub",
    "negate",
    "add_many",
    "popcount",
    "mul_const",
    "csd_digits",
    "compare_const",
    "compare",
    "mux",
    "maximum",
    "minimum",
    "argmax",
    "compare_threshold",
    "popcount_at_least",
    "sorting_threshold",
    "shared_popcounts",
    "shared_threshold",
]

COMPARISONS = (">=", ">", "<=", "<", "==", "!=")


# ---------------------------------------------------------------------- the Word type
@dataclass(frozen=True)
class Word:
    """An integer held by circuit literals: ``bits`` LSB first, two's complement if ``signed``.

    Bits may be the constants ``FALSE`` (0) and ``TRUE`` (1).  An unsigned
    word may be empty (it holds 0); a signed word has at least its sign bit.
    Results of this module always have at least one bit.
    """

    bits: tuple[int, ...]
    signed: bool = False

    def __post_init__(self):
        bits = tuple(operator.index(b) for b in self.bits)
        if not bits and self.signed:
            raise CircuitError("a signed Word needs at least one bit (its sign), found none")
        if bits and min(bits) < 0:
            raise CircuitError(f"a Word's bits must be literals (>= 0), found {min(bits)}")
        object.__setattr__(self, "bits", bits)
        object.__setattr__(self, "signed", bool(self.signed))

    @property
    def width(self) -> int:
        """Number of bits."""
        return len(self.bits)

    def __len__(self) -> int:
        return len(self.bits)

    @property
    def msb(self) -> int:
        """The most significant bit (the sign bit of a signed word); ``FALSE`` if empty."""
        return self.bits[-1] if self.bits else FALSE

    @staticmethod
    def const(value: int, width: int | None = None, signed: bool | None = None) -> "Word":
        """The constant ``value`` as a word of constant bits.

        ``signed`` defaults to ``value < 0``; ``width`` defaults to the fewest
        bits that hold ``value`` (at least 1).  Raises :class:`CircuitError` if
        ``value`` does not fit.
        """
        value = operator.index(value)
        signed = value < 0 if signed is None else bool(signed)
        need = _bits_needed(value, value, signed)
        if width is None:
            width = need
        elif width < need:
            kind = "a signed" if signed else "an unsigned"
            raise CircuitError(
                f"constant {value} needs {need} bits as {kind} word, found width {width}"
            )
        return Word(tuple((value >> i) & 1 for i in range(width)), signed)

    def const_value(self) -> int | None:
        """The integer this word holds if every bit is a constant, else None."""
        if any(b > TRUE for b in self.bits):
            return None
        value = sum(b << i for i, b in enumerate(self.bits))
        if self.signed and self.msb:
            value -= 1 << self.width
        return value

    def value_range(self) -> tuple[int, int]:
        """``(lo, hi)``: the smallest and largest value the word can take.

        Constant bits are taken into account; variable bits are assumed
        independent, so the range is exact for distinct variable bits and a
        sound enclosure otherwise.
        """
        lo = hi = 0
        for i, b in enumerate(self.bits):
            weight = -(1 << i) if self.signed and i == self.width - 1 else 1 << i
            if b == TRUE:
                lo += weight
                hi += weight
            elif b != FALSE:
                if weight < 0:
                    lo += weight
                else:
                    hi += weight
        return lo, hi


def _bits_needed(lo: int, hi: int, signed: bool) -> int:
    """Fewest bits (at least 1) of a word of that signedness holding ``[lo, hi]``."""
    if signed:
        return max((v if v >= 0 else ~v).bit_length() + 1 for v in (lo, hi))
    if lo < 0:
        raise CircuitError(f"an unsigned word cannot hold {lo}")
    return max(1, hi.bit_length())


def word_type_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """``(width, signed)`` of the narrowest word holding every integer in ``[lo, hi]``.

    Signed exactly when ``lo < 0``.
    """
    signed = lo < 0
    return _bits_needed(lo, hi, signed), signed


# ---------------------------------------------------------------------- reshaping (no logic)
def extend(w: Word, width: int) -> Word:
    """``w`` widened to ``width`` bits: sign extension if signed, else zeros."""
    if width < w.width:
        raise CircuitError(f"extend: target width {width} is smaller than the word's width {w.width}")
    fill = w.msb if w.signed else FALSE
    return Word(w.bits + (fill,) * (width - w.width), w.signed)


def to_signed(w: Word) -> Word:
    """The same value as a signed word: an unsigned word gains a 0 sign bit."""
    return w if w.signed else Word(w.bits + (FALSE,), True)


def truncate(w: Word, width: int, signed: bool | None = None) -> Word:
    """The low ``width`` bits of ``w`` (the value modulo ``2**width``).

    ``signed`` defaults to ``w.signed``.  Not exact in general: this is the
    only function that may change the value.
    """
    if not 1 <= width <= w.width:
        raise CircuitError(f"truncate: width must lie in [1, {w.width}], found {width}")
    return Word(w.bits[:width], w.signed if signed is None else signed)


def shift_left(w: Word, n: int) -> Word:
    """``w * 2**n`` exactly (``n`` zero bits appended below the LSB)."""
    if n < 0:
        raise CircuitError(f"shift_left: shift must be >= 0, found {n}")
    return Word((FALSE,) * n + w.bits, w.signed)


def align(*words: Word) -> tuple[Word, ...]:
    """The words converted to one signedness and one width, values unchanged.

    Signed if any word is signed (unsigned words then gain a 0 sign bit); the
    width is the largest width after that conversion.
    """
    if any(w.signed for w in words):
        words = tuple(to_signed(w) for w in words)
    width = max(w.width for w in words)
    return tuple(extend(w, width) for w in words)


# ---------------------------------------------------------------------- NAND-shaped gates
def _nand(c: Circuit, a: int, b: int) -> int:
    return c.and_(a, b) ^ 1


def _xor_gates(c: Circuit, a: int, b: int) -> tuple[int, int, int, int]:
    """The four-NAND XOR: ``(t1, t2, t3, x)`` with ``t1 = ~(a&b)``,
    ``t2 = ~(a&~b)``, ``t3 = ~(~a&b)`` and ``x = a ^ b``."""
    t1 = _nand(c, a, b)
    t2 = _nand(c, a, t1)
    t3 = _nand(c, b, t1)
    return t1, t2, t3, _nand(c, t2, t3)


def _xor(c: Circuit, a: int, b: int) -> int:
    """``a ^ b`` as four NAND-shaped nodes reading the free phase of ``a`` and ``b``."""
    flip = 0
    if not c.is_free(a):
        a, flip = a ^ 1, flip ^ 1
    if not c.is_free(b):
        b, flip = b ^ 1, flip ^ 1
    return _xor_gates(c, a, b)[3] ^ flip


def full_adder(c: Circuit, a: int, b: int, cin: int) -> tuple[int, int]:
    """``(sum, carry)`` of three bits: ``a + b + cin == sum + 2 * carry``.

    Nine NAND-shaped AND nodes, which lower to nine NAND2 gates without
    inverters whatever the phases of the inputs.
    """
    costly = [not c.is_free(x) for x in (a, b, cin)]
    if sum(costly) >= 2:
        s, co = _full_adder_one_flip(c, a ^ 1, b ^ 1, cin ^ 1, [not e for e in costly])
        return s ^ 1, co ^ 1
    return _full_adder_one_flip(c, a, b, cin, costly)


def _full_adder_one_flip(c: Circuit, a: int, b: int, cin: int, costly: list[bool]) -> tuple[int, int]:
    """Full adder when at most one input is costly; that one goes to the carry-in port.

    With ``cin = ~q`` (``q`` free) the gates compute ``x ^ q == ~sum``, and
    the carry ``(a & b) | (x & ~q)`` reads ``t5 = ~(x & ~q)`` instead of ``t4``.
    """
    if costly[0]:
        a, cin = cin, a
    elif costly[1]:
        b, cin = cin, b
    flip = int(any(costly))
    q = cin ^ flip
    t1, _, _, x = _xor_gates(c, a, b)
    t4 = _nand(c, x, q)
    t5 = _nand(c, x, t4)
    t6 = _nand(c, q, t4)
    return _nand(c, t5, t6) ^ flip, _nand(c, t1, t5 if flip else t4)


def half_adder(c: Circuit, a: int, b: int) -> tuple[int, int]:
    """``(sum, carry)`` of two bits: ``a + b == sum + 2 * carry``.

    Four NAND-shaped nodes (the XOR, whose first gate is the carry's
    complement) when at least one input is in its free phase, else six.
    """
    ea, eb = not c.is_free(a), not c.is_free(b)
    if ea and eb:
        t1, _, _, x = _xor_gates(c, a ^ 1, b ^ 1)
        return x, c.and_(t1, x ^ 1)  # ~p & ~q == ~(p & q) & (p == q)
    if ea:
        a, b, ea, eb = b, a, eb, ea
    if eb:
        _, t2, _, x = _xor_gates(c, a, b ^ 1)
        return x ^ 1, t2 ^ 1  # a & b == a & ~q == ~t2
    t1, _, _, x = _xor_gates(c, a, b)
    return x, t1 ^ 1


def _majority(c: Circuit, x: int, y: int, z: int) -> int:
    """``maj(x, y, z)`` of three literals.

    Five NAND-shaped nodes when one or two inputs are in their costly phase
    (``maj(a, ~b, g)`` with ``a, b, g`` free), six otherwise (one inverter).
    """
    for lit, other1, other2 in ((x, y, z), (y, x, z), (z, x, y)):
        if lit < 2:
            return c.or_(other1, other2) if lit else c.and_(other1, other2)
    costly = [not c.is_free(v) for v in (x, y, z)]
    if sum(costly) >= 2:
        return _majority(c, x ^ 1, y ^ 1, z ^ 1) ^ 1
    if costly[0]:
        x, y = y, x
    elif costly[2]:
        z, y = y, z
    # maj(a, ~b, g) with a = x, b = ~y, g = z: (a & ~b) | (g & (a | ~b))
    b = y ^ 1
    t1 = _nand(c, x, b)
    u = _nand(c, x, t1)  # ~(a & ~b)
    v = _nand(c, b, t1)  # a | ~b
    return _nand(c, u, _nand(c, z, v))


# ---------------------------------------------------------------------- the sum engine
@dataclass(frozen=True)
class _Terms:
    """Bits of weight ``2**column`` plus one integer constant; their sum is the value."""

    columns: tuple[tuple[int, ...], ...]
    constant: int


def _word_bits(w: Word, factor: int) -> tuple[list[tuple[int, int]], int]:
    """``factor * w`` (factor = +-2**p) as ``[(literal, column)]`` plus a constant."""
    p = abs(factor).bit_length() - 1
    negate = factor < 0
    bits: list[tuple[int, int]] = []
    constant = 0
    last = w.width - 1
    for i, lit in enumerate(w.bits):
        negative = negate != (w.signed and i == last)
        col = i + p
        if lit <= TRUE:
            constant += (-lit if negative else lit) << col
        elif negative:  # -b * 2**col == ~b * 2**col - 2**col
            bits.append((lit ^ 1, col))
            constant -= 1 << col
        else:
            bits.append((lit, col))
    return bits, constant


def csd_digits(k: int) -> list[tuple[int, int]]:
    """The canonical signed digit (non-adjacent form) of ``k``: ``[(digit, position)]``.

    Digits are +-1, no two at adjacent positions, and
    ``sum(d << p for d, p in csd_digits(k)) == k``.  Empty for 0.
    """
    digits = []
    p = 0
    while k:
        if k & 1:
            d = 2 - (k & 3)  # +1 if k = 1 mod 4, -1 if k = 3 mod 4
            digits.append((d, p))
            k -= d
        k >>= 1
        p += 1
    return digits


def signed_digit_columns(terms: Iterable[tuple[int, int]], width: int | None = None
                         ) -> tuple[dict[int, list[int]], int]:
    """``sum(coef * lit)`` as ``({position: literals}, constant)``: one literal per canonical
    signed digit of each coefficient, in the order given; a negative digit is the complemented
    literal (``-2**p * l == 2**p * ~l - 2**p``).  Digits at ``width`` or above are left out."""
    columns: dict[int, list[int]] = defaultdict(list)
    constant = 0
    for lit, coef in terms:
        for sign, shift in csd_digits(coef):
            if width is not None and shift >= width:
                continue
            if sign > 0:
                columns[shift].append(lit)
            else:
                columns[shift].append(lit ^ 1)
                constant -= 1 << shift
    return columns, constant


def weighted_sum(c: Circuit, terms: Sequence[tuple[int, Word]], constant: int = 0) -> Word:
    """``constant + sum(k * w for k, w in terms)`` exactly, in one compressor tree.

    Each constant coefficient is recoded into canonical signed digits, so a
    term costs one row of bits per nonzero digit.  The result is the
    narrowest word holding the range of the sum (signed iff it can be
    negative).
    """
    lo = hi = operator.index(constant)
    bits: list[tuple[int, int]] = []
    for k, w in terms:
        k = operator.index(k)
        wlo, whi = w.value_range()
        lo += min(k * wlo, k * whi)
        hi += max(k * wlo, k * whi)
        for d, p in csd_digits(k):
            more, const = _word_bits(w, d << p)
            bits.extend(more)
            constant += const
    columns: list[list[int]] = [[] for _ in range(max((col for _, col in bits), default=-1) + 1)]
    for lit, col in bits:
        columns[col].append(lit)
    return _sum_in_range(c, columns, constant, lo, hi)


def column_sum(c: Circuit, columns: Sequence[Sequence[int]], constant: int = 0) -> Word:
    """``constant + sum(2**j * popcount(columns[j]))`` exactly, in one compressor tree.

    ``columns[j]`` lists literals of weight ``2**j`` (constants allowed).
    The result is the narrowest word holding the sum's range (signed iff it
    can be negative).  This is the cheapest way to add many weighted bits:
    one carry-save tree over all columns instead of one popcount per column.
    """
    lo = hi = operator.index(constant)
    for j, column in enumerate(columns):
        for lit in column:
            if lit == TRUE:
                lo += 1 << j
            if lit != FALSE:
                hi += 1 << j
    return _sum_in_range(c, columns, constant, lo, hi)


def column_sum_mod(c: Circuit, columns: Sequence[Sequence[int]], constant: int, width: int) -> tuple[int, ...]:
    """The low ``width`` bits of ``constant + sum(2**j * popcount(columns[j]))``, one literal per
    bit, in one compressor tree (columns at or above ``width`` are dropped; the top column keeps
    only its parity)."""
    terms = _Terms(tuple(tuple(col) for col in columns[:width]), constant % (1 << width))
    return _compress(c, terms, width)


def word_terms(w: Word, factor: int = 1) -> tuple[list[tuple[int, int]], int]:
    """``factor * w`` (``factor = +-2**p``) as ``[(literal, column)]`` plus an integer constant
    (a signed word's top bit, or a negative factor, as complemented literals)."""
    return _word_bits(w, factor)


def _sum_in_range(c: Circuit, columns: Sequence[Sequence[int]], constant: int, lo: int, hi: int) -> Word:
    """The sum of ``columns`` and ``constant``, known to lie in ``[lo, hi]``, as the narrowest word."""
    width, signed = word_type_for_range(lo, hi)
    terms = _Terms(tuple(tuple(col) for col in columns[:width]), constant % (1 << width))
    return Word(_compress(c, terms, width), signed)


def _compress(c: Circuit, terms: _Terms, width: int) -> tuple[int, ...]:
    """The low ``width`` bits of the sum of ``terms``, one literal per column.

    Columns are processed LSB first.  Within a column the three earliest
    bits (by an estimate of NAND depth) go into a full adder while three or
    more are left, then two left go into a half adder, so each column costs
    at most one half adder (the fewest its parity allows).  The top column
    keeps only the parity (no carries).  A constant 1 is absorbed for free
    into a bit ``a`` of its column (``a + 1 = 2*a + ~a``).
    """
    state = _Columns(c, width, terms.constant)
    for j, column in enumerate(terms.columns):
        for lit in column:
            state.push(j, lit, 0)
    return tuple(state.reduce(j) for j in range(width))


class _Columns:
    """Mutable state of :func:`_compress`: a depth-ordered heap of bits and a count of ones per column."""

    def __init__(self, c: Circuit, width: int, constant: int):
        self.c = c
        self.width = width
        self.heaps: list[list[tuple[int, int, int]]] = [[] for _ in range(width)]
        self.ones = [(constant >> j) & 1 for j in range(width)] + [0]
        self.order = itertools.count()

    def push(self, col: int, lit: int, depth: int) -> None:
        """Add a bit of weight ``2**col`` (dropped at or above ``width``)."""
        if col >= self.width:
            return
        if lit <= TRUE:
            self.ones[col] += lit
        else:
            heapq.heappush(self.heaps[col], (depth, next(self.order), lit))

    def reduce(self, j: int) -> int:
        """Compress column ``j`` to one literal, sending carries to column ``j + 1``."""
        heap, ones, c = self.heaps[j], self.ones, self.c
        top = j == self.width - 1
        while True:
            ones[j + 1] += ones[j] >> 1
            ones[j] &= 1
            if ones[j] and heap:
                depth, _, a = heapq.heappop(heap)
                ones[j] = 0
                self.push(j, a ^ 1, depth)
                self.push(j + 1, a, depth)
            if len(heap) >= 2 and top:
                (da, _, a), (db, _, b) = heapq.heappop(heap), heapq.heappop(heap)
                self.push(j, _xor(c, a, b), max(da, db) + 3)
            elif len(heap) == 2:
                (da, _, a), (db, _, b) = heapq.heappop(heap), heapq.heappop(heap)
                s, co = half_adder(c, a, b)
                self.push(j, s, max(da, db) + 3)
                self.push(j + 1, co, max(da, db) + 1)
            elif len(heap) >= 3:
                (da, _, a), (db, _, b), (dc, _, cin) = self._pop_three(heap)
                s, co = full_adder(c, a, b, cin)
                d = max(max(da, db) + 3, dc)
                self.push(j, s, d + 3)
                self.push(j + 1, co, d + 2)
            else:
                return heap[0][2] if heap else ones[j]

    def _pop_three(self, heap: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """The three earliest entries, except when four are left.

        Then the full adder's sum and the entry left out meet in a half
        adder, which costs two more gates when both are in their costly
        phase; the sum is costly when an odd number of its inputs are.  So
        if the latest entry is costly and the other three would give a
        costly sum, a free entry is left out instead.
        """
        if len(heap) != 4:
            return [heapq.heappop(heap) for _ in range(3)]
        entries = sorted(heap)
        costly = [not self.c.is_free(e[2]) for e in entries]
        keep = 3
        if costly[3] and sum(costly[:3]) % 2:
            keep = next((i for i in range(3) if not costly[i]), 3)
        heap[:] = [entries[keep]]
        return entries[:keep] + entries[keep + 1:]


# ---------------------------------------------------------------------- sums built on the engine
def add_many(c: Circuit, words: Sequence[Word]) -> Word:
    """The exact sum of ``words`` (any mix of signed, unsigned and constant words).

    One carry-save compressor tree over all bits and one final carry chain.
    The result is the narrowest word holding the sum's range; the constant 0
    for no words.
    """
    return weighted_sum(c, [(1, w) for w in words])


def add(c: Circuit, a: Word, b: Word, method: str = "ripple") -> Word:
    """``a + b`` exactly, ``max(width) + 1`` bits after :func:`align`.

    Signed if either operand is.  ``method`` names the adder architecture;
    ``"ripple"`` (the only one so far) chains full adders.
    """
    if method != "ripple":
        raise CircuitError(f"add: unknown adder method {method!r}; expected one of: 'ripple'")
    a, b = align(a, b)
    return _widen(weighted_sum(c, [(1, a), (1, b)]), a.width + 1, a.signed)


def sub(c: Circuit, a: Word, b: Word) -> Word:
    """``a - b`` exactly: signed, ``max(width) + 1`` bits after :func:`align`."""
    a, b = align(a, b)
    return _widen(weighted_sum(c, [(1, a), (-1, b)]), a.width + 1, True)


def negate(c: Circuit, a: Word) -> Word:
    """``-a`` exactly: signed, ``a.width + 1`` bits."""
    return _widen(weighted_sum(c, [(-1, a)]), a.width + 1, True)


def _widen(w: Word, width: int, signed: bool) -> Word:
    """``w`` extended to ``width`` bits of the given signedness (the value must fit)."""
    if signed and not w.signed:
        w = to_signed(w)
    return extend(w, max(width, w.width))


def popcount(c: Circuit, lits: Sequence[int]) -> Word:
    """The number of true literals as an unsigned word of ``bit_length(len(lits))`` bits (at least 1).

    A compressor tree of full and half adders on the single input column.
    """
    return extend(column_sum(c, [lits]), max(1, len(lits).bit_length()))


def mul_const(c: Circuit, w: Word, k: int) -> Word:
    """``k * w`` exactly, by shift-and-add over the canonical signed digits of ``k``.

    The narrowest word holding the product's range (signed iff it can be negative).
    """
    return weighted_sum(c, [(k, w)])


# ---------------------------------------------------------------------- comparisons
def _check_op(op: str) -> None:
    if op not in COMPARISONS:
        raise CircuitError(f"unknown comparison {op!r}; expected one of: {', '.join(COMPARISONS)}")


def _as_unsigned_offset(w: Word) -> tuple[Word, int]:
    """``(u, offset)`` with ``u`` unsigned and ``value(u) == value(w) + offset``.

    A signed word becomes unsigned by inverting its sign bit (offset ``2**(width-1)``).
    """
    if not w.signed:
        return w, 0
    return Word(w.bits[:-1] + (w.msb ^ 1,), False), 1 << (w.width - 1)


def _ge_const_unsigned(c: Circuit, bits: Sequence[int], k: int) -> int:
    """``value(bits) >= k`` for an unsigned word and ``0 < k < 2**len(bits)``.

    One AND (bit of ``k`` set) or OR (bit clear) per bit of ``k``, LSB first,
    starting at the lowest set bit of ``k``.
    """
    ge = TRUE
    for i, b in enumerate(bits):
        ge = c.and_(b, ge) if (k >> i) & 1 else c.or_(b, ge)
    return ge


_NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
_MIRRORED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def _decided(op: str, a_range: tuple[int, int], b_range: tuple[int, int]) -> int | None:
    """``TRUE``/``FALSE`` if the value ranges alone decide ``a <op> b``, else None."""
    (alo, ahi), (blo, bhi) = a_range, b_range
    if op == ">=":
        return TRUE if alo >= bhi else FALSE if ahi < blo else None
    if op == ">":
        return TRUE if alo > bhi else FALSE if ahi <= blo else None
    if op == "==":
        return FALSE if ahi < blo or bhi < alo else TRUE if alo == ahi == blo == bhi else None
    answer = _decided(_NEGATED[op], a_range, b_range)
    return None if answer is None else answer ^ 1


def compare_const(c: Circuit, w: Word, k: int, op: str) -> int:
    """The literal of ``value(w) <op> k`` for an integer constant ``k``.

    ``op`` is one of :data:`COMPARISONS`.  Folds to ``TRUE``/``FALSE`` when
    ``w.value_range()`` decides the answer (e.g. ``k`` outside the range).
    Ordering tests are a chain of one AND/OR per bit of ``k``, equality an
    AND of the bits in the phases of ``k``.
    """
    _check_op(op)
    k = operator.index(k)
    answer = _decided(op, w.value_range(), (k, k))
    if answer is not None:
        return answer
    u, off = _as_unsigned_offset(w)
    if op in ("==", "!="):
        target = k + off
        eq = c.and_many(b if (target >> i) & 1 else b ^ 1 for i, b in enumerate(u.bits))
        return eq ^ (op == "!=")
    # every remaining op is ``w >= t`` or its complement
    threshold, negated = {">=": (k, 0), ">": (k + 1, 0), "<": (k, 1), "<=": (k + 1, 1)}[op]
    return _ge_const_unsigned(c, u.bits, threshold + off) ^ negated


def _ge_unsigned(c: Circuit, a: Sequence[int], b: Sequence[int]) -> int:
    """``value(a) >= value(b)`` for unsigned words of equal width: the carry of ``a - b``.

    LSB first, ``ge' = maj(a_i, ~b_i, ge)``: five NAND-shaped nodes per bit.
    """
    ge = TRUE
    for ai, bi in zip(a, b):
        ge = _majority(c, ai, bi ^ 1, ge)
    return ge


def compare(c: Circuit, a: Word, b: Word, op: str) -> int:
    """The literal of ``value(a) <op> value(b)``, exact for any mix of signedness.

    Folds to ``TRUE``/``FALSE`` when the value ranges decide the answer.
    Ordering tests are the carry chain of ``a - b`` (five NAND-shaped nodes
    per bit), equality an AND of XNORs.
    """
    _check_op(op)
    answer = _decided(op, a.value_range(), b.value_range())
    if answer is not None:
        return answer
    kb = b.const_value()
    if kb is not None:
        return compare_const(c, a, kb, op)
    ka = a.const_value()
    if ka is not None:
        return compare_const(c, b, ka, _MIRRORED[op])
    a, b = align(a, b)
    (ua, _), (ub, _) = _as_unsigned_offset(a), _as_unsigned_offset(b)
    if op in ("==", "!="):
        eq = c.and_many(_xor(c, x, y) ^ 1 for x, y in zip(ua.bits, ub.bits))
        return eq ^ (op == "!=")
    if op in (">=", "<"):
        return _ge_unsigned(c, ua.bits, ub.bits) ^ (op == "<")
    return _ge_unsigned(c, ub.bits, ua.bits) ^ (op == ">")


# ---------------------------------------------------------------------- selection
def mux(c: Circuit, sel: int, then: Word, else_: Word) -> Word:
    """``then if sel else else_``, both aligned to a common width and signedness first."""
    then, else_ = align(then, else_)
    return Word(tuple(c.mux(sel, t, e) for t, e in zip(then.bits, else_.bits)), then.signed)


def maximum(c: Circuit, a: Word, b: Word) -> Word:
    """The larger of ``a`` and ``b`` (aligned word)."""
    return mux(c, compare(c, a, b, ">="), a, b)


def maximum_many(c: Circuit, words: Sequence[Word]) -> Word:
    """The largest of several unsigned words, bit by bit from the top.

    Bit ``j`` of the maximum is the OR of bit ``j`` over the words still in
    the running (those equal to the maximum on the bits above); a word
    drops out where its bit is 0 and the maximum's is 1.  About five gates
    per word and bit, against a comparator and a multiplexer per pair of
    words in a tree of :func:`maximum`.
    """
    if not words:
        raise CircuitError("maximum_many: expected at least one word, found none")
    if any(w.signed for w in words):
        raise CircuitError("maximum_many: expected unsigned words, found a signed one")
    width = max(w.width for w in words)
    bits = [extend(w, width).bits for w in words]
    alive = [TRUE] * len(words)
    out = [FALSE] * width
    for j in reversed(range(width)):
        out[j] = c.or_many(c.and_(a, b[j]) for a, b in zip(alive, bits))
        if j:
            alive = [c.and_(a, c.or_(b[j], out[j] ^ 1)) for a, b in zip(alive, bits)]
    return Word(tuple(out), False)


def minimum(c: Circuit, a: Word, b: Word) -> Word:
    """The smaller of ``a`` and ``b`` (aligned word)."""
    return mux(c, compare(c, a, b, "<="), a, b)


def argmax(c: Circuit, words: Sequence[Word]) -> Word:
    """Index of the first maximal word (ties go to the lowest index, as ``torch.argmax``).

    A tournament tree of (value, index) pairs: neighbours are paired so the
    left entry always holds lower indices, and the right one wins only if it
    is strictly greater.  Unsigned, ``bit_length(len(words) - 1)`` bits (at
    least 1).
    """
    if not words:
        raise CircuitError("argmax: expected at least one word, found none")
    iw = max(1, (len(words) - 1).bit_length())
    level = [(w, Word.const(i, iw, False)) for i, w in enumerate(words)]
    while len(level) > 1:
        nxt = []
        for (lv, li), (rv, ri) in zip(level[0::2], level[1::2]):
            right_wins = compare(c, rv, lv, ">")
            nxt.append((mux(c, right_wins, rv, lv), mux(c, right_wins, ri, li)))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0][1]


# ---------------------------------------------------------------------- threshold builders
# Three constructions of popcount(lits) >= threshold (a binarized neuron); the nnsynth
# pass prices all three and keeps the cheapest.
def compare_threshold(c: Circuit, lits: Sequence[int], threshold: int) -> int:
    """``popcount(lits) >= threshold`` as the frontend builds it: a popcount word, then a comparison."""
    return compare_const(c, popcount(c, list(lits)), threshold, ">=")


def popcount_at_least(c: Circuit, lits: Sequence[int], threshold: int) -> int:
    """The literal of ``popcount(lits) >= threshold``, without a comparator.

    ``count + 2**k - threshold`` (``k = len(lits).bit_length()``) reaches
    ``2**k`` exactly when ``count >= threshold``, and stays below
    ``2**(k + 1)``; its bit ``k`` is the answer.
    """
    n = len(lits)
    if threshold <= 0:
        return TRUE
    if threshold > n:
        return FALSE
    k = n.bit_length()
    total = column_sum(c, [list(lits)], (1 << k) - threshold)
    return total.bits[k] if total.width > k else FALSE


def _merge_sort_pairs(n: int) -> list[tuple[int, int]]:
    """Comparators of Batcher's odd-even merge sort on ``n`` (a power of two) wires."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def sorting_threshold(c: Circuit, lits: Sequence[int], threshold: int) -> int:
    """The literal of ``popcount(lits) >= threshold`` as output ``threshold - 1`` of a
    sorting network (largest first); unused comparators are never read."""
    n = len(lits)
    if threshold <= 0:
        return TRUE
    if threshold > n:
        return FALSE
    size = 1 << max(0, (n - 1).bit_length())
    wires = list(lits) + [FALSE] * (size - n)
    for i, j in _merge_sort_pairs(size):
        wires[i], wires[j] = c.or_(wires[i], wires[j]), c.and_(wires[i], wires[j])
    return wires[threshold - 1]


def shared_popcounts(c: Circuit, rows: Sequence[Sequence[int]]) -> list[Word]:
    """Popcount words of many rows of literals over shared inputs.

    Every row's literals are put in one global order (by node), so all
    compressor trees group the same inputs in the same way and their equal
    partial sums (equal up to complement, which the NAND-shaped adders
    normalize) are shared by hash-consing.
    """
    return [popcount(c, sorted(row, key=lambda lit: (lit >> 1, lit & 1))) for row in rows]


def shared_threshold(c: Circuit, total: Word, inputs: Sequence[int], phases: Sequence[int],
                     threshold: int) -> int:
    """``[sum_i (inputs[i] ^ phases[i]) >= threshold]`` given ``total = popcount(inputs)``.

    With ``P`` the inputs of phase 0 and ``N`` those of phase 1, the literal
    count is ``S - 2 #(x on N) + |N|`` and also ``2 #(x on P) - S + |N|``; the
    rarer side is counted at weight 2 together with ``S`` (or ``~S``) and a
    constant in one compressor tree, and only the carry into the top bit is
    built (as in :func:`popcount_at_least`).
    """
    k = len(inputs)
    neg = [x for x, p in zip(inputs, phases) if p]
    pos = [x for x, p in zip(inputs, phases) if not p]
    sbits = list(total.bits)
    w = len(sbits)
    if len(neg) <= len(pos):
        # S + 2 * #(~x on N) - 2|N| + |N| >= T  <=>  S + 2 * #(~x on N) >= T + |N|
        word_bits, side, target = sbits, [x ^ 1 for x in neg], threshold + len(neg)
    else:
        # 2 #(x on P) - S + |N| >= T  <=>  2 #(x on P) + (2^w - 1 - S) >= T - |N| + 2^w - 1
        word_bits, side, target = [b ^ 1 for b in sbits], list(pos), threshold - (k - len(pos)) + (1 << w) - 1
    top = (1 << w) - 1 + 2 * len(side)
    if target <= 0:
        return TRUE
    if target > top:
        return FALSE
    kk = top.bit_length()
    columns = [[b] for b in word_bits] + [[] for _ in range(max(0, kk + 1 - w))]
    columns[1] = columns[1] + side
    s = column_sum(c, columns, (1 << kk) - target)
    return s.bits[kk] if s.width > kk else FALSE
