"""Input files of batch runs: finding them, shards with global row numbers, reading .npy and Parquet."""

from __future__ import annotations

import numpy as np
import pytest

from nandc.files.datafiles import (
    InputFile, Shard, check_shape, find_inputs, inspect_file, inspect_inputs, plan_shards, read_all, read_shard,
)
from nandc.errors import NandcError, ParseError


@pytest.fixture
def shards_dir(tmp_path):
    """Three .npy files of (rows, 2, 3) samples numbered 0.. across files, plus a stray text file."""
    base = 0
    for name, rows in (("a.npy", 5), ("b.npy", 0), ("c.npy", 7)):
        arr = (np.arange(rows * 6).reshape(rows, 2, 3) + base * 6).astype(np.float32)
        np.save(tmp_path / name, arr)
        base += rows
    (tmp_path / "notes.txt").write_text("not an input")
    return tmp_path


def test_find_inputs_folder_glob_and_list(shards_dir):
    d = str(shards_dir)
    assert find_inputs(d) == [f"{d}/a.npy", f"{d}/b.npy", f"{d}/c.npy"]
    assert find_inputs(f"{d}/[ac].npy") == [f"{d}/a.npy", f"{d}/c.npy"]
    assert find_inputs([f"{d}/c.npy", f"{d}/a.npy"]) == [f"{d}/c.npy", f"{d}/a.npy"]  # list order kept


@pytest.mark.parametrize("spec, message", [
    ("missing.npy", "no such file or folder: missing.npy"),
    ("*.npz", "no input files match '*.npz': expected .npy or .parquet files"),
    ("*.txt", "no input files match '*.txt': expected .npy or .parquet files (1 other file(s) matched)"),
    ("notes.txt", "cannot read 'notes.txt' as input: expected a .npy or .parquet file"),
    ("empty", "no input files in the folder 'empty': expected .npy or .parquet files in it"),
])
def test_find_inputs_errors(shards_dir, monkeypatch, spec, message):
    monkeypatch.chdir(shards_dir)
    (shards_dir / "empty").mkdir()
    with pytest.raises(NandcError) as info:
        find_inputs(spec)
    assert str(info.value) == message


def test_no_inputs_at_all():
    with pytest.raises(NandcError, match="no inputs given"):
        find_inputs([])


def test_npy_headers_shards_and_reads(shards_dir):
    files = inspect_inputs(str(shards_dir))
    assert [(f.kind, f.rows, f.sample_shape) for f in files] == [("npy", 5, (2, 3)), ("npy", 0, (2, 3)),
                                                                 ("npy", 7, (2, 3))]
    shards = plan_shards(files, 3)
    assert [(s.path[-5:], s.start, s.stop, s.offset) for s in shards] == [
        ("a.npy", 0, 3, 0), ("a.npy", 3, 5, 3), ("c.npy", 0, 3, 5), ("c.npy", 3, 6, 8), ("c.npy", 6, 7, 11)]
    whole = read_all(files, (2, 3))
    assert whole.shape == (12, 2, 3) and whole.dtype == np.float32
    assert np.array_equal(whole.reshape(12, 6)[:, 0], np.arange(12) * 6)  # global row order
    for s in shards:  # every shard holds exactly its global rows
        assert np.array_equal(read_shard(s, (2, 3)), whole[s.offset:s.offset + s.rows])


def test_npy_shape_and_content_errors(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 5), np.uint8))
    files = inspect_inputs(str(tmp_path / "x.npy"))
    with pytest.raises(NandcError) as info:
        check_shape(files, (2, 3))
    assert str(info.value) == (f"{tmp_path}/x.npy: expected an array of samples (N, 2, 3), found an array of "
                               "shape (4, 5)")
    np.save(tmp_path / "o.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(ParseError, match="expected numbers .* found dtype object"):
        inspect_file(str(tmp_path / "o.npy"))
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ParseError, match="bad.npy: not a .npy array file"):
        inspect_file(str(tmp_path / "bad.npy"))
    full = np.arange(40, dtype=np.uint8).reshape(8, 5)
    np.save(tmp_path / "t.npy", full)
    shard = plan_shards(inspect_inputs(str(tmp_path / "t.npy")), 100)[0]
    np.save(tmp_path / "t.npy", full[:3])  # the file shrank after planning
    with pytest.raises(ParseError, match=r"expected an array \(N >= 8, 5\), found \(3, 5\)"):
        read_shard(shard, (5,))


# ---------------------------------------------------------------------- Parquet
def _arrow():
    """pyarrow and pyarrow.parquet (these tests are skipped without them)."""
    return pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")


