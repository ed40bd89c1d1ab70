"""Fixtures for end-to-end tests: a real Streamlit server driven by headless Chromium.

Fixtures (all tests in ``tests/e2e`` are marked ``e2e`` automatically):

``app_server`` (session)
    Starts ``python -m streamlit run Home.py`` on a free local port and yields an
    :class:`AppServer` (``url``, ``models_dir``, ``log_path``, ``process``). The
    server gets ``SEGMENTATION_MODELS_DIR`` pointing at a fresh temporary directory,
    so tests never touch the repository's ``models/`` store. Its output goes to
    ``log_path``; the tail of that log is attached to every failing e2e test report.
``app_url`` (session)
    The server's base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash).
``e2e_models_dir`` (session)
    The temporary models directory the server writes to (shared by the session).
``browser`` (session)
    A Playwright ``Browser``: Debian's Chromium (``CHROMIUM_PATH``, default
    ``/usr/bin/chromium``), headless. When Playwright or Chromium is missing the
    e2e tests are skipped, unless ``CI`` or ``E2E_REQUIRED`` is set: then they fail.
``page`` (function)
    A fresh ``Page`` in a new context (1280x800, downloads accepted, 30 s default
    timeout). On failure a screenshot and the page HTML are saved (see
    ``E2E_ARTIFACTS_DIR``) and their paths added to the report.
``app_page`` (function)
    ``page`` already opened at ``app_url`` with the first script run finished.
``wait_for_app`` (function)
    The :func:`wait_for_app` helper, for tests that prefer a fixture to an import.

Environment variables:

``E2E_APP_DIR``      directory holding ``Home.py`` (default: the repository root)
``CHROMIUM_PATH``    Chromium executable (default ``/usr/bin/chromium``)
``E2E_REQUIRED``     if set (or ``CI`` is set), missing Playwright/Chromium fails
``E2E_SERVER_TIMEOUT`` seconds to wait for the server health check (default 60)
``E2E_ARTIFACTS_DIR``  where failure screenshots go (default: pytest's tmp dir)
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.server import ServerError, streamlit_server, tail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
DEFAULT_TIMEOUT_MS = 30_000

_SERVER_LOG_KEY = pytest.StashKey[Path]()
_REPORTS_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()


# --------------------------------------------------------------------------- helpers


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in {"", "0", "false", "no", "off"}


def e2e_required() -> bool:
    """True when e2e tests must run (CI), so missing prerequisites fail, not skip."""
    return _truthy(os.environ.get("CI")) or _truthy(os.environ.get("E2E_REQUIRED"))


def _unavailable(reason: str) -> None:
    """Skip locally; fail in CI (``CI`` or ``E2E_REQUIRED`` set)."""
    if e2e_required():
        pytest.fail(f"e2e prerequisites missing (CI/E2E_REQUIRED is set): {reason}")
    pytest.skip(f"e2e prerequisites missing: {reason}")


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM


def _check_prerequisites() -> None:
    """Cheap checks done before starting anything expensive."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        _unavailable(f"the Python package 'playwright' cannot be imported ({exc})")
    exe = chromium_path()
    resolved = shutil.which(exe) if os.sep not in exe else exe
    if not resolved or not os.access(resolved, os.X_OK):
        _unavailable(
            f"Chromium not found at {exe!r} (set CHROMIUM_PATH, or "
            "`apt-get install chromium`; `playwright install` is not used)"
        )


def app_dir() -> Path:
    return Path(os.environ.get("E2E_APP_DIR") or REPO_ROOT).resolve()


