"""Reading ``.nandc`` model files defensively: zip members, JSON, netlist arrays, interfaces.

A ``.nandc`` file is a zip archive that may have been damaged or written by
someone hostile.  Loading it must never execute anything, never exhaust memory
and never give a netlist that silently computes something else.  The pieces
here are small and reusable, so a file holding several netlists validates
each one the same way:

* :func:`open_archive` and :func:`read_member`: every zip-level failure
  (not a zip, a directory, truncated, encrypted, an unknown compression,
  a CRC error) is a :class:`~nandc.errors.ParseError` naming the file, and a
  member is read only up to a byte limit and a plausible compression ratio
  (zip bombs);
* :func:`read_json` and :func:`read_arrays`: JSON with a bounded depth, and
  integer arrays from an ``.npz`` member without pickles;
* :func:`validate_netlist` checks one netlist's JSON description and gate
  arrays completely (types, ranges, every fanin below its gate, every input
  signal in exactly one input bus) before :func:`build_netlist` builds it;
* :func:`validate_interface` checks a model's input encoding and output
  meaning against its netlist.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
import zipfile
import zlib
from typing import Any

import numpy as np

from nandc.errors import ParseError
from nandc.ir.circuit import Bus
from nandc.ir.io.limits import check_memory, load_json
from nandc.ir.netlist import FIRST_INPUT, NandNetlist

__all__ = [
    "MAX_ARRAYS_BYTES",
    "MAX_JSON_BYTES",
    "build_netlist",
    "open_archive",
    "read_arrays",
    "read_json",
    "read_member",
    "validate_interface",
    "validate_netlist",
]

MAX_JSON_BYTES = 256 << 20
"""Largest JSON member (its bus bit lists grow with the number of inputs)."""
MAX_ARRAYS_BYTES = 16 << 30
"""Largest array member (three uint32 per gate: over a billion gates)."""
MAX_RATIO = 200
"""Largest compression ratio a member may claim beyond its first MiB (deflate
reaches about 1000 on runs of zeros; real netlists stay far below 20)."""
_RATIO_ALLOWANCE = 1 << 20
_READ_CHUNK = 1 << 20
_BYTES_PER_GATE = 64  # memory to build and check one gate (arrays, a Python loop, the netlist)
_MAX_INDEX = (1 << 32) - 1  # signals are stored as uint32
_MAX_DIMS = 32
_MAX_CODE_BITS = 16  # input codes are carried as uint8 or uint16
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.$]*$")
_SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


# ---------------------------------------------------------------------- zip level
def open_archive(path: str) -> zipfile.ZipFile:
    """The zip archive at ``path``; anything but a readable zip is a ParseError naming it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ParseError("no such file", path) from None
    except OSError as e:
        raise ParseError(f"cannot read the file: {e.strerror or e}", path) from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ParseError(f"expected a .nandc model file (a zip archive), found {kind}", path)
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ParseError(f"not a nandc model file: expected a zip archive ({e})", path) from None
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as e:
        raise ParseError(f"not a nandc model file: the zip archive cannot be read ({_reason(e)})", path) from None


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def read_member(archive: zipfile.ZipFile, name: str, max_bytes: int, path: str) -> bytes:
    """The bytes of member ``name``, at most ``max_bytes`` of them.

    Refused with a ParseError naming ``path`` and the member: a missing,
    encrypted or oddly compressed member, one whose declared size exceeds
    ``max_bytes`` or whose compression ratio is that of a zip bomb, and any
    decompression or CRC failure.  The data read is bounded by ``max_bytes``
    whatever the zip headers claim.
    """
    where = f"member {name!r}"
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ParseError(f"not a nandc model file: the zip archive has no {where}", path) from None
    if info.flag_bits & 0x1:
        raise ParseError(f"{where} is encrypted; nandc model files are never encrypted", path)
    if info.compress_type not in _SUPPORTED_COMPRESSION:
        raise ParseError(f"{where} uses compression method {info.compress_type}; expected "
                         f"{' or '.join(_SUPPORTED_COMPRESSION.values())}", path)
    if info.file_size > max_bytes:
        raise ParseError(f"{where} declares {info.file_size} bytes; at most {max_bytes} are allowed", path)
    if info.file_size > MAX_RATIO * info.compress_size + _RATIO_ALLOWANCE:
        raise ParseError(f"{where} expands {info.compress_size} compressed bytes to {info.file_size} "
                         f"(more than {MAX_RATIO} times): refusing a likely zip bomb", path)
    check_memory(2 * info.file_size, where, path)
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as f:
            while True:
                chunk = f.read(_READ_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise ParseError(f"{where} holds more than {max_bytes} bytes", path)
                chunks.append(chunk)
    except ParseError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as e:
        raise ParseError(f"{where} is damaged ({_reason(e)})", path) from None
    return b"".join(chunks)


def read_json(archive: zipfile.ZipFile, name: str, path: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Member ``name`` parsed as JSON (bounded size and depth)."""
    return load_json(read_member(archive, name, max_bytes, path), f"member {name!r}", path)


def read_arrays(archive: zipfile.ZipFile, name: str, keys: tuple[str, ...], path: str,
                max_bytes: int = MAX_ARRAYS_BYTES) -> dict[str, np.ndarray]:
    """1-D integer arrays ``keys`` of the ``.npz`` member ``name`` (no pickles; bounded size)."""
    data = read_member(archive, name, max_bytes, path)
    inner_path = f"{path} (member {name!r})"
    with _open_inner(data, inner_path) as npz:
        out = {}
        for key in keys:
            raw = read_member(npz, f"{key}.npy", max_bytes, inner_path)
            try:
                arr = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
            except (ValueError, OSError, EOFError, TypeError) as e:
                raise ParseError(f"array {key!r} is not a valid .npy array ({_reason(e)})", inner_path) from None
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                raise ParseError(f"expected array {key!r} to be 1-D integers, found {arr.dtype} of shape "
                                 f"{arr.shape}", inner_path)
            out[key] = arr.astype(np.int64)
    return out


def _open_inner(data: bytes, path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as e:
        raise ParseError(f"expected a .npz archive ({_reason(e)})", path) from None


# ---------------------------------------------------------------------- netlist
def _count(value, what: str, where: str, path: str, least: int = 0, most: int = _MAX_INDEX) -> int:
    if type(value) is not int or not least <= value <= most:
        raise ParseError(f"{where}: expected {what} to be an integer from {least} to {most}, found "
                         f"{_excerpt(value)}", path)
    return value


def _excerpt(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _fields(value, keys: tuple[str, ...], where: str, path: str) -> dict:
    if not isinstance(value, dict):
        raise ParseError(f"{where}: expected an object with {', '.join(keys)}, found {_excerpt(value)}", path)
    missing = [k for k in keys if k not in value]
    if missing:
        raise ParseError(f"{where}: missing {', '.join(repr(k) for k in missing)}", path)
    return value


def _bus_specs(value, kind: str, where: str, path: str) -> list[tuple[str, np.ndarray, tuple[int, ...], bool]]:
    """``(name, bits, shape, signed)`` of each bus of a ``input_buses``/``output_buses`` list."""
    here = f"{where} {kind}"
    if not isinstance(value, list):
        raise ParseError(f"{here}: expected a list of buses, found {_excerpt(value)}", path)
    out = []
    names = set()
    for k, spec in enumerate(value):
        spec = _fields(spec, ("name", "bits", "shape", "signed"), f"{here}[{k}]", path)
        name, bits, shape, signed = spec["name"], spec["bits"], spec["shape"], spec["signed"]
        if not isinstance(name, str) or not _IDENT_RE.match(name) or name in names:
            raise ParseError(f"{here}[{k}]: expected a new identifier as the bus name, found {_excerpt(name)}",
                             path)
        names.add(name)
        if not (isinstance(shape, list) and len(shape) <= _MAX_DIMS
                and all(type(d) is int and 0 <= d <= _MAX_INDEX for d in shape)):
            raise ParseError(f"bus {name!r} in {where}: expected 'shape' to be at most {_MAX_DIMS} dimensions "
                             f"from 0 to {_MAX_INDEX}, found {_excerpt(shape)}", path)
        if not (isinstance(bits, list) and all(type(b) is int and 0 <= b <= _MAX_INDEX for b in bits)):
            raise ParseError(f"bus {name!r} in {where}: expected 'bits' to be a list of signal numbers, found "
                             f"{_excerpt(bits)}", path)
        if math.prod(shape) != len(bits):
            raise ParseError(f"bus {name!r} in {where}: shape {tuple(shape)} holds {math.prod(shape)} bits, but "
                             f"{len(bits)} are listed", path)
        if type(signed) is not bool:
            raise ParseError(f"bus {name!r} in {where}: expected 'signed' to be true or false, found "
                             f"{_excerpt(signed)}", path)
        out.append((name, np.array(bits, dtype=np.int64), tuple(shape), signed))
    return out


def validate_netlist(meta: Any, arrays: dict[str, np.ndarray], where: str, path: str) -> dict:
    """Check one netlist's description and gate arrays; returns ``meta`` once valid.

    ``meta`` holds ``name``, ``inputs``, ``layers``, ``input_buses`` and
    ``output_buses``; ``arrays`` holds ``a``, ``b`` and ``layer`` (one entry
    per gate).  Ensures: gate ``k`` reads only constants, inputs and gates
    below it; layer ids index ``layers``; every input signal lies in exactly
    one input bus (an input in no bus, or in two, would be undriven or
    driven twice); output bus bits name existing signals.  ``where`` names the
    netlist in messages (e.g. the member it came from).
    """
    meta = _fields(meta, ("name", "inputs", "layers", "input_buses", "output_buses"), where, path)
    if not isinstance(meta["name"], str):
        raise ParseError(f"{where}: expected 'name' to be a string, found {_excerpt(meta['name'])}", path)
    inputs = _count(meta["inputs"], "'inputs'", where, path)
    layers = meta["layers"]
    if not (isinstance(layers, list) and layers and all(isinstance(x, str) for x in layers)):
        raise ParseError(f"{where}: expected 'layers' to be a non-empty list of strings, found {_excerpt(layers)}",
                         path)
    a, b, layer = arrays["a"], arrays["b"], arrays["layer"]
    if not len(a) == len(b) == len(layer):
        raise ParseError(f"{where}: expected gate arrays of one length, found a: {len(a)}, b: {len(b)}, "
                         f"layer: {len(layer)}", path)
    check_memory(_BYTES_PER_GATE * len(a), f"{where} ({len(a)} gates)", path)
    # input buses first: they bound 'inputs' by what the file really lists
    in_buses = _bus_specs(meta["input_buses"], "input_buses", where, path)
    listed = np.concatenate([bits for _, bits, _, _ in in_buses]) if in_buses else np.zeros(0, np.int64)
    if len(listed) != inputs or (inputs and (listed.min() < FIRST_INPUT or listed.max() >= FIRST_INPUT + inputs
                                             or len(np.unique(listed)) != inputs)):
        raise ParseError(
            f"{where}: expected the input buses to hold each of the {inputs} input signals "
            f"{FIRST_INPUT}..{FIRST_INPUT + inputs - 1} exactly once, found {_input_problem(listed, inputs)}",
            path,
        )
    signals = FIRST_INPUT + inputs + len(a)
    if signals > _MAX_INDEX:
        raise ParseError(f"{where}: {signals} signals exceed the limit of {_MAX_INDEX}", path)
    ids = np.arange(FIRST_INPUT + inputs, signals, dtype=np.int64)
    bad = (a < 0) | (b < 0) | (a >= ids) | (b >= ids)
    if bad.any():
        k = int(np.argmax(bad))
        raise ParseError(f"{where}: gate {k} (signal {ids[k]}) reads signals {int(a[k])} and {int(b[k])}; "
                         f"expected signals below {ids[k]}", path)
    bad = (layer < 0) | (layer >= len(layers))
    if bad.any():
        k = int(np.argmax(bad))
        raise ParseError(f"{where}: gate {k} has layer id {int(layer[k])}; expected 0..{len(layers) - 1}", path)
    for name, bits, _, _ in _bus_specs(meta["output_buses"], "output_buses", where, path):
        if len(bits) and bits.max() >= signals:
            raise ParseError(f"{where}: output bus {name!r} holds signal {int(bits.max())}, but the netlist has "
                             f"{signals} signals", path)
    return meta


def _input_problem(listed: np.ndarray, inputs: int) -> str:
    if len(listed) != inputs:
        return f"{len(listed)} bus bits"
    outside = listed[(listed < FIRST_INPUT) | (listed >= FIRST_INPUT + inputs)]
    if len(outside):
        return f"signal {int(outside[0])}, which is not an input"
    values, counts = np.unique(listed, return_counts=True)
    return f"signal {int(values[np.argmax(counts > 1)])} listed {int(counts.max())} times"


def build_netlist(meta: dict, arrays: dict[str, np.ndarray]) -> NandNetlist:
    """The NandNetlist of a description and arrays that passed :func:`validate_netlist`."""
    net = NandNetlist(meta["name"])
    for _ in range(meta["inputs"]):
        net.add_input()
    ids = [net.layer_id(n) for n in meta["layers"]]
    for x, y, lay in zip(arrays["a"].tolist(), arrays["b"].tolist(), arrays["layer"].tolist()):
        net.nand(x, y, ids[lay])
    for spec in meta["input_buses"]:
        net.input_buses[spec["name"]] = Bus(spec["name"], tuple(spec["bits"]), tuple(spec["shape"]), spec["signed"])
    for spec in meta["output_buses"]:
        net.set_output(spec["name"], spec["bits"], spec["shape"], spec["signed"])
    net.verify()
    return net


# ---------------------------------------------------------------------- interface
def _finite(value, what: str, where: str, path: str, positive: bool = False) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or (positive and value <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ParseError(f"{where}: expected {what} to be {kind}, found {_excerpt(value)}", path)
    return float(value)


def _encoding_bits(enc: Any, where: str, path: str, size: int | None = None) -> int:
    """Bits per input element of an input encoding, once it is valid."""
    if not isinstance(enc, dict) or enc.get("kind") not in ("threshold", "uniform", "thresholds"):
        raise ParseError(f"{where}: expected 'input_encoding' to be an object of kind 'threshold', 'uniform' "
                         f"or 'thresholds', found {_excerpt(enc)}", path)
    if enc["kind"] == "thresholds":
        from nandc.encoding import check_thresholds

        problem = check_thresholds(enc, size)
        if problem:
            raise ParseError(f"{where}: input encoding 'thresholds': {problem}", path)
        return enc["bits"]
    if enc["kind"] == "threshold":
        _finite(enc.get("threshold"), "the input threshold", where, path)
        return 1
    bits = _count(enc.get("bits"), "the input code bits", where, path, 1, _MAX_CODE_BITS)
    _finite(enc.get("step"), "the input step", where, path, positive=True)
    return bits


def validate_interface(iface: Any, net: NandNetlist, where: str, path: str) -> dict:
    """Check a model's interface against its netlist; returns ``iface`` once valid.

    Ensures: the input bus ``input_name`` is the netlist's only input bus and
    has shape ``input_shape + (code bits,)``; a ``logits`` output bus of shape
    ``output_shape + (width,)`` exists, and a ``class`` bus exactly when
    ``has_class``.
    """
    keys = ("input_name", "input_shape", "input_encoding", "output_shape", "output_kind", "output_step",
            "has_class")
    iface = _fields(iface, keys, where, path)
    shapes = {}
    for key in ("input_shape", "output_shape"):
        shape = iface[key]
        if not (isinstance(shape, list) and len(shape) <= _MAX_DIMS
                and all(type(d) is int and 0 <= d <= _MAX_INDEX for d in shape)):
            raise ParseError(f"{where}: expected {key!r} to be a list of at most {_MAX_DIMS} sizes, found "
                             f"{_excerpt(shape)}", path)
        shapes[key] = tuple(shape)
    bits = _encoding_bits(iface["input_encoding"], where, path, math.prod(shapes["input_shape"]))
    name = iface["input_name"]
    expected = shapes["input_shape"] + (bits,)
    bus = net.input_buses.get(name) if isinstance(name, str) else None
    if bus is None or len(net.input_buses) != 1 or bus.shape != expected:
        found = ", ".join(f"{b.name}{list(b.shape)}" for b in net.input_buses.values()) or "none"
        raise ParseError(f"{where}: expected one input bus {_excerpt(name)} of shape {list(expected)} "
                         f"(input_shape and {bits} code bit(s)), found {found}", path)
    logits = net.output_buses.get("logits")
    if logits is None or len(logits.shape) != len(shapes["output_shape"]) + 1 \
            or logits.shape[:-1] != shapes["output_shape"]:
        found = "none" if logits is None else str(list(logits.shape))
        raise ParseError(f"{where}: expected an output bus 'logits' of shape {list(shapes['output_shape'])} + "
                         f"[width], found {found}", path)
    if iface["output_kind"] not in ("codes", "accumulator", "ordinal"):
        raise ParseError(f"{where}: expected 'output_kind' to be 'codes', 'accumulator' or 'ordinal', found "
                         f"{_excerpt(iface['output_kind'])}", path)
    from nandc.interface import read_output_values

    read_output_values(iface, iface["output_kind"], lambda msg: ParseError(f"{where}: {msg}", path))
    _finite(iface["output_step"], "'output_step'", where, path)
    if type(iface["has_class"]) is not bool or iface["has_class"] != ("class" in net.output_buses):
        raise ParseError(f"{where}: 'has_class' is {_excerpt(iface['has_class'])}, but the netlist "
                         f"{'has' if 'class' in net.output_buses else 'has no'} output bus 'class'", path)
    return iface
