"""A JIT cache directory cannot change results: entries are authenticated and checked against the netlist.

Each test plays someone who can write the cache directory but cannot read
the user's secret key (another user of a shared cache), or a damaged entry.
The program that runs must always compute the netlist it was asked for.
"""

from __future__ import annotations

import json
import logging
import os
import struct

import numpy as np
import pytest

from nandc.backends.llvm import jit
from nandc.ir.evaluate import simulate_netlist
from nandc.ir.bits import pack_samples, unpack_samples
from nandc.passes.nand import lower_to_nand
from tests.strategies import random_circuit

TAG = len(jit._CACHE_MAGIC)  # where the HMAC tag starts
BODY = TAG + 32  # where the authenticated body starts


# every test gets its own cache directory and key (the autouse fixture of the JIT tests)
from tests.backends.test_llvm import private_cache  # noqa: E402,F401


def netlist(seed: int, inputs: int = 10):
    return lower_to_nand(random_circuit(seed, inputs, 150))[0]


def check_runs_right(prog, net) -> None:
    bits = np.random.default_rng(0).integers(0, 2, size=(300, net.num_inputs), dtype=np.uint8)
    expected = unpack_samples(simulate_netlist(net, pack_samples(bits)), len(bits))
    assert np.array_equal(prog.run(bits), expected)


def entry_parts(data: bytes) -> tuple[dict, bytes]:
    (size,) = struct.unpack_from("<Q", data, BODY)
    return json.loads(data[BODY + 8:BODY + 8 + size]), data[BODY + 8 + size:]


def forge(data: bytes, header: dict, secret: bytes | None = None) -> bytes:
    """``data`` with a new header; re-signed with ``secret`` if given (else the old tag stays)."""
    _, payload = entry_parts(data)
    raw = json.dumps(header, sort_keys=True).encode()
    body = struct.pack("<Q", len(raw)) + raw + payload
    if secret is None:
        return data[:BODY] + body
    import hashlib
    import hmac

    return jit._CACHE_MAGIC + hmac.new(secret, body, hashlib.sha256).digest() + body


def recompile_warns(net, path, caplog) -> None:
    jit._loaded.clear()
    with caplog.at_level(logging.WARNING, logger=jit.log.name):
        prog = jit.compile_netlist(net)
    assert f"ignoring invalid JIT cache entry {path}" in caplog.text
    check_runs_right(prog, net)


@pytest.mark.parametrize("field", ["spill_slots", "num_slots", "num_outputs", "num_chunks"])
def test_an_edited_header_field_is_refused(private_cache, caplog, field):
    net = netlist(31)
    jit.compile_netlist(net)
    (path,) = private_cache.glob("*.nandcjit")
    header, _ = entry_parts(path.read_bytes())
    header["meta"][field] += 1000
    path.write_bytes(forge(path.read_bytes(), header))
    recompile_warns(net, path, caplog)


def test_an_entry_of_another_netlist_under_this_key_is_refused(private_cache, caplog):
    a, b = netlist(32), netlist(33)
    jit.compile_netlist(a)
    (path_a,) = private_cache.glob("*.nandcjit")
    jit.compile_netlist(b)
    (path_b,) = set(private_cache.glob("*.nandcjit")) - {path_a}
    header, _ = entry_parts(path_b.read_bytes())
    header["key"] = path_a.stem  # B's code presented as A's, with the tag left as it was
    path_a.write_bytes(forge(path_b.read_bytes(), header))
    recompile_warns(a, path_a, caplog)


def test_an_entry_signed_by_another_user_is_refused(private_cache, caplog, tmp_path, monkeypatch):
    net = netlist(34)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other-user"))
    jit.compile_netlist(net)  # written under another secret
    (path,) = private_cache.glob("*.nandcjit")
    foreign = path.read_bytes()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    recompile_warns(net, path, caplog)
    assert path.read_bytes() != foreign  # replaced by this user's own entry


def test_an_authentic_entry_must_also_fit_the_netlist(private_cache, caplog):
    """Even with the right secret, an entry whose shapes differ from the netlist is not run."""
    net = netlist(35)
    jit.compile_netlist(net)
    (path,) = private_cache.glob("*.nandcjit")
    header, _ = entry_parts(path.read_bytes())
    header["meta"]["num_inputs"] += 1
    path.write_bytes(forge(path.read_bytes(), header, jit._cache_secret()))
    recompile_warns(net, path, caplog)


def test_the_secret_is_private_and_an_exposed_one_disables_the_disk_cache(private_cache, caplog, tmp_path):
    net = netlist(36)
    jit.compile_netlist(net)
    key_file = tmp_path / "config" / "nandc" / "jit-cache.key"
    assert key_file.stat().st_mode & 0o777 == 0o600 and key_file.stat().st_size == 32
    assert not list(private_cache.glob("*.key"))  # the secret never lives in the cache directory
    os.chmod(key_file, 0o644)
    jit._loaded.clear()
    with caplog.at_level(logging.WARNING, logger=jit.log.name):
        prog = jit.compile_netlist(net)
    assert (f"not using the JIT disk cache: the key file {key_file} is unusable (it must be a regular file of "
            f"user {os.getuid()} with mode 0600, found mode 0644 of user {os.getuid()})") in caplog.text
    check_runs_right(prog, net)


def test_a_fifo_in_the_cache_does_not_block(private_cache, caplog):
    net = netlist(37)
    jit.compile_netlist(net)
    (path,) = private_cache.glob("*.nandcjit")
    path.unlink()
    os.mkfifo(path)
    jit._loaded.clear()
    check_runs_right(jit.compile_netlist(net), net)