# The app has finished a run when it is connected and its script is not running.
# "compilationError" also means the run is over (the page then shows stException).
_APP_IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return false;
    const conn = app.getAttribute('data-test-connection-state');
    const state = app.getAttribute('data-test-script-state');
    if (conn !== 'CONNECTED') return false;
    if (state !== 'notRunning' && state !== 'compilationError') return false;
    const main = document.querySelector('[data-testid="stMain"], section.main');
    if (!main || main.getClientRects().length === 0) return false;
    const running = document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
    return !running;
}"""


def wait_for_app(page: Page, timeout: float = DEFAULT_TIMEOUT_MS, settle_ms: int = 200) -> None:
    """Wait until Streamlit has finished running the script and the main area is shown.

    Uses the ``stApp`` element's ``data-test-connection-state="CONNECTED"`` and
    ``data-test-script-state="notRunning"`` attributes (Streamlit 1.67), plus the
    absence of the status widget's running icon and a visible ``stMain``. A rerun
    triggered by a click starts a few milliseconds later, so the idle state must
    hold for ``settle_ms`` twice in a row before this returns.

    Call it after ``page.goto(...)`` and after every interaction that reruns the
    script (button click, widget change, page switch).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    deadline = time.monotonic() + timeout / 1000
    while True:
        remaining_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            page.wait_for_function(_APP_IDLE_JS, timeout=remaining_ms)
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"Streamlit app at {page.url} did not finish running within {timeout:.0f} ms; "
                f"stApp state: {_app_state(page)}"
            ) from None
        page.wait_for_timeout(settle_ms)
        if page.evaluate(_APP_IDLE_JS):
            return


def _app_state(page: Page) -> dict[str, Any] | str:
    try:
        return page.evaluate(
            """() => {
                const a = document.querySelector('[data-testid="stApp"]');
                return a ? {script: a.getAttribute('data-test-script-state'),
                            connection: a.getAttribute('data-test-connection-state')}
                         : 'no stApp element';
            }"""
        )
    except Exception as exc:  # page closed or navigating
        return f"unknown ({exc})"


# --------------------------------------------------------------------------- fixtures


@dataclasses.dataclass(frozen=True)
class AppServer:
    url: str
    port: int
    app_dir: Path
    models_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    _check_prerequisites()
    root = app_dir()
    if not (root / "Home.py").is_file():
        pytest.fail(f"no Home.py in {root} (E2E_APP_DIR={os.environ.get('E2E_APP_DIR')!r})")

    work = tmp_path_factory.mktemp("streamlit_server")
    models_dir = work / "models"
    models_dir.mkdir()
    log_path = work / "server.log"
    request.config.stash[_SERVER_LOG_KEY] = log_path
    timeout = float(os.environ.get("E2E_SERVER_TIMEOUT", "60"))
    try:
        server = streamlit_server(models_dir, log_path, app_dir=root, timeout=timeout)
        url, proc = server.__enter__()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield AppServer(url, int(url.rsplit(":", 1)[1]), root, models_dir, log_path, proc)
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def app_url(app_server: AppServer) -> str:
    return app_server.url


@pytest.fixture(scope="session")
def e2e_models_dir(app_server: AppServer) -> Path:
    return app_server.models_dir


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _check_prerequisites()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        try:
            browser = pw.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {chromium_path()!r} failed to launch: {exc}")
        yield browser
        browser.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    pg = context.new_page()
    pg.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield pg
        _save_failure_artifacts(request, pg, tmp_path)
    finally:
        context.close()


@pytest.fixture
def app_page(page: Page, app_url: str) -> Page:
    page.goto(app_url)
    wait_for_app(page)
    return page


@pytest.fixture(name="wait_for_app")
def wait_for_app_fixture() -> Any:
    return wait_for_app


def _save_failure_artifacts(request: pytest.FixtureRequest, pg: Page, tmp_path: Path) -> None:
    reports = request.node.stash.get(_REPORTS_KEY, {})
    call = reports.get("call")
    if call is None or not call.failed:
        return
    base = os.environ.get("E2E_ARTIFACTS_DIR")
    out = Path(base) if base else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    shot, html = out / f"{stem}.png", out / f"{stem}.html"
    try:
        pg.screenshot(path=str(shot), full_page=True)
        html.write_text(pg.content(), encoding="utf-8")
    except Exception as exc:  # the page may be gone; the report still matters
        call.sections.append(("e2e artifacts", f"could not save: {exc}"))
        return
    call.sections.append(("e2e artifacts", f"screenshot: {shot}\nhtml: {html}"))


# --------------------------------------------------------------------------- hooks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if E2E_DIR not in Path(str(item.path)).resolve().parents:
        return report
    item.stash.setdefault(_REPORTS_KEY, {})[report.when] = report
    if report.failed:
        log_path = item.config.stash.get(_SERVER_LOG_KEY, None)
        if log_path is not None and log_path.exists():
            report.sections.append((f"streamlit server log ({log_path})", tail(log_path)))
    return report
