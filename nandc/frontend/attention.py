"""Fixed-point attention as gates: one query position of one head, exactly as the specification.

Staged programs run attention between kernels as exact integer data movement
(:func:`nandc.ir.fixedpoint.attention`).  This module builds the same
computation as a circuit, to measure what a fully gate-level attention costs
(``benchmarks/bench_lm.py``) and to check the two agree (tests):

* signed int8 dot products ``q . k_u`` as AND partial products in one
  compressor tree each (two's complement sign bits carry negative weights);
* the maximum score, ``delta = max - S``, ``z = delta >> shift``;
* the base-2 exponential: a ``2**F``-entry table (a multiplexer tree over
  the constant entries) and a right shift by ``z >> F``, zero beyond ``P``;
* ``D = sum e``, ``sum e * v`` per dimension, and a rounding divider.
"""

from __future__ import annotations

from typing import Sequence

from nandc.ir.arith import divide_round_half_even, explicit_word, linear_form
from nandc.ir import fixedpoint, words
from nandc.ir.circuit import Circuit
from nandc.ir.words import Word

__all__ = ["signed_dot", "query_attention"]


def _bit_weights(w: Word) -> list[int]:
    """Weight of each bit of a word (two's complement: the sign bit's is negative)."""
    n = w.width
    return [-(1 << i) if w.signed and i == n - 1 else 1 << i for i in range(n)]


def signed_dot(c: Circuit, xs: Sequence[Word], ys: Sequence[Word]) -> Word:
    """``sum x_i * y_i`` of words (signed or not) exactly: AND partial products in one compressor tree."""
    terms = []
    for x, y in zip(xs, ys):
        for wx, bx in zip(_bit_weights(x), x.bits):
            for wy, by in zip(_bit_weights(y), y.bits):
                terms.append((c.and_(bx, by), wx * wy))
    form = linear_form(c, terms)
    return explicit_word(c, form.word, form.a, form.b)


def _table_lookup(c: Circuit, index: Sequence[int], table: Sequence[int], width: int) -> Word:
    """``table[index]`` for an index word (LSB first) over constant entries: a multiplexer tree."""
    level = [Word.const(v, signed=False) for v in table]
    level = [words.extend(w, width) for w in level]
    for bit in index:
        level = [words.mux(c, bit, level[i + 1], level[i]) for i in range(0, len(level), 2)]
    return level[0]


def _shift_right(c: Circuit, w: Word, amount: Sequence[int], limit: int) -> Word:
    """``w >> amount`` (unsigned), 0 once ``amount > limit``: a barrel shifter."""
    out = w
    for k, bit in enumerate(amount):
        step = 1 << k
        shifted = Word(tuple(out.bits[step:]) + (0,) * min(step, out.width), False)
        out = words.mux(c, bit, shifted, out)
    too_far = words.compare_const(c, Word(tuple(amount), False), limit, ">")
    return Word(tuple(c.and_(b, too_far ^ 1) for b in out.bits), False)


def query_attention(c: Circuit, q: Sequence[Word], keys: Sequence[Sequence[Word]],
                    values: Sequence[Sequence[Word]], shift: int, frac_bits: int, prob_bits: int) -> list[Word]:
    """The attention output (one int8 word per dimension) of one query over its keys ``u <= t``."""
    scores = list(words.align(*[signed_dot(c, q, k) for k in keys]))
    # the maximum of signed words: flip the sign bits (an offset of 2**(w-1)), take it unsigned, flip back
    flipped = [Word(s.bits[:-1] + (s.bits[-1] ^ 1,), False) for s in scores]
    best = words.maximum_many(c, flipped)
    top = Word(best.bits[:-1] + (best.bits[-1] ^ 1,), True)
    table = fixedpoint.softmax_table(frac_bits, prob_bits).tolist()
    exps = []
    for s in scores:
        delta = words.sub(c, top, s)  # >= 0
        z = Word(delta.bits[shift:-1] or (0,), False)  # drop the sign bit: delta is never negative
        part = _table_lookup(c, z.bits[:frac_bits] + (0,) * max(0, frac_bits - z.width), table, prob_bits + 1)
        whole = Word(z.bits[frac_bits:] or (0,), False)
        exps.append(_shift_right(c, part, whole.bits, prob_bits))
    den = words.add_many(c, exps)
    out = []
    for d in range(len(values[0])):
        num = signed_dot(c, exps, [v[d] for v in values])
        negative = num.msb if num.signed else 0
        magnitude = words.mux(c, negative, words.negate(c, num), num) if num.signed else num
        # |num| <= 127 * den < 2**(den.width + 7): the higher bits are always 0
        mag = Word(magnitude.bits[: min(num.width, den.width + 8)], False)
        # round half to even of |num| / den, then the sign: ties are symmetric, so this is exact
        q = divide_round_half_even(c, mag, den, 8)
        q = Word(q.bits[:8], False)
        signed = words.mux(c, negative, words.negate(c, q), words.to_signed(q))
        out.append(words.extend(signed, 8) if signed.width < 8 else Word(signed.bits[:8], True))
    return out
