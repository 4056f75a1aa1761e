"""Integer codes straight to the JIT's vector layout and back, compiled with numba.

A stage of a program receives integer codes, ``(samples, elements)``, each
``width`` bits wide, and returns codes.  The generic route goes through one
byte per sample and bit (``codes -> (samples, bits) uint8 -> transpose ->
pack``) and back, which costs far more than the netlist on large stages: 90%
of a 32×32 CNN's run time.  These loops read each code once and write each
64-bit lane once:

* :func:`pack_codes` fills rows ``row0 .. row0 + elements·width - 1`` of a
  ``(vectors, rows, 4)`` uint64 array (:mod:`.packing`'s layout: sample ``s``
  is bit ``s % 64`` of lane ``(s // 64) % 4`` of vector ``s // 256``), bit
  ``j`` of element ``e`` in row ``row0 + e·width + j``;
* :func:`unpack_codes` reads such rows back into int64 codes, two's
  complement when asked.

Both are plain Python when numba is missing (slow, same results).
"""

from __future__ import annotations

import threading

import numpy as np

from nandc.backends.llvm.loops import njit
from nandc.backends.llvm.packing import LANES, SAMPLES_PER_VECTOR
from nandc.errors import BackendError

__all__ = ["pack_codes", "unpack_codes"]


@njit(cache=True, nogil=True)
def _pack(codes, width, row0, out):
    samples, elements = codes.shape
    acc = np.zeros(elements * width, dtype=np.uint64)
    for first in range(0, -(-samples // 256) * 256, 64):  # every lane of the last vector
        acc[:] = 0
        for t in range(max(0, min(64, samples - first))):
            shift = np.uint64(t)
            for e in range(elements):
                c = np.uint64(codes[first + t, e])
                for j in range(width):  # branch-free: random bits would defeat the predictor
                    acc[e * width + j] |= ((c >> np.uint64(j)) & np.uint64(1)) << shift
        vector = first // 256
        lane = (first // 64) % 4
        for k in range(elements * width):
            out[vector, row0 + k, lane] = acc[k]


@njit(cache=True, nogil=True)
def _unpack(vectors, row0, elements, width, signed, out):
    samples = out.shape[0]
    words = np.empty(elements * width, dtype=np.uint64)
    for first in range(0, samples, 64):
        vector = first // 256
        lane = (first // 64) % 4
        for k in range(elements * width):
            words[k] = vectors[vector, row0 + k, lane]
        for t in range(min(64, samples - first)):
            shift = np.uint64(t)
            for e in range(elements):
                value = 0
                for j in range(width):
                    value |= np.int64((words[e * width + j] >> shift) & np.uint64(1)) << j
                if signed and (value >> (width - 1)) & 1:
                    value -= np.int64(1) << width
                out[first + t, e] = value


#: Samples below which one thread packs or unpacks alone (a thread costs more than it saves).
PARALLEL_SAMPLES = 1 << 15


def _spans(samples: int, threads: int) -> list[tuple[int, int]]:
    """Contiguous sample ranges, cut at whole vectors, one per thread."""
    vectors = -(-samples // SAMPLES_PER_VECTOR)
    parts = max(1, min(threads, samples // PARALLEL_SAMPLES, vectors))
    edges = [min(samples, (vectors * i // parts) * SAMPLES_PER_VECTOR) for i in range(parts + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _in_threads(work, spans: list[tuple[int, int]]) -> None:
    """``work(first, last)`` for every span, on threads when there are several (the loops release the GIL)."""
    if len(spans) == 1:
        work(*spans[0])
        return
    workers = [threading.Thread(target=work, args=span) for span in spans]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def pack_codes(codes: np.ndarray, width: int, out: np.ndarray, row0: int = 0, threads: int = 1) -> None:
    """Write unsigned ``codes`` ``(samples, elements)`` into rows of ``out`` (vector layout).

    Requires codes that fit ``width`` bits (not checked: the caller built
    them so) and ``out`` of shape ``(vectors, rows, 4)`` uint64 with at least
    ``samples`` sample slots and ``row0 + elements·width`` rows.  Ensures
    that the rows written hold 0 for the padding samples of the last vector.
    """
    codes = np.ascontiguousarray(codes)
    if codes.ndim != 2 or codes.dtype.kind not in "ub":
        raise BackendError(f"expected unsigned codes of shape (samples, elements), found {codes.dtype} {codes.shape}")
    samples, elements = codes.shape
    if not 1 <= width <= 63 or out.ndim != 3 or out.shape[2] != LANES or out.dtype != np.uint64:
        raise BackendError(f"cannot pack {width}-bit codes into an array of {out.dtype} {out.shape}")
    if out.shape[0] * SAMPLES_PER_VECTOR < samples or out.shape[1] < row0 + elements * width:
        raise BackendError(f"{samples} samples of {elements}x{width} bits from row {row0} do not fit "
                           f"vectors of shape {out.shape}")
    if codes.dtype == np.bool_:
        codes = codes.view(np.uint8)

    def work(first: int, last: int) -> None:
        v = first // SAMPLES_PER_VECTOR
        _pack(codes[first:last], width, row0, out[v:])

    _in_threads(work, _spans(samples, threads))


def unpack_codes(vectors: np.ndarray, samples: int, row0: int, elements: int, width: int,
                 signed: bool = False, threads: int = 1) -> np.ndarray:
    """Read ``elements`` codes of ``width`` bits from rows ``row0 ..`` of ``vectors``: int64 ``(samples, elements)``."""
    if not 1 <= width <= 63:
        raise BackendError(f"codes of {width} bits cannot be read as int64 words")
    if vectors.shape[0] * SAMPLES_PER_VECTOR < samples or vectors.shape[1] < row0 + elements * width:
        raise BackendError(f"{samples} samples of {elements}x{width} bits from row {row0} are not in "
                           f"vectors of shape {vectors.shape}")
    out = np.empty((samples, elements), dtype=np.int64)

    def work(first: int, last: int) -> None:
        _unpack(vectors[first // SAMPLES_PER_VECTOR:], row0, elements, width, bool(signed), out[first:last])

    _in_threads(work, _spans(samples, threads))
    return out