def _samples(rows, shape=(2, 3), start=0):
    size = int(np.prod(shape))
    return (np.arange(rows * size) + start * size).astype(np.float32).reshape((rows,) + shape)


def test_parquet_fixed_size_lists_by_row_group(tmp_path):
    pa, pq = _arrow()
    x = _samples(10)
    column = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 6)
    pq.write_table(pa.table({"pixels": column}), tmp_path / "p.parquet", row_group_size=3)
    f = inspect_file(str(tmp_path / "p.parquet"))
    assert (f.kind, f.rows, f.groups, f.columns) == ("parquet", 10, (3, 3, 3, 1), ("pixels",))
    shards = plan_shards([f], 5)  # whole row groups: 3+3 rows, then 3+1
    assert [(s.start, s.stop, s.offset, s.groups) for s in shards] == [(0, 6, 0, (0, 2)), (6, 10, 6, (2, 4))]
    for s in shards:
        assert np.array_equal(read_shard(s, (2, 3)), x[s.start:s.stop])


def test_parquet_nested_lists_scalar_columns_and_named_column(tmp_path):
    pa, pq = _arrow()
    x = _samples(4)
    nested = pa.array([[list(map(float, row)) for row in sample] for sample in x])  # list<list<double>>
    pq.write_table(pa.table({"img": nested, "label": pa.array([0, 1, 2, 3])}), tmp_path / "n.parquet")
    scalars = {f"p{i}": pa.array(x.reshape(4, 6)[:, i]) for i in range(6)}
    pq.write_table(pa.table(scalars), tmp_path / "s.parquet")
    files = inspect_inputs([str(tmp_path / "n.parquet")])
    assert np.array_equal(read_all(files, (2, 3), column="img"), x)
    with pytest.raises(ParseError, match="expected one column of samples .* or 6 scalar columns, found 2 columns"):
        read_all(files, (2, 3))
    with pytest.raises(ParseError, match="no column 'pixels'; the columns are 'img', 'label'"):
        read_all(files, (2, 3), column="pixels")
    assert np.array_equal(read_all(inspect_inputs(str(tmp_path / "s.parquet")), (2, 3)), x)


def test_parquet_ragged_and_wrong_size_rows(tmp_path):
    pa, pq = _arrow()
    pq.write_table(pa.table({"x": pa.array([[1.0, 2.0], [3.0]])}), tmp_path / "r.parquet")
    with pytest.raises(ParseError, match="expected lists of one length, found lengths 1 to 2"):
        read_all(inspect_inputs(str(tmp_path / "r.parquet")), (2,))
    pq.write_table(pa.table({"x": pa.array([[1.0, 2.0], [3.0, 4.0]])}), tmp_path / "w.parquet")
    with pytest.raises(ParseError, match=r"expected 3 values per row \(input shape \(3\)\), found 2"):
        read_all(inspect_inputs(str(tmp_path / "w.parquet")), (3,))


def test_mixed_npy_and_parquet_number_rows_in_order(tmp_path):
    pa, pq = _arrow()
    np.save(tmp_path / "a.npy", _samples(4))
    column = pa.FixedSizeListArray.from_arrays(pa.array(_samples(5, start=4).reshape(-1)), 6)
    pq.write_table(pa.table({"x": column}), tmp_path / "b.parquet", row_group_size=2)
    files = inspect_inputs(str(tmp_path))
    assert [f.kind for f in files] == ["npy", "parquet"]
    shards = plan_shards(files, 2)
    assert [s.offset for s in shards] == [0, 2, 4, 6, 8]
    assert np.array_equal(read_all(files, (2, 3)), _samples(9))


def test_a_damaged_parquet_file_is_a_parse_error(tmp_path):
    _arrow()
    (tmp_path / "d.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ParseError, match="d.parquet: not a readable Parquet file"):
        inspect_file(str(tmp_path / "d.parquet"))


def test_shard_rows_and_plan_checks():
    assert Shard("p", "npy", 3, 9, 100).rows == 6
    with pytest.raises(NandcError, match="rows per shard must be at least 1, found 0"):
        plan_shards([InputFile("p", "npy", 3, (1,))], 0)


def test_distributed_modules_import_light():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = ("import sys, nandc, nandc.distributed, nandc.files.datafiles; "
            "print(nandc.__file__); print(*[m in sys.modules for m in ('ray', 'pyarrow', 'torch')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)})
    where, flags = out.stdout.splitlines()
    assert where == str(root / "nandc" / "__init__.py")
    assert flags.split() == ["False", "False", "False"]
