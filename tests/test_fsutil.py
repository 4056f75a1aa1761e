"""Atomic writes: all or nothing, with normal permissions."""

import os

import pytest

from nandc.files.fsutil import atomic_write


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write("partial")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_written_file_has_umask_permissions(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target, "wb") as f:
        f.write(b"abc")
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_bytes() == b"abc"
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
