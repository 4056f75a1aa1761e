"""Exact integer building blocks the converters share.

:func:`linear_form` turns ``const + sum(coef_i * lit_i)`` (integer coefficients,
Boolean literals) into ``a * S + b`` with ``S`` an unsigned Word: negative
coefficients become complemented literals, every coefficient is split into
canonical signed digits, equal-weight literals share a column, and the columns
are added by one carry-save compressor.  A dot product of constant weights
with +-1 activations becomes ``2 * popcount(...) - n``: no XNOR gates at all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from nandc.ir.circuit import Circuit
from nandc.ir import words
from nandc.ir.words import Word

__all__ = ["linear_form", "explicit_word", "LinearForm"]


class LinearForm:
    """``value = a * word + b`` with ``word`` unsigned and ``0 <= word <= hi``."""

    __slots__ = ("word", "a", "b", "hi")

    def __init__(self, word: Word, a: int, b: int, hi: int):
        self.word, self.a, self.b, self.hi = word, a, b, hi


def linear_form(c: Circuit, terms: Iterable[tuple[int, int]], const: int = 0) -> LinearForm:
    """Build ``const + sum(coef * lit)`` exactly as ``a * S + b``.

    ``terms`` are ``(literal, integer coefficient)`` pairs.  ``a`` is the
    largest power of two dividing every column (so a pure popcount with
    coefficient 2 gives ``a = 2``) and ``hi`` the largest value ``S`` takes.

    Coefficients that share an odd part ``m > 1`` (a 4-bit weight 3 times the
    bits of many codes) are first summed on their own into ``S_m`` when that
    is cheaper (:func:`_worth_grouping`); ``m * S_m`` then costs one row of
    ``S_m``'s few bits per signed digit of ``m`` instead of one row per term.
    """
    positive: list[tuple[int, int]] = []
    for lit, coef in terms:
        if coef == 0:
            continue
        if coef < 0:  # coef*lit = |coef|*~lit - |coef|
            lit ^= 1
            const += coef
            coef = -coef
        if lit < 2:  # constant literal
            const += coef * lit
            continue
        positive.append((lit, coef))
    by_odd: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lit, coef in positive:
        shift = (coef & -coef).bit_length() - 1
        by_odd[coef >> shift].append((lit, shift))
    direct: list[tuple[int, int]] = []
    for m, items in by_odd.items():
        if m > 1 and _worth_grouping(m, items):
            base = min(shift for _, shift in items)
            cols: list[list[int]] = [[] for _ in range(max(shift for _, shift in items) - base + 1)]
            for lit, shift in items:
                cols[shift - base].append(lit)
            group = words.column_sum(c, cols)  # S_m / 2**base, unsigned
            direct.extend((bit, m << (base + i)) for i, bit in enumerate(group.bits))
        else:
            direct.extend((lit, m << shift) for lit, shift in items)
    columns, digits_const = words.signed_digit_columns(direct)
    const += digits_const
    if not columns:
        return LinearForm(Word((), False), 1, const, 0)
    base = min(columns)
    hi = sum(len(col) << (k - base) for k, col in columns.items())
    top = max(columns)
    word = words.column_sum(c, [columns.get(k, []) for k in range(base, top + 1)])
    word = Word(word.bits[: max(1, hi.bit_length())], False) if len(word.bits) > hi.bit_length() else word
    return LinearForm(word, 1 << base, const, hi)


def _worth_grouping(m: int, items: list[tuple[int, int]]) -> bool:
    """Whether ``m * sum(2**shift * lit)`` is cheaper summed first (see :func:`linear_form`).

    Directly, each of the ``n`` terms puts one bit per signed digit of ``m``
    into the compressor; grouped, the ``n`` bits are compressed to a ``w``-bit
    sum (plus its final carry chain, about ``w`` more adders), whose bits go in
    once per digit: worth it when ``(n - w) * (digits - 1) > w``.
    """
    digits = len(words.csd_digits(m))
    if digits < 2:
        return False
    n = len(items)
    base = min(shift for _, shift in items)
    w = sum(1 << (shift - base) for _, shift in items).bit_length()
    return (n - w) * (digits - 1) > w


def explicit_word(c: Circuit, word: Word, a: int, b: int) -> Word:
    """The signed Word of ``a * word + b`` (``a`` a positive integer)."""
    scaled = words.mul_const(c, word, a) if a != 1 else word
    if b == 0:
        return words.to_signed(scaled) if not scaled.signed else scaled
    return words.add(c, scaled, Word.const(b, signed=True))


def relu_word(c: Circuit, w: Word) -> Word:
    """``max(w, 0)`` as an unsigned word."""
    if not w.signed:
        return w
    keep = w.msb ^ 1
    return Word(tuple(c.and_(bit, keep) for bit in w.bits[:-1]), False)


def abs_word(c: Circuit, w: Word) -> Word:
    """``|w|`` as an unsigned word (one bit wider only where needed)."""
    if not w.signed:
        return w
    neg = words.negate(c, w)
    m = words.mux(c, w.msb, neg, w)
    return Word(m.bits[: w.width], False)  # |w| <= 2**(width-1) fits in width unsigned bits


def divide_round_half_even(c: Circuit, num: Word, den: Word, qbits: int) -> Word:
    """``round_half_even(num / den)`` for unsigned words with ``num < den * 2**qbits``.

    Restoring division, one quotient bit per step from the top: before the
    step for bit ``k`` the remainder is below ``den * 2**(k+1)``, so only its
    bits from ``k`` up (at most ``den.width + 1`` of them) meet ``den`` in a
    ``den.width + 1``-bit subtraction whose sign is the quotient bit; after
    it the remainder is below ``den * 2**k``.  The rounding compares twice
    the final remainder with ``den``.  Returns ``qbits + 1`` bits; a zero
    divisor gives 0 (whatever ``num`` is).
    """
    n = den.width
    r = list(words.extend(num, n + qbits).bits[: n + qbits])  # num < den * 2**qbits fits
    q = [0] * qbits
    for k in reversed(range(qbits)):
        top = Word(tuple(r[k: k + n + 1]), False)  # remainder >> k, below 2 * den
        diff = words.sub(c, top, den)
        ge = diff.msb ^ 1
        kept = words.mux(c, ge, Word(diff.bits[:n], False), Word(top.bits[:n], False))
        r[k: k + n + 1] = list(kept.bits) + [0]
        q[k] = ge
    rem = Word(tuple(r[:n]), False)  # below den
    twice = words.sub(c, words.shift_left(rem, 1), den)  # 2 * rem - den
    positive = c.and_(twice.msb ^ 1, c.or_many(twice.bits[:-1]))
    tie = c.and_(twice.msb ^ 1, c.or_many(twice.bits[:-1]) ^ 1)
    up = c.or_(positive, c.and_(tie, q[0]))
    rounded = words.add(c, Word(tuple(q), False), Word((up,), False))
    nonzero = c.or_many(den.bits)
    return Word(tuple(c.and_(bit, nonzero) for bit in words.extend(rounded, qbits + 1).bits[: qbits + 1]), False)
