"""The one atomic write: regular files replaced whole, links followed, pipes and devices
written through, never replaced by a regular file."""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading

import pandas as pd
import pytest

from segmentation.data.write import (
    atomic_write_bytes,
    atomic_write_text,
    is_broken_pipe,
    open_output,
    write_csv,
)
from segmentation.errors import DataError

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file types")


def _leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_regular_file_is_replaced_whole_and_keeps_its_permissions(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    path.chmod(0o600)

    atomic_write_text(path, "new\n")

    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


def test_an_error_while_writing_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")

    with pytest.raises(RuntimeError), open_output(path) as out:
        out.write(b"half of the new")
        raise RuntimeError("the writer failed")

    assert path.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_missing_folders_are_created(tmp_path):
    atomic_write_bytes(tmp_path / "a" / "b" / "out.bin", b"\x00\x01")

    assert (tmp_path / "a" / "b" / "out.bin").read_bytes() == b"\x00\x01"


@posix_only
def test_a_symlink_stays_a_link_and_its_target_is_replaced(tmp_path):
    target = tmp_path / "real" / "target.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)

    write_csv(pd.DataFrame({"a": [1]}), link)

    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == '"a"\n1\n'
    assert _leftovers(tmp_path) == [] and _leftovers(target.parent) == []


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "new.csv")

    atomic_write_text(link, "x\n")

    assert link.is_symlink() and (tmp_path / "new.csv").read_text() == "x\n"


@posix_only
def test_a_fifo_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()

    write_csv(pd.DataFrame({"a": [1, 2]}), fifo)
    reader.join(timeout=30)

    assert received == [b'"a"\n1\n2\n']
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_a_device_node_is_written_through_not_replaced(tmp_path):
    device = tmp_path / "null"  # a private copy of /dev/null: the real one is never at risk
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))

    write_csv(pd.DataFrame({"a": [1]}), device)

    assert stat.S_ISCHR(device.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError), open_output(tmp_path):
        pass
    with pytest.raises(DataError, match="is a folder; give a file name"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path)


def test_write_csv_says_what_could_not_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(DataError, match="cannot write .*choose a folder you can write to"):
        write_csv(pd.DataFrame({"a": [1]}), blocker / "out.csv")  # a file is not a folder


def test_a_stream_is_written_and_flushed_not_closed(tmp_path):
    with open(tmp_path / "s.bin", "wb") as handle:
        with open_output(handle) as out:
            out.write(b"abc")
        assert not handle.closed
    assert (tmp_path / "s.bin").read_bytes() == b"abc"


def test_is_broken_pipe_sees_through_wrapping():
    try:
        try:
            raise OSError(errno.EPIPE, "Broken pipe")
        except OSError as exc:
            raise DataError("cannot write '-'") from exc
    except DataError as wrapped:
        assert is_broken_pipe(wrapped)
    assert is_broken_pipe(BrokenPipeError())
    assert not is_broken_pipe(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_broken_pipe(ValueError("x"))
