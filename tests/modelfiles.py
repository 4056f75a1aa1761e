"""Small ``.nandc`` model files built without torch, and rebuilding them with damaged members."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from nandc.interface import Interface
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.model import CompiledModel
from nandc.passes.nand import lower_to_nand

MEMBERS = ("format", "interface.json", "netlist.json", "gates.npz")


def tiny_model() -> CompiledModel:
    """Three scores from eight binarized inputs (sums of pairs and of a popcount), plus their argmax."""
    c = Circuit("tiny")
    x = c.add_input_bus("x", (8, 1))
    with c.layer("sums"):
        scores = [
            words.to_signed(words.add(c, words.Word((x[0],)), words.Word((x[1],)))),
            words.to_signed(words.popcount(c, x[2:6])),
            words.to_signed(words.add(c, words.Word((x[6],)), words.Word((x[7] ^ 1,)))),
        ]
    width = max(s.width for s in scores)
    scores = [words.extend(s, width) for s in scores]
    c.set_output("logits", [b for s in scores for b in s.bits], (3, width), signed=True)
    with c.layer("argmax"):
        idx = words.argmax(c, scores)
    c.set_output("class", idx.bits, (len(idx.bits),))
    net, _ = lower_to_nand(c)
    iface = Interface(input_name="x", input_shape=(8,), input_encoding={"kind": "threshold", "threshold": 0.5},
                      output_shape=(3,), output_kind="codes", output_step=1.0, has_class=True)
    return CompiledModel.from_netlist(net, iface)


def model_bytes(model: CompiledModel, tmp_path) -> bytes:
    path = tmp_path / "tiny.nandc"
    model.save(path)
    return path.read_bytes()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def npz_of(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def arrays_of(npz: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(npz)) as f:
        return {k: f[k] for k in f.files}


def with_json(data: bytes, member: str, edit) -> bytes:
    """``data`` with JSON member ``member`` replaced by ``edit(parsed)`` (edit may mutate and return None)."""
    members = members_of(data)
    body = json.loads(members[member])
    new = edit(body)
    members[member] = json.dumps(body if new is None else new).encode()
    return zip_of(members)


def with_arrays(data: bytes, edit) -> bytes:
    members = members_of(data)
    arrays = arrays_of(members["gates.npz"])
    new = edit(arrays)
    members["gates.npz"] = npz_of(**(arrays if new is None else new))
    return zip_of(members)


def damaged_models(good: bytes) -> dict[str, bytes]:
    """Damaged variants of a valid model file, by name: each must be refused with a ParseError."""
    m = members_of(good)
    out = {}
    out["not_zip"] = b"hello, not a zip"
    out["empty"] = b""
    out["truncated"] = good[: len(good) // 2]
    out["missing_member"] = zip_of({k: v for k, v in m.items() if k != "netlist.json"})
    # encrypted flag: set bit 0 of the general purpose flags in local and central headers
    enc = bytearray(zip_of(m, zipfile.ZIP_STORED))
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = enc.find(sig)
        while i >= 0:
            enc[i + off] |= 1
            i = enc.find(sig, i + 4)
    out["encrypted"] = bytes(enc)
    out["compression"] = zip_of(m, zipfile.ZIP_BZIP2)
    crc = bytearray(zip_of(m, zipfile.ZIP_STORED))
    i = crc.find(b'"input_buses"')
    crc[i + 2] ^= 0x20
    out["crc"] = bytes(crc)
    z = bytearray(good)
    i = z.find(b"netlist.json") + len("netlist.json")
    for k in range(i + 5, i + 40):
        z[k] ^= 0x5A
    out["deflate"] = bytes(z)
    out["format"] = zip_of({**m, "format": b"nandc-model/9"})
    out["deep"] = zip_of({**m, "interface.json": b"[" * 100000 + b"]" * 100000})
    out["list_iface"] = with_json(good, "interface.json", lambda d: [d])
    out["missing_key"] = with_json(good, "netlist.json", lambda d: d.pop("layers") and None)
    out["negative_bits"] = with_json(good, "interface.json", lambda d: {**d, "input_encoding": {"kind": "uniform", "bits": -3, "step": 0.5}})
    out["bad_function"] = with_json(good, "interface.json", lambda d: {**d, "output_function": "argmax"})
    out["string_step"] = with_json(good, "interface.json", lambda d: {**d, "input_encoding": {"kind": "uniform", "bits": 1, "step": "0.5"}})
    out["bits_17"] = with_json(good, "interface.json", lambda d: {**d, "input_encoding": {"kind": "uniform", "bits": 17, "step": 0.5}})
    out["dup_inputs"] = with_json(good, "netlist.json", lambda d: d["input_buses"][0].update(bits=[2] * 8))
    out["huge_inputs"] = with_json(good, "netlist.json", lambda d: d.update(inputs=1000000000))
    out["bool_inputs"] = with_json(good, "netlist.json", lambda d: d.update(inputs=True))
    out["out_of_range_output"] = with_json(good, "netlist.json", lambda d: d["output_buses"][0]["bits"].__setitem__(0, 10**6))
    out["bad_shape"] = with_json(good, "netlist.json", lambda d: d["output_buses"][0].update(shape=[7]))
    out["no_class"] = with_json(good, "interface.json", lambda d: d.update(has_class=False))
    out["wrong_input_shape"] = with_json(good, "interface.json", lambda d: d.update(input_shape=[4, 2]))
    out["wrong_input_name"] = with_json(good, "interface.json", lambda d: d.update(input_name="img"))
    out["nan_threshold"] = zip_of({**m, "interface.json": m["interface.json"].replace(b"0.5", b"NaN")})
    out["forward_gate"] = with_arrays(good, lambda a: a["a"].__setitem__(3, 60))
    out["negative_gate"] = with_arrays(good, lambda a: {**a, "a": a["a"].astype(np.int64) - 5})
    out["float_gates"] = with_arrays(good, lambda a: {**a, "b": a["b"].astype(np.float32)})
    out["short_layer"] = with_arrays(good, lambda a: {**a, "layer": a["layer"][:-1]})
    out["bad_layer"] = with_arrays(good, lambda a: a["layer"].__setitem__(0, 99))
    out["2d_gates"] = with_arrays(good, lambda a: {**a, "a": a["a"].reshape(2, -1)})
    mm = dict(m); mm["gates.npz"] = npz_of(a=np.array([object()], dtype=object), b=np.zeros(1, np.uint32), layer=np.zeros(1, np.uint32))
    out["pickle"] = zip_of(mm)
    mm = dict(m); mm["gates.npz"] = b"not an npz"
    out["npz_garbage"] = zip_of(mm)
    mm = dict(m); mm["interface.json"] = b"\xff\xfe"
    out["not_utf8"] = zip_of(mm)
    mm = dict(m); mm["netlist.json"] = m["netlist.json"] + b" " * (30 << 20)
    out["bomb"] = zip_of(mm)
    return out
