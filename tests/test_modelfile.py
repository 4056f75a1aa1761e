"""Loading damaged and hostile .nandc model files: a ParseError naming the file, never anything else."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import nandc
from nandc.errors import ParseError
from nandc.ir.io.modelfile import read_member, validate_netlist
from nandc.ir.io.limits import MEMORY_ENV
from tests.modelfiles import damaged_models, members_of, model_bytes, tiny_model, zip_of

EXPECTED = {
    'not_zip': '{d}/not_zip.nandc: not a nandc model file: expected a zip archive (File is not a zip file)',
    'empty': '{d}/empty.nandc: not a nandc model file: expected a zip archive (File is not a zip file)',
    'truncated': '{d}/truncated.nandc: not a nandc model file: expected a zip archive (File is not a zip file)',
    'missing_member': "{d}/missing_member.nandc: not a nandc model file: the zip archive has no member 'netlist.json'",
    'encrypted': "{d}/encrypted.nandc: member 'format' is encrypted; nandc model files are never encrypted",
    'compression': "{d}/compression.nandc: member 'format' uses compression method 12; expected stored or deflate",
    'crc': "{d}/crc.nandc: member 'netlist.json' is damaged (Bad CRC-32 for file 'netlist.json')",
    'deflate': "{d}/deflate.nandc: member 'netlist.json' is damaged (Error -3 while decompressing data: invalid code lengths set)",
    'format': "{d}/format.nandc: expected format 'nandc-model/2' (or 'nandc-model/1'), found 'nandc-model/9'",
    'deep': "{d}/deep.nandc: member 'interface.json' is nested 100000 levels deep; at most 16 are allowed",
    'list_iface': "{d}/list_iface.nandc: interface.json: expected an object with input_name, input_shape, input_encoding, output_shape, output_kind, output_step, has_class, found [{'has_class': True, 'input_encoding': {'kind': 'threshold', ...",
    'missing_key': "{d}/missing_key.nandc: netlist.json: missing 'layers'",
    'negative_bits': '{d}/negative_bits.nandc: interface.json: expected the input code bits to be an integer from 1 to 16, found -3',
    'bad_function': "{d}/bad_function.nandc: interface.json: output_function must be one of ('', 'softmax', 'log_softmax'), found 'argmax'",
    'string_step': "{d}/string_step.nandc: interface.json: expected the input step to be a positive finite number, found '0.5'",
    'bits_17': '{d}/bits_17.nandc: interface.json: expected the input code bits to be an integer from 1 to 16, found 17',
    'dup_inputs': '{d}/dup_inputs.nandc: netlist.json: expected the input buses to hold each of the 8 input signals 2..9 exactly once, found signal 2 listed 8 times',
    'huge_inputs': '{d}/huge_inputs.nandc: netlist.json: expected the input buses to hold each of the 1000000000 input signals 2..1000000001 exactly once, found 8 bus bits',
    'bool_inputs': "{d}/bool_inputs.nandc: netlist.json: expected 'inputs' to be an integer from 0 to 4294967295, found True",
    'out_of_range_output': "{d}/out_of_range_output.nandc: netlist.json: output bus 'logits' holds signal 1000000, but the netlist has 68 signals",
    'bad_shape': "{d}/bad_shape.nandc: bus 'logits' in netlist.json: shape (7,) holds 7 bits, but 12 are listed",
    'no_class': "{d}/no_class.nandc: interface.json: 'has_class' is False, but the netlist has output bus 'class'",
    'wrong_input_shape': "{d}/wrong_input_shape.nandc: interface.json: expected one input bus 'x' of shape [4, 2, 1] (input_shape and 1 code bit(s)), found x[8, 1]",
    'wrong_input_name': "{d}/wrong_input_name.nandc: interface.json: expected one input bus 'img' of shape [8, 1] (input_shape and 1 code bit(s)), found x[8, 1]",
    'nan_threshold': "{d}/nan_threshold.nandc: member 'interface.json' is not valid JSON: NaN is not a JSON number",
    'forward_gate': '{d}/forward_gate.nandc: netlist.json: gate 3 (signal 13) reads signals 60 and 12; expected signals below 13',
    'negative_gate': '{d}/negative_gate.nandc: netlist.json: gate 0 (signal 10) reads signals -3 and 3; expected signals below 10',
    'float_gates': "{d}/float_gates.nandc (member 'gates.npz'): expected array 'b' to be 1-D integers, found float32 of shape (58,)",
    'short_layer': '{d}/short_layer.nandc: netlist.json: expected gate arrays of one length, found a: 58, b: 58, layer: 57',
    'bad_layer': '{d}/bad_layer.nandc: netlist.json: gate 0 has layer id 99; expected 0..2',
    '2d_gates': "{d}/2d_gates.nandc (member 'gates.npz'): expected array 'a' to be 1-D integers, found uint32 of shape (2, 29)",
    'pickle': "{d}/pickle.nandc (member 'gates.npz'): array 'a' is not a valid .npy array (Object arrays cannot be loaded when allow_pickle=False)",
    'npz_garbage': "{d}/npz_garbage.nandc (member 'gates.npz'): expected a .npz archive (File is not a zip file)",
    'not_utf8': "{d}/not_utf8.nandc: member 'interface.json' is not UTF-8 text (byte offset 0)",
    'bomb': "{d}/bomb.nandc: member 'netlist.json' expands 30782 compressed bytes to 31457635 (more than 200 times): refusing a likely zip bomb",
}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return model_bytes(tiny_model(), tmp_path_factory.mktemp("model"))


def load_error(path) -> str:
    with pytest.raises(ParseError) as info:
        nandc.load(path)
    return str(info.value)


def test_every_damage_is_a_pinned_parse_error(good, tmp_path):
    damaged = damaged_models(good)
    assert set(damaged) == set(EXPECTED)
    for name, data in damaged.items():
        path = tmp_path / f"{name}.nandc"
        path.write_bytes(data)
        assert load_error(path) == EXPECTED[name].replace("{d}", str(tmp_path)), name


def test_the_valid_file_loads_and_runs(good, tmp_path):
    path = tmp_path / "m.nandc"
    path.write_bytes(good)
    model = nandc.load(path)
    x = np.random.default_rng(1).random((50, 8))
    expected = tiny_model().run(x, backend="reference")
    got = model.run(x, backend="reference")
    assert all(np.array_equal(got[k], expected[k]) for k in expected)


def test_paths_that_are_not_model_files(tmp_path):
    assert load_error(tmp_path) == f"{tmp_path}: expected a .nandc model file (a zip archive), found a directory"
    assert load_error(tmp_path / "none.nandc") == f"{tmp_path / 'none.nandc'}: no such file"
    if os.path.exists("/dev/null"):
        assert load_error("/dev/null") == "/dev/null: expected a .nandc model file (a zip archive), found not a regular file"


def test_a_member_is_read_only_up_to_its_limit(good, tmp_path):
    path = tmp_path / "m.nandc"
    path.write_bytes(good)
    with zipfile.ZipFile(path) as z:
        with pytest.raises(ParseError) as info:
            read_member(z, "netlist.json", 100, str(path))
    size = len(members_of(good)["netlist.json"])
    assert str(info.value) == f"{path}: member 'netlist.json' declares {size} bytes; at most 100 are allowed"


def test_a_size_lie_in_the_zip_header_is_caught(good, tmp_path):
    members = members_of(good)
    data = bytearray(zip_of({"format": members["format"], "pad": b"x" * 4000}, zipfile.ZIP_STORED))
    # shrink the declared size of 'pad' in the central directory: the reader must not trust it
    at = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
    data[at + 24:at + 28] = (10).to_bytes(4, "little")
    path = tmp_path / "lie.nandc"
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z:
        with pytest.raises(ParseError, match="member 'pad' (is damaged|holds more than)"):
            read_member(z, "pad", 100, str(path))


def test_memory_is_checked_before_decompressing(good, tmp_path, monkeypatch):
    path = tmp_path / "m.nandc"
    path.write_bytes(good)
    monkeypatch.setenv(MEMORY_ENV, "1000")
    assert load_error(path).startswith(f"{path}: member 'gates.npz' would need about ")


def test_validate_netlist_names_the_netlist():
    meta = {"name": "n", "inputs": 2, "layers": [""], "input_buses": [{"name": "x", "bits": [2, 3], "shape": [2],
                                                                        "signed": False}], "output_buses": []}
    arrays = {k: np.zeros(1, np.int64) for k in ("a", "b", "layer")}
    assert validate_netlist(meta, arrays, "stage 2", "f.nandc") is meta
    arrays["a"] = np.array([4])
    with pytest.raises(ParseError) as info:
        validate_netlist(meta, arrays, "stage 2", "f.nandc")
    assert str(info.value) == "f.nandc: stage 2: gate 0 (signal 4) reads signals 4 and 0; expected signals below 4"


def test_nan_inputs_to_a_uniform_encoding_are_refused():
    from nandc.encoding import encode_input
    from nandc.errors import BackendError

    x = np.zeros((2, 3), np.float32)
    x[1, 2] = np.nan
    assert encode_input({"kind": "threshold", "threshold": 0.5}, x).tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(BackendError) as info:
        encode_input({"kind": "uniform", "bits": 2, "step": 0.5}, x)
    assert str(info.value) == ("the input holds NaN (first at index (1, 2)); inputs to a model with InputQuant "
                               "must be numbers")
