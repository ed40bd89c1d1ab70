"""Take a full-page screenshot of every page of the app, for the README and for review.

Run by hand from anywhere::

    python docs/screenshots.py [--out docs/screenshots]

It starts ``streamlit run Home.py`` on a free local port with a temporary model store
(so the bundled default model is trained on first use and the repository's ``models/``
is never touched), opens each page in headless Chromium (Debian's ``/usr/bin/chromium``,
or ``CHROMIUM_PATH``) at 1280x800, waits until the script run has finished and the page
has stopped changing, and writes ``home.png``, ``overview.png``, ``cluster_analysis.png``,
``predict.png`` (after submitting the one-customer form), ``explorer.png`` and
``retrain.png``. The server is stopped at the end, also on failure.

Streamlit scrolls inside its main area rather than the document, so a plain full-page
screenshot would stop at 800 pixels: the window is made as tall as the page's content
(still 1280 wide) before each picture is taken.

Needs the test requirements (``requirements-dev.txt``: Playwright, pytest) and Chromium;
``playwright install`` is not used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path, wait_for_app  # noqa: E402
from tests.e2e.server import streamlit_server  # noqa: E402

WIDTH, HEIGHT = 1280, 800
RUN_TIMEOUT_MS = 180_000  # the first page trains the default model
MAX_HEIGHT = 12_000  # a runaway page must not make a gigantic picture

#: How much of the page is drawn: the page is done when this stops changing.
_LAYOUT_JS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]').length;
    const drawn = document.querySelectorAll(
        '[data-testid="stPlotlyChart"] .main-svg').length;
    const busy = document.querySelectorAll(
        '[data-testid="stSkeleton"], [data-testid="stSpinner"]').length;
    return JSON.stringify({
        height: main ? main.scrollHeight : 0,
        elements: document.querySelectorAll('[data-testid="stElementContainer"]').length,
        charts, drawn, busy,
    });
}"""

#: (file name, URL path, title heading, what to do before the picture).
PAGES: list[tuple[str, str, str, str | None]] = [
    ("home.png", "/", "Customer Segmentation Studio", None),
    ("overview.png", "/Overview", "Overview", None),
    ("cluster_analysis.png", "/Cluster_Analysis", "Cluster Analysis", None),
    ("predict.png", "/Predict", "Predict", "submit_form"),
    ("explorer.png", "/Explorer", "Explorer", None),
    ("retrain.png", "/Retrain", "Retrain", None),
]


@contextlib.contextmanager
def app_server(models_dir: Path, log_path: Path, timeout: float = 60) -> Iterator[str]:
    """``streamlit run Home.py`` on a free port; yields its URL and stops it afterwards."""
    with streamlit_server(models_dir, log_path, timeout=timeout) as (url, _):
        yield url


def wait_until_drawn(page, quiet_ms: int = 1500, timeout_s: float = 60) -> None:
    """Wait until the script is idle and the page has not changed for ``quiet_ms``: widgets
    are drawn a little after the run ends, and charts after that."""
    wait_for_app(page, timeout=RUN_TIMEOUT_MS)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = page.evaluate(_LAYOUT_JS)
        if now != last:
            last, since = now, time.monotonic()
        elif (time.monotonic() - since) * 1000 >= quiet_ms:
            state = json.loads(now)
            if not state["busy"] and state["drawn"] >= state["charts"]:
                return
        page.wait_for_timeout(250)
    print(f"  note: {page.url} still changing after {timeout_s:.0f} s: {last}", file=sys.stderr)


def submit_form(page) -> None:
    """Predict: find the segment of the typical customer the form starts with."""
    page.get_by_role("button", name="Find the segment").click()
    wait_for_app(page, timeout=RUN_TIMEOUT_MS)
    page.get_by_text("This customer belongs to", exact=True).wait_for(timeout=60_000)


ACTIONS: dict[str, Callable] = {"submit_form": submit_form}


def take(page, url: str, name: str, path: str, title: str, action: str | None, out: Path) -> Path:
    """Open ``path``, do ``action``, wait until drawn; save ``out/name``."""
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.goto(url + path)
    wait_for_app(page, timeout=RUN_TIMEOUT_MS)
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=60_000)
    heading = page.locator('[data-testid="stMain"] h1').first.inner_text().strip()
    if heading != title:
        print(f"  warning: {path} shows the title {heading!r}, not {title!r}", file=sys.stderr)
    if action:
        ACTIONS[action](page)
    wait_until_drawn(page)
    # Streamlit scrolls inside stMain: make the window as tall as the content.
    for _ in range(3):
        height = page.evaluate(
            """() => {
                const main = document.querySelector('[data-testid="stMain"]');
                return Math.ceil(main.scrollHeight + main.getBoundingClientRect().top);
            }"""
        )
        height = min(max(HEIGHT, height), MAX_HEIGHT)
        if height == page.viewport_size["height"]:
            break
        page.set_viewport_size({"width": WIDTH, "height": height})
        wait_until_drawn(page)
    problems = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    for text in problems.all_inner_texts():
        print(f"  warning: error on {path}: {text[:300]}", file=sys.stderr)
    target = out / name
    page.screenshot(path=str(target), full_page=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "docs" / "screenshots",
        help="folder for the PNG files (default: docs/screenshots)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="segmentation-screenshots-") as tmp:
        models_dir = Path(tmp) / "models"
        models_dir.mkdir()
        log_path = Path(tmp) / "server.log"
        with app_server(models_dir, log_path) as url, sync_playwright() as pw:
            print(f"app at {url}, models in {models_dir}")
            browser = pw.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
            )
            try:
                context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
                page = context.new_page()
                page.set_default_timeout(60_000)
                # Home first: it trains the default model, and the first request of a new
                # server must be '/' so that the pages run inside the app's navigation.
                for name, path, title, action in PAGES:
                    started = time.monotonic()
                    target = take(page, url, name, path, title, action, args.out)
                    size = page.viewport_size
                    print(
                        f"{name:22} {size['width']}x{size['height']:<6} "
                        f"{time.monotonic() - started:5.1f} s  {target}"
                    )
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
