"""Input encodings: float model inputs -> the integer codes a circuit's input bus carries.

Pure numpy, so a saved model runs without torch.  Each encoding is a small
dict produced by the model's input quantizer (``InputQuantizer.encoding()``)
and reproduces that quantizer's eval-mode output exactly.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import BackendError

__all__ = ["encode_input", "code_bits"]


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
    raise BackendError(f"unknown input encoding {encoding!r}; expected kind 'threshold', 'uniform' or 'tokens'")


def _token_codes(x, vocab: int) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iub" and not (x.dtype.kind == "f" and np.all(np.isfinite(x)) and np.all(x == np.round(x))):
        raise BackendError(f"expected token ids (integers), found dtype {x.dtype}")
    if x.size and (x.min() < 0 or x.max() >= vocab):
        raise BackendError(f"token ids must lie in [0, {vocab}), found [{x.min():g}, {x.max():g}]")
    return x.astype(np.uint8 if vocab <= 256 else np.uint16 if vocab <= 65536 else np.uint32)
