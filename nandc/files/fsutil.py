"""Writing output files atomically: a reader never sees a partial file.

Every failure to write (an empty name, a directory in the way, a missing
directory, no permission, a full disk, a file size limit) is an
:class:`~nandc.errors.OutputError` that names the file, and leaves neither
the file nor a temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from nandc.errors import OutputError

__all__ = ["atomic_write", "check_writable"]

# errors of writing data (as opposed to errors of whatever else the body of
# atomic_write does, which pass through unchanged)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EROFS}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _output_error(path, e: OSError) -> OutputError:
    target = Path(path)
    if e.errno == errno.ENOENT and not os.path.exists(target.parent):
        reason = f"the directory {str(target.parent)!r} does not exist"
    elif e.errno == errno.ENOTDIR:
        reason = "a part of the path is not a directory"
    elif e.errno == errno.EISDIR:
        reason = "it is a directory"
    elif e.errno == errno.EFBIG:
        reason = "the file is larger than allowed (file size limit, e.g. ulimit -f)"
    else:
        reason = (e.strerror or str(e)).lower()
    return OutputError(e.errno, f"cannot write {str(path)!r}: {reason}")


def check_writable(path: str | os.PathLike) -> None:
    """Raise :class:`OutputError` early if ``path`` certainly cannot be written.

    Catches an empty name, an existing directory, a missing or unwritable
    directory; a full disk or a size limit show only when writing.
    """
    text = os.fspath(path)
    if not text:
        raise OutputError(errno.ENOENT, "cannot write '': expected a file name")
    target = Path(text)
    directory = target.parent
    try:
        if target.is_dir():
            raise OutputError(errno.EISDIR, f"cannot write {text!r}: it is a directory")
        if not directory.exists():
            raise OutputError(errno.ENOENT,
                              f"cannot write {text!r}: the directory {str(directory)!r} does not exist")
        if not directory.is_dir():
            raise OutputError(errno.ENOTDIR, f"cannot write {text!r}: a part of the path is not a directory")
    except OutputError:
        raise
    except OSError as e:  # a name too long, a loop of links ...
        raise _output_error(text, e) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(errno.EACCES, f"cannot write {text!r}: permission denied")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success.

    If the body raises, the temporary file is removed and ``path`` is untouched.
    ``mode`` is ``"w"`` (text) or ``"wb"`` (binary).  Failures to write are
    :class:`OutputError`; other exceptions of the body pass through.
    """
    check_writable(path)
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise _output_error(path, e) from None
    try:
        if "b" in mode:
            f = os.fdopen(fd, mode)
        else:
            f = os.fdopen(fd, mode, encoding=encoding, newline="")
        try:
            with f:
                yield f
        except OSError as e:
            if isinstance(e, OutputError) or e.errno not in _WRITE_ERRNOS:
                raise
            raise _output_error(path, e) from None
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
            os.replace(tmp, target)
        except OSError as e:
            raise _output_error(path, e) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
