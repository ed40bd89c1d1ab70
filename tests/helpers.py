"""Helpers shared by test modules: running the command line, an endless input stream."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, stdin=None, env=None) -> subprocess.CompletedProcess:
    """``python -m segmentation ARGS`` in a fresh process, from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "segmentation", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


class EndlessStream(io.RawIOBase):
    """A stream that never ends (like ``yes | python -m segmentation ...``), counting reads."""

    def __init__(self, fill: bytes = b"a") -> None:
        self.fill = fill
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = self.fill * len(buffer)
        self.served += len(buffer)
        return len(buffer)
