"""The one way this project writes a file: atomically, fsync-ed, through links, never
swapping a FIFO or a device for a regular file. Free of pandas (the command line's
labeling path writes through it)."""

from __future__ import annotations

import errno
import os
import stat
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "is_broken_pipe",
    "is_replaceable",
    "open_output",
]


def is_replaceable(dest: str | os.PathLike[str]) -> bool:
    """Whether :func:`open_output` writes ``dest`` atomically (a regular file, through any
    link, or nothing yet), rather than straight through (a FIFO, a device)."""
    try:
        info = Path(dest).stat()
    except (FileNotFoundError, NotADirectoryError):
        return True
    return stat.S_ISREG(info.st_mode)


@contextmanager
def open_output(dest: str | os.PathLike[str] | IO[bytes]) -> Iterator[IO[bytes]]:
    """Open ``dest`` for writing bytes so that readers never see a half-written file.

    The one way this project writes a file. Use it as ``with open_output(dest) as out:``.

    - A path to a regular file, or to nothing yet, is written to a temporary file in the
      same folder (missing folders are created), flushed and ``fsync``-ed, then renamed over
      ``dest`` when the ``with`` block ends without an error; on an error, the temporary
      file is removed and ``dest`` is untouched. An existing file keeps its permissions.
    - A symbolic link is followed: its target is replaced that way and the link stays a link.
    - A FIFO, a device (``/dev/null``, a terminal) or anything else that is not a regular
      file is written straight through: it cannot be replaced, and must not be.
    - ``"-"`` is standard output and a binary file-like object is written as it is; both
      are flushed at the end, neither is closed.

    Parameters
    ----------
    dest : str, pathlib.Path or binary file-like
        Where the bytes go.

    Yields
    ------
    binary file-like
        Write bytes to it.

    Raises
    ------
    OSError
        If ``dest`` is a folder (``IsADirectoryError``) or cannot be written. Errors are
        not reworded here: callers say what was being written (see :func:`write_csv`).

    Examples
    --------
    >>> with open_output(tmp_path / "out.csv") as out:  # doctest: +SKIP
    ...     out.write(b"a,b\n1,2\n")
    """
    if not isinstance(dest, (str, os.PathLike)):
        yield dest
        if hasattr(dest, "flush"):
            dest.flush()
        return
    if str(dest) == "-":
        sys.stdout.flush()  # text already printed goes first
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(os.path.realpath(dest)) if os.path.islink(dest) else Path(dest)
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(dest))
    if info is not None and not stat.S_ISREG(info.st_mode):
        with open(target, "wb") as handle:
            yield handle
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if info is not None:
                os.chmod(handle.fileno(), stat.S_IMODE(info.st_mode))
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` atomically (see :func:`open_output`).

    Readers see the old content or the new, never a mix, even after a crash.

    Raises
    ------
    OSError
        If ``path`` cannot be written.
    """
    with open_output(path) as out:
        out.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Replace the file at ``path`` with ``text`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable: the folder's entry is data too. Best effort (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_broken_pipe(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a write to a closed pipe."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BrokenPipeError) or (
            isinstance(exc, OSError) and exc.errno == errno.EPIPE
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
