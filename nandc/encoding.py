"""Input encodings: float model inputs -> the integer codes a circuit's input bus carries.

Pure numpy, so a saved model runs without torch.  Each encoding is a small
dict produced by the model's input quantizer (``InputQuantizer.encoding()``)
and reproduces that quantizer's eval-mode output exactly.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import BackendError

__all__ = ["encode_input", "code_bits", "float32_keys", "check_thresholds"]


def float32_keys(x) -> np.ndarray:
    """Order-preserving uint32 keys of float32 values (``-inf`` < ... < ``-0.0`` < ``+0.0`` < ... < ``+inf``)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return np.where(u >> 31, ~u, u | np.uint32(0x80000000)).astype(np.uint32)


def check_thresholds(encoding: dict, size: int | None = None) -> str | None:
    """What is wrong with a ``thresholds`` encoding (None when it is valid).

    ``size`` is the number of input elements, when known.
    """
    bits = encoding.get("bits")
    if type(bits) is not int or not 1 <= bits <= 16:
        return f"'bits' must be an integer from 1 to 16, found {bits!r}"
    keys, codes = encoding.get("keys"), encoding.get("codes")
    if not isinstance(keys, list) or not isinstance(codes, list) or len(keys) != len(codes) or not keys:
        return "'keys' and 'codes' must be lists of the same positive length"
    for k, c in zip(keys, codes):
        if not isinstance(k, list) or not isinstance(c, list) or len(c) != len(k) + 1:
            return "each group needs a list of keys and one code more than keys"
        if not all(type(v) is int and 0 <= v < 1 << 32 for v in k) or any(a >= b for a, b in zip(k, k[1:])):
            return "the keys of a group must be increasing integers below 2**32"
        if not all(type(v) is int and 0 <= v < 1 << bits for v in c):
            return f"codes must be integers below 2**{bits}"
    if encoding.get("finite", False) not in (True, False):
        return f"'finite' must be true or false, found {encoding.get('finite')!r}"
    groups = encoding.get("groups")
    if groups is not None:
        if not isinstance(groups, list) or not all(type(g) is int and 0 <= g < len(keys) for g in groups):
            return f"'groups' must list a group below {len(keys)} for each input element"
        if size is not None and len(groups) != size:
            return f"'groups' must have one entry per input element ({size}), found {len(groups)}"
    elif len(keys) != 1:
        return "several groups of keys need a 'groups' list"
    return None


def code_bits(encoding: dict) -> int:
    """Bits per input element."""
    if encoding["kind"] == "threshold":
        return 1
    if encoding["kind"] == "tokens":
        return max(1, (int(encoding["vocab"]) - 1).bit_length())
    return int(encoding["bits"])


def _float_array(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "iub":
        return x.astype(np.float32)
    raise BackendError(f"expected a numeric input array, found dtype {x.dtype}")


def encode_input(encoding: dict, x) -> np.ndarray:
    """Codes (same shape as ``x``; uint8, or uint16 above 8 bits) of a float input under ``encoding``.

    ``threshold``: 1 where ``x >= threshold`` (compared in ``x``'s float type,
    as torch does), else 0.  ``uniform``: ``clip(round_half_even(x / step), 0,
    2**bits - 1)`` with a power-of-two ``step`` (exact in any float type).
    ``tokens``: the token ids themselves, which must be integers in ``[0, vocab)``.
    ``thresholds``: breakpoints read off torch (see
    :mod:`nandc.frontend.inputs`): ``x`` as float32, the code of the number of
    breakpoints at or below it, per group of elements.
    """
    kind = encoding.get("kind")
    if kind == "tokens":
        return _token_codes(x, int(encoding["vocab"]))
    x = _float_array(x)
    if kind == "threshold":
        thr = x.dtype.type(encoding["threshold"])
        return (x >= thr).view(np.uint8)
    if kind == "uniform":
        if np.isnan(x).any():  # torch's round and clamp keep NaN: no code can match it
            at = np.argwhere(np.isnan(x))[0]
            raise BackendError(f"the input holds NaN (first at index {tuple(int(i) for i in at)}); "
                               "inputs to a model with InputQuant must be numbers")
        step = x.dtype.type(encoding["step"])
        top = (1 << int(encoding["bits"])) - 1
        return np.clip(np.round(x / step), 0, top).astype(np.uint8 if top < 256 else np.uint16)
    if kind == "thresholds":
        return _encode_thresholds(encoding, x)
    raise BackendError(f"unknown input encoding kind {kind!r}; expected 'threshold', 'uniform', 'thresholds' "
                       "or 'tokens'")


def _token_codes(x, vocab: int) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iub" and not (x.dtype.kind == "f" and np.all(np.isfinite(x)) and np.all(x == np.round(x))):
        raise BackendError(f"expected token ids (integers), found dtype {x.dtype}")
    if x.size and (x.min() < 0 or x.max() >= vocab):
        raise BackendError(f"token ids must lie in [0, {vocab}), found [{x.min():g}, {x.max():g}]")
    return x.astype(np.uint8 if vocab <= 256 else np.uint16 if vocab <= 65536 else np.uint32)


def _encode_thresholds(encoding: dict, x: np.ndarray) -> np.ndarray:
    x32 = x.astype(np.float32)
    bad = np.isnan(x32) | (np.isinf(x32) if encoding.get("finite") else False)
    if np.any(bad):
        at = np.argwhere(bad)[0]
        raise BackendError(f"the input holds {x32[tuple(at)]} (first at index {tuple(int(i) for i in at)}); "
                           "the model's input quantizer gives no code for it")
    n = x32.shape[0] if x32.ndim else 1
    keys = float32_keys(x32).reshape(n, -1)
    dtype = np.uint8 if int(encoding["bits"]) <= 8 else np.uint16
    out = np.empty(keys.shape, dtype=dtype)
    groups = encoding.get("groups")
    group_of = None if groups is None else np.asarray(groups, dtype=np.int64)
    for g, (k, c) in enumerate(zip(encoding["keys"], encoding["codes"])):
        cols = slice(None) if group_of is None else np.flatnonzero(group_of == g)
        idx = np.searchsorted(np.asarray(k, dtype=np.uint32), keys[:, cols], side="right")
        out[:, cols] = np.asarray(c, dtype=dtype)[idx]
    return out.reshape(x32.shape)
