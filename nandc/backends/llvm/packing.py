"""Moving samples in and out of the JIT's vector layout (numpy only).

The JIT evaluates 256 samples at once: every signal is one ``<4 x i64>``
vector, and sample ``s`` of a *sample vector* is bit ``s % 64`` of 64-bit lane
``s // 64``.  The compiled code reads its inputs and writes its outputs in the
**vector layout**: a C-contiguous uint64 array of shape
``(vectors, signals, 4)``, where ``[v, i, :]`` holds signal ``i`` for samples
``256 * v .. 256 * v + 255``.  All bytes of one sample vector are adjacent, so
the code addresses every signal at a constant offset from the vector's base.

Every conversion here is vectorized (``packbits`` / ``unpackbits`` and
transposes); there is no Python loop per sample.  Padding samples (up to the
next multiple of 256) are zero on the way in and dropped on the way out.
"""

from __future__ import annotations

import sys

import numpy as np

from nandc.errors import BackendError

__all__ = [
    "LANES",
    "SAMPLES_PER_VECTOR",
    "num_vectors",
    "aligned_empty",
    "aligned_contiguous",
    "pack_inputs",
    "unpack_outputs",
    "slices_to_vectors",
    "vectors_to_slices",
]

LANES = 4
"""64-bit lanes per sample vector."""

SAMPLES_PER_VECTOR = 64 * LANES
"""Samples evaluated by one pass of the compiled code."""

ALIGNMENT = 32
"""Byte alignment of every buffer handed to the compiled code (one vector)."""


def num_vectors(num_samples: int) -> int:
    """Sample vectors needed to hold ``num_samples`` samples (0 for 0)."""
    if num_samples < 0:
        raise BackendError(f"expected a sample count >= 0, found {num_samples}")
    return -(-num_samples // SAMPLES_PER_VECTOR)


def aligned_empty(shape: tuple[int, ...], dtype=np.uint64) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on a 32-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = (-raw.ctypes.data) % ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def aligned_contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` as a C-contiguous uint64 array on a 32-byte boundary (copied only if needed)."""
    if (array.dtype == np.uint64 and array.flags.c_contiguous
            and array.ctypes.data % ALIGNMENT == 0):
        return array
    out = aligned_empty(array.shape)
    out[...] = array
    return out


#: Sample vectors transposed at a time by :func:`pack_inputs` (small enough to stay in cache).
PACK_BLOCK = 64


def pack_inputs(bits: np.ndarray) -> np.ndarray:
    """``(samples, signals)`` 0/1 array -> ``(vectors, signals, 4)`` uint64 vector layout.

    Requires a 2-D array of zeros and ones (bool, or any integer dtype whose
    non-zero values count as 1).  Ensures an aligned, C-contiguous result
    with ``num_vectors(samples)`` vectors, padding samples set to 0.  Works
    on blocks of :data:`PACK_BLOCK` vectors so that every transpose stays in
    the cache (6x faster than one transpose of the whole batch).
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise BackendError(f"expected a 2-D (samples, signals) bit array, found shape {bits.shape}")
    if bits.dtype != np.bool_ and bits.dtype.itemsize != 1:
        bits = bits != 0
    n, m = bits.shape
    v = num_vectors(n)
    out = aligned_empty((v, m, LANES))
    as_bytes = out.view(np.uint8).reshape(v, m, 8 * LANES)  # little-endian lanes
    for first in range(0, v, PACK_BLOCK):
        last = min(v, first + PACK_BLOCK)
        rows = bits[first * SAMPLES_PER_VECTOR: last * SAMPLES_PER_VECTOR]
        if rows.dtype != np.bool_:
            rows = rows != 0
        if rows.shape[0] < (last - first) * SAMPLES_PER_VECTOR:  # the padded tail
            tail = np.zeros(((last - first) * SAMPLES_PER_VECTOR, m), dtype=np.bool_)
            tail[:rows.shape[0]] = rows
            rows = tail
        per_vector = np.ascontiguousarray(rows.reshape(last - first, SAMPLES_PER_VECTOR, m).transpose(0, 2, 1))
        as_bytes[first:last] = np.packbits(per_vector, axis=2, bitorder="little")
    if sys.byteorder == "big":
        out.byteswap(inplace=True)
    return out


def unpack_outputs(vectors: np.ndarray, num_samples: int) -> np.ndarray:
    """``(vectors, signals, 4)`` uint64 vector layout -> ``(num_samples, signals)`` uint8 0/1.

    Requires ``num_samples <= 256 * vectors``; the padding samples are dropped.
    """
    vectors = _check_vector_layout(vectors)
    v, m, _ = vectors.shape
    if not 0 <= num_samples <= v * SAMPLES_PER_VECTOR:
        raise BackendError(
            f"{num_samples} samples asked for, but {v} vector(s) hold {v * SAMPLES_PER_VECTOR}"
        )
    as_bytes = np.ascontiguousarray(vectors).astype("<u8", copy=False).view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=2, bitorder="little")  # (v, m, 256)
    samples = bits.transpose(0, 2, 1).reshape(v * SAMPLES_PER_VECTOR, m)
    return np.ascontiguousarray(samples[:num_samples])


def slices_to_vectors(slices: np.ndarray) -> np.ndarray:
    """``(signals, words)`` uint64 bit slices (``nandc.ir.bits`` layout) -> vector layout.

    Word ``w`` of a slice holds samples ``64 * w .. 64 * w + 63``; the words are
    padded with zeros to a multiple of 4 and regrouped as ``(words / 4, signals, 4)``,
    :data:`PACK_BLOCK` vectors at a time (cache-sized transposes).
    """
    slices = np.asarray(slices)
    if slices.ndim != 2:
        raise BackendError(f"expected 2-D (signals, words) bit slices, found shape {slices.shape}")
    m, w = slices.shape
    v = -(-w // LANES)
    out = aligned_empty((v, m, LANES))
    for first in range(0, v, PACK_BLOCK):
        last = min(v, first + PACK_BLOCK)
        part = slices[:, first * LANES: last * LANES]
        if part.shape[1] < (last - first) * LANES:  # the padded tail
            tail = np.zeros((m, (last - first) * LANES), dtype=np.uint64)
            tail[:, :part.shape[1]] = part
            part = tail
        out[first:last] = part.reshape(m, last - first, LANES).transpose(1, 0, 2)
    return out


def vectors_to_slices(vectors: np.ndarray, words: int | None = None) -> np.ndarray:
    """Vector layout -> ``(signals, words)`` uint64 bit slices (inverse of :func:`slices_to_vectors`).

    ``words`` trims the result to that many words (default: every word).
    """
    vectors = _check_vector_layout(vectors)
    v, m, _ = vectors.shape
    slices = vectors.transpose(1, 0, 2).reshape(m, v * LANES)
    if words is not None:
        if not 0 <= words <= v * LANES:
            raise BackendError(f"{words} words asked for, but {v} vector(s) hold {v * LANES}")
        slices = slices[:, :words]
    return np.ascontiguousarray(slices)


def _check_vector_layout(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors)
    if vectors.ndim != 3 or vectors.shape[2] != LANES or vectors.dtype != np.uint64:
        raise BackendError(
            f"expected a uint64 array of shape (vectors, signals, {LANES}), "
            f"found {vectors.dtype} {vectors.shape}"
        )
    return vectors
