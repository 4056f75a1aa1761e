"""Codes to the JIT's vector layout and back (numba loops) against the byte-per-bit route."""

import numpy as np
import pytest

from nandc.backends.llvm import packing
from nandc.backends.llvm.transpose import pack_codes, unpack_codes
from nandc.errors import BackendError
from nandc.ir.bits import bits_to_words, codes_to_bits


@pytest.mark.parametrize("samples", [1, 63, 64, 65, 255, 256, 257, 1000])
@pytest.mark.parametrize("width", [1, 3, 8, 12])
def test_pack_codes_equals_bit_route(samples, width):
    rng = np.random.default_rng(samples * 100 + width)
    dtype = np.uint8 if width <= 8 else np.uint16
    codes = rng.integers(0, 1 << width, size=(samples, 5), dtype=dtype)
    out = packing.aligned_empty((packing.num_vectors(samples), 2 + 5 * width, packing.LANES))
    out[...] = np.uint64(0xDEADBEEF)  # rows outside row0.. must be left alone
    pack_codes(codes, width, out, row0=2)
    expected = packing.pack_inputs(codes_to_bits(codes, width))
    assert np.array_equal(out[:, 2:], expected)
    assert np.all(out[:, :2] == 0xDEADBEEF)


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("width", [1, 2, 5, 16, 33])
def test_unpack_codes_equals_bit_route(signed, width):
    rng = np.random.default_rng(width)
    samples = 700
    bits = rng.integers(0, 2, size=(samples, 1 + 4 * width), dtype=np.uint8)
    vectors = packing.pack_inputs(bits)
    got = unpack_codes(vectors, samples, row0=1, elements=4, width=width, signed=signed)
    expected = bits_to_words(bits[:, 1:].reshape(samples, 4, width), signed)
    assert got.dtype == np.int64 and np.array_equal(got, expected)


def test_threads_split_whole_vectors(monkeypatch):
    from nandc.backends.llvm import transpose

    monkeypatch.setattr(transpose, "PARALLEL_SAMPLES", 300)
    rng = np.random.default_rng(7)
    samples = 5 * 256 + 17
    codes = rng.integers(0, 16, size=(samples, 3), dtype=np.uint8)
    assert len(transpose._spans(samples, 3)) == 3
    out = packing.aligned_empty((packing.num_vectors(samples), 12, packing.LANES))
    out[-1] = 0
    pack_codes(codes, 4, out, threads=3)
    assert np.array_equal(out, packing.pack_inputs(codes_to_bits(codes, 4)))
    assert np.array_equal(unpack_codes(out, samples, 0, 3, 4, threads=3), codes.astype(np.int64))


def test_bad_shapes_are_refused():
    out = packing.aligned_empty((1, 4, packing.LANES))
    with pytest.raises(BackendError, match="do not fit"):
        pack_codes(np.zeros((300, 1), np.uint8), 4, out)
    with pytest.raises(BackendError, match="unsigned codes"):
        pack_codes(np.zeros((3, 1), np.int64), 4, out)
    with pytest.raises(BackendError, match="are not in"):
        unpack_codes(out, 10, 2, 1, 4)


def test_max_pool_of_codes_equals_max_of_values():
    """The per-channel shortcut of execute's max pooling against the max of exact values."""
    from nandc.ir.execute import _max_pool, window_cells
    from nandc.ir.program import MaxPool, Tensor, Window

    rng = np.random.default_rng(3)
    shape = (3, 7, 6)
    a = np.broadcast_to(np.array([1, 2, 5])[:, None, None], shape)
    b = np.broadcast_to(np.array([-3, 0, 4])[:, None, None], shape)
    src = Tensor("x", shape, a, b, np.full(shape, 9), 1.0)
    codes = rng.integers(0, 10, size=(4,) + shape).astype(np.uint8)
    for window in (Window((2, 2), (2, 2)), Window((3, 3), (2, 1), (1, 1)), Window((2, 2), (1, 1), (0, 0), (2, 2))):
        oh, ow = window.output_size(7, 6)
        dst = Tensor("y", (3, oh, ow), a[:, :oh, :ow], b[:, :oh, :ow], np.full((3, oh, ow), 9), 1.0)
        got = _max_pool(MaxPool("x", "y", window), src, dst, codes)
        cells = window_cells(src.values(codes), window, np.iinfo(np.int64).min)
        top = cells.reshape(cells.shape[:4] + (-1,)).max(axis=-1).transpose(0, 3, 1, 2)
        assert np.array_equal(dst.values(got), top)
