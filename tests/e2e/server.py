"""Start ``streamlit run Home.py`` on a free local port and stop it: one helper for the
e2e fixtures, the tests that need a second server, and ``docs/screenshots.py``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_TAIL_CHARS = 8_000


class ServerError(RuntimeError):
    """The server exited or did not answer its health check; the message has its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, limit: int = LOG_TAIL_CHARS) -> str:
    """The end of a log file, for failure messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return text if len(text) <= limit else "...\n" + text[-limit:]


def health_ok(url: str) -> bool:
    """Whether Streamlit at ``url`` answers ``/_stcore/health`` with ``ok``."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server and its process group; escalate to SIGKILL."""
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def streamlit_server(
    models_dir: Path,
    log_path: Path,
    *,
    app_dir: Path = REPO_ROOT,
    timeout: float = 60,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the app with its own model store; yields ``(url, process)`` once it is healthy.

    ``port`` fixes the port (e.g. when a sign-in redirect must name it); ``extra_args``
    are more ``streamlit run`` options (e.g. ``--secrets.files=PATH``).

    Raises
    ------
    ServerError
        When the server exits or is not healthy within ``timeout`` seconds.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SEGMENTATION_MODELS_DIR": str(models_dir),
        "PYTHONUNBUFFERED": "1",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    cmd = [
        sys.executable, "-m", "streamlit", "run", "Home.py",
        "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false", "--server.fileWatcherType=none", *extra_args,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=app_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so killpg gets every child
        )
    try:
        deadline = time.monotonic() + timeout
        while not health_ok(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                what = (
                    f"exited with code {proc.returncode}"
                    if proc.poll() is not None
                    else f"did not answer within {timeout:.0f} s"
                )
                raise ServerError(
                    f"Streamlit {what} ({url}/_stcore/health).\ncommand: {' '.join(cmd)}\n"
                    f"cwd: {app_dir}\n--- server log {log_path} ---\n{tail(log_path)}"
                )
            time.sleep(0.25)
        yield url, proc
    finally:
        stop(proc)
