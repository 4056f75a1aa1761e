"""Packing samples into bit slices and converting bus words to integers.

A *bit slice* holds one signal's value for many samples: sample ``s`` is bit
``s % 64`` of 64-bit word ``s // 64``.  ``pack_samples`` turns a
``(samples, signals)`` 0/1 matrix into ``(signals, words)`` uint64 slices
without any Python loop per sample; ``unpack_samples`` is its inverse.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import CircuitError

__all__ = ["pack_samples", "unpack_samples", "words_to_bits", "bits_to_words", "num_words", "codes_to_bits"]


def num_words(num_samples: int, lanes: int = 64) -> int:
    """Number of ``lanes``-bit words needed for ``num_samples`` samples."""
    return (num_samples + lanes - 1) // lanes


def pack_samples(bits: np.ndarray, words: int | None = None) -> np.ndarray:
    """``(samples, signals)`` 0/1 array -> ``(signals, words)`` uint64 bit slices.

    ``words`` pads the result to at least that many words (zeros).
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise CircuitError(f"expected a 2-D (samples, signals) bit array, found shape {bits.shape}")
    n, m = bits.shape
    w = max(num_words(n), words or 0)
    padded = np.zeros((m, w * 64), dtype=np.uint8)
    padded[:, :n] = bits.T != 0
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_samples(slices: np.ndarray, num_samples: int) -> np.ndarray:
    """``(signals, words)`` uint64 bit slices -> ``(num_samples, signals)`` uint8 0/1."""
    slices = np.ascontiguousarray(slices, dtype=np.uint64)
    if slices.ndim != 2:
        raise CircuitError(f"expected a 2-D (signals, words) array, found shape {slices.shape}")
    if num_samples > slices.shape[1] * 64:
        raise CircuitError(f"{num_samples} samples asked for, but only {slices.shape[1] * 64} are packed")
    as_bytes = slices.astype("<u8", copy=False).view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :num_samples]
    return np.ascontiguousarray(bits.T)


def words_to_bits(values: np.ndarray, width: int, signed: bool = False, where: str = "value") -> np.ndarray:
    """Integers ``(..., )`` -> bits ``(..., width)``, LSB first (two's complement if signed).

    Raises :class:`CircuitError` if a value does not fit in ``width`` bits.
    """
    v = np.asarray(values)
    if v.dtype.kind not in "iub":
        if v.dtype.kind == "f" and np.all(np.isfinite(v)) and np.all(v == np.round(v)):
            v = v.astype(np.int64)
        else:
            raise CircuitError(f"{where}: expected integer values, found dtype {v.dtype}")
    v = v.astype(np.int64)
    if width > 63:
        raise CircuitError(f"{where}: words of {width} bits cannot be given as integers; pass bits")
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if width == 0:
        lo = hi = 0
    if v.size and (v.min() < lo or v.max() > hi):
        raise CircuitError(
            f"{where}: values must lie in [{lo}, {hi}] for {'a signed' if signed else 'an unsigned'} "
            f"{width}-bit word, found [{int(v.min())}, {int(v.max())}]"
        )
    shifts = np.arange(width, dtype=np.int64)
    return ((v[..., None] >> shifts) & 1).astype(np.uint8)


def bits_to_words(bits: np.ndarray, signed: bool = False) -> np.ndarray:
    """Bits ``(..., width)`` LSB first -> int64 ``(...)`` (two's complement if signed)."""
    b = np.asarray(bits)
    width = b.shape[-1]
    if width > 63:
        raise CircuitError(f"words of {width} bits do not fit in int64; read the bits instead")
    v = np.zeros(b.shape[:-1], dtype=np.int64)
    for j in range(width):  # one pass per bit: no int64 copy of the whole bit array
        v |= b[..., j].astype(np.int64) << j
    if signed and width:
        v -= b[..., -1].astype(np.int64) << width
    return v


def codes_to_bits(codes: np.ndarray, width: int) -> np.ndarray:
    """Unsigned codes ``(N, ...)`` known to fit ``width`` bits -> bits ``(N, ...*width)`` uint8, LSB first.

    The fast path for data the caller has already range-checked (no checks here).
    """
    codes = np.asarray(codes)
    n = codes.shape[0]
    if width == 1:
        return codes.astype(np.uint8, copy=False).reshape(n, -1)
    small = codes.astype(np.uint8 if width <= 8 else np.uint16 if width <= 16 else np.uint32 if width <= 32
                        else np.uint64, copy=False)
    shifts = np.arange(width, dtype=small.dtype)
    return ((small[..., None] >> shifts) & 1).astype(np.uint8).reshape(n, -1)
