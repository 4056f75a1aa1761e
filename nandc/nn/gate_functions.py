"""The 16 Boolean functions of two inputs, their real-valued extensions and names.

A function is identified by its truth table ``t`` in 0..15: ``f(a, b)`` is bit
``2 * a + b`` of ``t``.  So ``NAND = 0b0111 = 7`` (false only at ``a = b = 1``),
``AND = 8``, ``OR = 14``, ``XOR = 6``.

Every such function has a unique multilinear extension to reals,
``f(a, b) = c0 + c1 * a + c2 * b + c3 * a * b`` with integer coefficients
(:func:`coefficients`).  On 0/1 inputs it gives exactly 0.0 or 1.0 in floating
point, which is what makes the hardened torch layers bit-exact; on
probabilities it is the probabilistic relaxation difflogic uses
(``P(f(A, B))`` for independent ``A``, ``B``).
"""

from __future__ import annotations

from nandc.errors import NandcError

__all__ = ["LogicConfigError", "NUM_FUNCTIONS", "FALSE_FN", "AND_FN", "XOR_FN", "OR_FN", "NAND_FN",
           "TRUE_FN", "FUNCTION_NAMES", "evaluate", "coefficients", "function_name"]


class LogicConfigError(NandcError, ValueError):
    """A soft-logic layer, schedule or truth table was given invalid parameters."""


NUM_FUNCTIONS = 16
FALSE_FN, AND_FN, XOR_FN, OR_FN, NAND_FN, TRUE_FN = 0, 8, 6, 14, 7, 15

#: readable name of each truth table (``~`` is NOT)
FUNCTION_NAMES: tuple[str, ...] = (
    "0", "NOR", "~a&b", "~a", "a&~b", "~b", "XOR", "NAND",
    "AND", "XNOR", "b", "~a|b", "a", "a|~b", "OR", "1",
)


def evaluate(t: int, a: int, b: int) -> int:
    """``f_t(a, b)`` for bits ``a``, ``b``."""
    return (int(t) >> (2 * int(a) + int(b))) & 1


def coefficients(t: int) -> tuple[int, int, int, int]:
    """``(c0, c1, c2, c3)`` with ``f_t(a, b) = c0 + c1*a + c2*b + c3*a*b`` on bits (and its extension)."""
    f00, f01, f10, f11 = (evaluate(t, a, b) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)))
    return f00, f10 - f00, f01 - f00, f11 - f10 - f01 + f00


def function_name(t: int) -> str:
    """Readable name of truth table ``t`` (``"NAND"``, ``"a&~b"``...)."""
    if not 0 <= int(t) < NUM_FUNCTIONS:
        raise LogicConfigError(f"a two-input Boolean function is a truth table in 0..15, found {t}")
    return FUNCTION_NAMES[int(t)]
