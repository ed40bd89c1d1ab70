"""End-to-end user flows in headless Chromium against the real ``streamlit run Home.py`` server.

Every test drives the app as a user would: it clicks the sidebar menu (a custom component
rendered in an iframe), fills and submits forms, uploads a file and saves the download. The
answers the app shows are checked against the engine through the command line
(``python -m segmentation ... --models-dir <the server's store>``), so a page that shows a
plausible but wrong label fails.

The tests do not depend on their order: each one opens its own page and reads the active
model from the store when it needs it. ``test_retrain_*`` changes the active model, so it
is kept last all the same.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from tests.e2e.server import streamlit_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FrameLocator, Locator, Page

REPO_ROOT = Path(__file__).resolve().parents[2]

#: A first visit trains the default model and labels its customers: allow for a slow machine.
FIRST_RUN_MS = 180_000
#: Any other script run (page switch, form submit, upload, training on 1,000 rows).
RUN_MS = 120_000
#: Elements appear a little after the script run ends (lazily loaded widget code).
SHOW_MS = 60_000

MENU_IFRAME = '[data-testid="stSidebar"] iframe[title="streamlit_option_menu.option_menu"]'
MAIN = '[data-testid="stMain"]'

#: (menu item, title heading, URL path) of every page, in menu order.
PAGES = [
    ("Home", "Customer Segmentation Studio", "/"),
    ("Overview", "Overview", "/Overview"),
    ("Cluster Analysis", "Cluster Analysis", "/Cluster_Analysis"),
    ("Predict", "Predict", "/Predict"),
    ("Explorer", "Explorer", "/Explorer"),
    ("Retrain", "Retrain", "/Retrain"),
]
TITLE_OF = {path: title for _, title, path in PAGES}


# --------------------------------------------------------------------------- engine helpers


def run_cli(*args: str) -> str:
    """Run ``python -m segmentation ARGS`` from the repository; return its standard output."""
    proc = subprocess.run(
        [sys.executable, "-m", "segmentation", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        f"python -m segmentation {' '.join(args)} exited {proc.returncode}\n{proc.stderr}"
    )
    return proc.stdout


def store_listing(models_dir: Path) -> dict[str, Any]:
    """``python -m segmentation models``: ``{"active": version, "versions": [...]}``."""
    return json.loads(run_cli("models", "--models-dir", str(models_dir)))


def active_version_info(models_dir: Path) -> dict[str, Any]:
    """The metadata of the store's active version (there must be one)."""
    listing = store_listing(models_dir)
    assert listing["active"], f"no active model in {models_dir}: {listing}"
    return next(v for v in listing["versions"] if v["version"] == listing["active"])


def segment_names(info: dict[str, Any]) -> list[str]:
    return [s["name"] for s in info["segments"]]


# --------------------------------------------------------------------------- page helpers


class App:
    """The page of one browser tab and the steps a user takes in it."""

    def __init__(self, page: Page, base_url: str, wait: Callable[..., None]) -> None:
        self.page = page
        self.base_url = base_url
        self._wait = wait

    def wait(self, timeout: float = RUN_MS) -> None:
        """Wait for the script run that the last action started to finish."""
        self._wait(self.page, timeout=timeout)

    @property
    def main(self) -> Locator:
        return self.page.locator(MAIN)

    def title(self) -> Locator:
        return self.main.locator("h1").first

    def open(self, path: str, title: str | None = None, timeout: float = FIRST_RUN_MS) -> None:
        """Type ``base_url + path`` in the address bar and wait for the page's title."""
        from playwright.sync_api import expect

        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"GET {path} -> {response}"
        self.wait(timeout)
        expect(self.title()).to_have_text(title or TITLE_OF[path], timeout=SHOW_MS)
        self.wait(timeout)

    def menu(self) -> FrameLocator:
        """The sidebar menu's document (one menu iframe per page; wait for the current one)."""
        from playwright.sync_api import expect

        expect(self.page.locator(MENU_IFRAME)).to_have_count(1, timeout=SHOW_MS)
        return self.page.frame_locator(MENU_IFRAME)

    def menu_item(self, name: str) -> Locator:
        exact = re.compile(rf"^\s*{re.escape(name)}\s*$")
        return self.menu().locator("a.nav-link").filter(has_text=exact)

    def click_menu(self, name: str) -> None:
        """Click ``name`` in the sidebar menu and wait for that page to run."""
        item = self.menu_item(name)
        item.click()
        self.wait()

    def assert_healthy(self, where: str) -> None:
        """No uncaught exception and no error box on the page."""
        exceptions = self.page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, (
            f"uncaught exception on {where}: {exceptions.all_inner_texts()}"
        )
        errors = self.page.locator('[data-testid="stAlertContentError"]')
        texts = errors.all_inner_texts()
        tracebacks = [t for t in texts if "Traceback" in t or 'File "' in t]
        assert not tracebacks, f"error box with a traceback on {where}: {tracebacks}"
        assert not texts, f"error box on {where}: {texts}"

    def assert_not_found_dialog_absent(self, where: str) -> None:
        dialog = self.page.get_by_role("dialog").filter(has_text="Page not found")
        # The dialog comes with the first script run's messages; give it a moment to show.
        self.page.wait_for_timeout(500)
        assert dialog.count() == 0, f"'Page not found' on {where}: {dialog.all_inner_texts()}"

    def assert_app_shell(self, menu_item: str, where: str) -> None:
        """The app's own shell is shown: its menu with ``menu_item`` selected, no built-in
        page list, and the sidebar's active-model block (all drawn by Home.py)."""
        from playwright.sync_api import expect

        native_nav = self.page.locator('[data-testid="stSidebarNav"]')
        assert native_nav.count() == 0, (
            f"Streamlit's built-in page list is shown on {where} instead of the app's menu: "
            f"{native_nav.all_inner_texts()}"
        )
        expect(self.menu().locator("a.nav-link.active")).to_have_text(
            re.compile(rf"^\s*{re.escape(menu_item)}\s*$"), timeout=SHOW_MS
        )
        expect(self.page.locator('[data-testid="stSidebar"]')).to_contain_text("Active model")


@pytest.fixture
def app(page: Page, app_url: str, wait_for_app: Callable[..., None]) -> App:
    return App(page, app_url, wait_for_app)


@pytest.fixture
def models_dir(e2e_models_dir: Path) -> Path:
    """The model store the session's server serves."""
    return e2e_models_dir


# --------------------------------------------------------------------------- navigation


def test_sidebar_menu_reaches_every_page(app: App) -> None:
    """As an analyst I move between all pages with the sidebar menu, and each one works."""
    from playwright.sync_api import expect

    app.open("/")
    app.assert_healthy("Home")
    app.assert_app_shell("Home", "Home")

    for item, title, path in PAGES[1:] + PAGES[:1]:
        app.click_menu(item)
        expect(app.page).to_have_url(app.base_url + path, timeout=SHOW_MS)
        expect(app.title()).to_have_text(title, timeout=SHOW_MS)
        app.wait()
        app.assert_healthy(item)
        app.assert_app_shell(item, item)


@pytest.fixture(scope="session")
def served_home(browser: Browser, app_url: str) -> None:
    """The session's server has run Home.py once (the cold-server case is a separate test,
    ``test_direct_link_as_first_visit_of_a_new_server``)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(app_url)
        page.locator(MENU_IFRAME).wait_for(timeout=FIRST_RUN_MS)
    finally:
        context.close()


@pytest.mark.parametrize("path", [p for _, _, p in PAGES[1:]])
def test_direct_link_opens_the_page(app: App, path: str, served_home: None) -> None:
    """As an analyst I open a bookmarked page link and land on that page, not on an error."""
    from playwright.sync_api import expect

    app.open(path)
    app.assert_not_found_dialog_absent(path)
    expect(app.page).to_have_url(app.base_url + path)
    app.assert_healthy(path)
    item = next(item for item, _, p in PAGES if p == path)
    app.assert_app_shell(item, path)


def test_unknown_link_says_page_not_found(app: App) -> None:
    """As an analyst with a stale link I am told the page does not exist and sent Home."""
    from playwright.sync_api import expect

    app.page.goto(app.base_url + "/No_Such_Page")
    app.wait(FIRST_RUN_MS)
    # Also proves the dialog check of the other tests can see the dialog.
    expect(app.page.get_by_role("dialog").filter(has_text="Page not found")).to_be_visible(
        timeout=SHOW_MS
    )
    expect(app.title()).to_have_text(TITLE_OF["/"], timeout=SHOW_MS)


def test_sidebar_menu_shows_every_item_in_full(app: App) -> None:
    """As an analyst I can see every item of the sidebar menu on every page."""
    from playwright.sync_api import expect

    clipped = []
    app.open("/")
    for item, title, _ in PAGES[1:] + PAGES[:1]:
        app.click_menu(item)
        expect(app.title()).to_have_text(title, timeout=SHOW_MS)
        app.wait()
        frame = app.page.locator(MENU_IFRAME)
        # The frame sizes itself after it has drawn; give it the time a user would.
        app.page.wait_for_timeout(1000)
        frame_box = frame.bounding_box()
        last_box = app.menu_item(PAGES[-1][0]).bounding_box()
        assert frame_box and last_box
        if last_box["y"] + last_box["height"] > frame_box["y"] + frame_box["height"] + 0.5:
            clipped.append(
                f"{item}: frame ends at {frame_box['y'] + frame_box['height']:.0f} px, "
                f"its last item at {last_box['y'] + last_box['height']:.0f} px"
            )
    assert not clipped, "sidebar menu cut off on " + "; ".join(clipped)


def test_explorer_tabs_all_render(app: App) -> None:
    """As an analyst I look through every tab of the Explorer without hitting an error."""
    from playwright.sync_api import expect

    app.open("/Explorer")
    tabs = app.main.get_by_role("tab")
    expect(tabs.first).to_be_visible(timeout=SHOW_MS)
    names = [t.strip() for t in tabs.all_inner_texts()]
    assert len(names) >= 7, names
    for name in names:
        tab = app.main.get_by_role("tab", name=name, exact=True)
        tab.click()
        app.wait()
        expect(tab).to_have_attribute("aria-selected", "true")
        panel = app.main.get_by_role("tabpanel").filter(visible=True)
        expect(panel).to_have_count(1)
        expect(panel).not_to_be_empty()
        app.assert_healthy(f"Explorer, tab {name!r}")


# --------------------------------------------------------------------------- a fresh server


@contextlib.contextmanager
def fresh_server(models_dir: Path, log_path: Path) -> Iterator[str]:
    """A second ``streamlit run Home.py`` that has served no request yet; yields its URL."""
    with streamlit_server(models_dir, log_path) as (url, _):
        yield url


def test_direct_link_as_first_visit_of_a_new_server(
    app: App, models_dir: Path, tmp_path: Path, wait_for_app: Callable[..., None]
) -> None:
    """As the first visitor after a deploy I open a bookmarked page and get the full app."""
    # A copy of the session's store, with its model trained, so nothing is trained here.
    app.open("/")
    store = tmp_path / "models"
    shutil.copytree(models_dir, store)
    with fresh_server(store, tmp_path / "fresh_server.log") as url:
        fresh = App(app.page, url, wait_for_app)
        fresh.open("/Predict")
        fresh.assert_not_found_dialog_absent("/Predict on a new server")
        fresh.assert_healthy("/Predict on a new server")
        fresh.assert_app_shell("Predict", "/Predict on a new server")


# --------------------------------------------------------------------------- user data as text

#: Links and images in the page (SVG links of plotly charts included) that point at ``host``.
LINKS_TO_JS = """(host) => {
    const found = [];
    for (const img of document.querySelectorAll('img'))
        if ((img.src || '').includes(host)) found.push('img ' + img.src);
    for (const a of document.querySelectorAll('a')) {
        const href = a.getAttribute('href')
            || a.getAttributeNS('http://www.w3.org/1999/xlink', 'href') || '';
        if (href.includes(host)) found.push('a ' + href);
    }
    return found;
}"""


#: Every plotly chart of the page has drawn its SVG (labels and hovers are in it).
CHARTS_DRAWN_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every((chart) => chart.querySelector('.main-svg'))"""


def test_names_from_data_are_text_in_the_browser(
    app: App, tmp_path: Path, wait_for_app: Callable[..., None]
) -> None:
    """As a colleague of someone who trained on a file with Markdown and HTML in its names,
    I see those names as text, and my browser fetches nothing they point to."""
    import numpy as np

    from segmentation.data.synthetic import generate_customers
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.store import ModelStore

    file_name = "![x](http://example.invalid/a.png).csv"
    data, personas = generate_customers(600, seed=7, return_personas=True)
    first, second = np.unique(personas)[:2]
    value, html = "[click](http://example.invalid)", '<a href="http://example.invalid/h">h</a>'
    data["[c](http://example.invalid)"] = np.where(personas == first, value, "plain")
    data["<b>b</b> col"] = np.where(personas == second, html, "x")
    store = tmp_path / "models"
    store.mkdir()
    model = SegmentationModel(k=5, random_state=0).fit(data)
    ModelStore(store).save(model, data=data, data_name=file_name, activate=True)

    fetched: list[str] = []
    app.page.on("request", lambda r: fetched.append(r.url) if "example.invalid" in r.url else None)
    with fresh_server(store, tmp_path / "user_text_server.log") as url:
        user = App(app.page, url, wait_for_app)
        for path in ("/", "/Overview", "/Cluster_Analysis"):
            user.open(path)
            user.page.wait_for_function(CHARTS_DRAWN_JS, timeout=SHOW_MS)
            user.assert_healthy(path)
            assert user.page.evaluate(LINKS_TO_JS, "example.invalid") == [], path
            sidebar = user.page.locator('[data-testid="stSidebar"]').inner_text()
            assert file_name in sidebar.replace("\u2060", ""), sidebar
    assert not fetched, fetched


# --------------------------------------------------------------------------- Predict


def read_form_record(form: Locator, info: dict[str, Any]) -> dict[str, Any]:
    """The customer the form describes, as ``{model column: value}``."""
    from segmentation.insight.profiles import humanize

    record: dict[str, Any] = {}
    for feature in info["features"]:
        field = form.get_by_label(humanize(feature), exact=True)
        value = field.input_value()
        if field.get_attribute("role") == "combobox":
            record[feature] = value
        else:
            number = float(value.replace(",", ""))
            record[feature] = int(number) if number.is_integer() else number
    return record


def test_predict_one_customer(app: App, models_dir: Path) -> None:
    """As a sales rep I describe one customer in the form and see the segment they belong to."""
    from playwright.sync_api import expect

    info = active_version_info(models_dir)
    names = segment_names(info)
    app.open("/Predict")
    app.assert_healthy("Predict")

    form = app.page.locator('[data-testid="stForm"]')
    # Recency forms the segments (Age only describes them by default).
    recency = form.get_by_label("Recency", exact=True)
    expect(recency).to_be_visible(timeout=SHOW_MS)
    old = float(recency.input_value())
    new = old - 10 if old >= 40 else old + 10
    recency.fill(f"{new:g}")
    recency.press("Tab")  # commit the value; Enter would submit the form
    expect(recency).to_have_value(f"{new:g}")
    record = read_form_record(form, info)
    assert record["Recency"] == new

    form.get_by_role("button", name="Find the segment").click()
    app.wait()

    # ``has=`` locators are relative to the candidate element, so start at the page.
    caption = app.page.get_by_text("This customer belongs to", exact=True)
    expect(caption).to_be_visible(timeout=SHOW_MS)
    result = app.main.locator('[data-testid="stVerticalBlock"]').filter(has=caption).last
    shown = result.locator("h3").first.inner_text().strip()
    assert shown in names, f"segment {shown!r} is not one of the model's segments {names}"
    app.assert_healthy("Predict after submitting the form")

    # The engine, asked about the same customer, gives the same answer.
    expected = json.loads(
        run_cli(
            "predict",
            "--models-dir",
            str(models_dir),
            "--model",
            info["version"],
            "--json",
            json.dumps(record),
        )
    )
    assert shown == expected["segment"], (record, expected)
    distance = result.locator('[data-testid="stMetric"]').filter(
        has_text="Distance to the segment centre"
    )
    shown_distance = float(distance.locator('[data-testid="stMetricValue"]').inner_text())
    assert shown_distance == pytest.approx(expected["cluster_distance"], abs=0.01)


def write_customer_file(path: Path) -> pd.DataFrame:
    """150 customers as an analyst's export: other column order, one snake_case name."""
    from segmentation.data.synthetic import generate_customers

    frame = generate_customers(150, seed=3)
    columns = list(frame.columns)
    order = columns[::-1][:5] + columns[::-1][5:][::-1]  # deterministic shuffle
    assert sorted(order) == sorted(columns) and order != columns
    frame = frame[order].rename(columns={"SpendingScore": "spending_score"})
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


def test_predict_a_customer_file(app: App, models_dir: Path, tmp_path: Path) -> None:
    """As a CRM analyst I upload my customer export and download it labeled with segments."""
    from playwright.sync_api import expect

    upload = tmp_path / "march_customers.csv"
    original = write_customer_file(upload)
    info = active_version_info(models_dir)
    names = segment_names(info)

    app.open("/Predict")
    app.page.get_by_role("tab", name="A file of customers").click()
    app.wait()
    dropzone = app.page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    expect(dropzone).to_have_count(1, timeout=SHOW_MS)
    dropzone.set_input_files(str(upload))
    app.wait()

    expect(app.main.get_by_text("Labeled file: march_customers.csv (150 rows)")).to_be_visible(
        timeout=RUN_MS
    )
    button = app.page.get_by_role("button", name="Download the labeled file (CSV)")
    expect(button).to_be_visible(timeout=SHOW_MS)
    app.assert_healthy("Predict after an upload")

    with app.page.expect_download(timeout=RUN_MS) as download_info:
        button.click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == "march_customers_segments.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    labeled = pd.read_csv(saved)
    assert len(labeled) == 150
    added = ["cluster", "segment", "cluster_distance"]
    assert list(labeled.columns[: len(original.columns)]) == list(original.columns)
    assert sorted(labeled.columns[len(original.columns) :]) == sorted(added)
    assert labeled["CustomerID"].tolist() == original["CustomerID"].tolist()
    pd.testing.assert_frame_equal(
        labeled[original.columns], original, check_dtype=False, check_exact=False
    )
    unknown = set(labeled["segment"]) - set(names)
    assert not unknown, f"segments {unknown} are not the model's {names}"
    assert labeled["cluster_distance"].ge(0).all()

    # The command line labels the same file the same way.
    cli_out = tmp_path / "cli_labeled.csv"
    run_cli(
        "predict",
        "--models-dir",
        str(models_dir),
        "--model",
        info["version"],
        "--data",
        str(upload),
        "--out",
        str(cli_out),
    )
    expected = pd.read_csv(cli_out)
    assert labeled["segment"].tolist() == expected["segment"].tolist()
    assert labeled["cluster"].tolist() == expected["cluster"].tolist()

    # The same customers, one CSV per segment in a zip, built when the button is clicked.
    by_segment = app.page.get_by_role("button", name="Download by segment").first
    with app.page.expect_download(timeout=RUN_MS) as download_info:
        by_segment.click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == "march_customers_segments.zip"
    with zipfile.ZipFile(download.path()) as archive:
        manifest = pd.read_csv(archive.open("manifest.csv"))
        parts = {row.segment: pd.read_csv(archive.open(row.file)) for row in manifest.itertuples()}
    assert set(parts) == set(labeled["segment"])
    for segment, part in parts.items():
        assert part["CustomerID"].tolist() == (
            labeled.loc[labeled["segment"] == segment, "CustomerID"].tolist()
        )


# --------------------------------------------------------------------------- Overview's report


def test_overview_report_opens_with_no_internet(app: App, models_dir: Path, tmp_path: Path) -> None:
    """As an analyst I download the report and open it on a laptop with no internet: the
    charts draw and every segment is there."""
    from playwright.sync_api import expect

    app.open("/Overview")  # a first visit trains the default model
    names = segment_names(active_version_info(models_dir))
    button = app.page.get_by_role("button", name="Download the report (HTML)")
    expect(button).to_be_visible(timeout=RUN_MS)
    with app.page.expect_download(timeout=RUN_MS) as download_info:
        button.click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".html")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    report = app.page.context.new_page()
    fetched: list[str] = []
    report.route(
        re.compile(r"^(?!file:|data:|blob:|about:)"),
        lambda route: (fetched.append(route.request.url), route.abort()),
    )
    report.goto(saved.as_uri())
    # Sizes, donut and map (and the sweep when k was chosen) are drawn by plotly.
    expect(report.locator(".plotly-graph-div .main-svg").first).to_be_visible(timeout=SHOW_MS)
    assert report.locator(".plotly-graph-div").count() >= 3
    for name in names:
        heading = report.locator("article.card h3", has_text=re.compile(rf"^{re.escape(name)}$"))
        expect(heading).to_have_count(1)
    assert fetched == [], f"the report fetched {fetched}"
    report.close()


# --------------------------------------------------------------------------- Retrain (last)


def set_slider(app: App, label: str, target: int) -> None:
    """Move a single-value slider with the keyboard until it shows ``target``."""
    from playwright.sync_api import expect

    slider = app.main.locator('[data-testid="stSlider"]').filter(has_text=label)
    thumb = slider.get_by_role("slider")
    expect(thumb).to_have_count(1, timeout=SHOW_MS)
    thumb.focus()
    for _ in range(20):
        value = int(thumb.get_attribute("aria-valuetext") or thumb.input_value())
        if value == target:
            break
        thumb.press("ArrowRight" if value < target else "ArrowLeft")
    shown = slider.get_by_test_id("stSliderThumbValue")
    expect(shown).to_have_text(str(target))
    app.wait()
    expect(shown).to_have_text(str(target))


def test_retrain_with_another_k_and_activate(app: App, models_dir: Path) -> None:
    """As a data analyst I retrain with a different number of segments and make it active."""
    from playwright.sync_api import expect

    before = store_listing(models_dir)
    if not before["active"]:
        app.open("/")  # the first visit trains the default model
        before = store_listing(models_dir)
    old_versions = {v["version"] for v in before["versions"]}
    old_k = next(v["k"] for v in before["versions"] if v["version"] == before["active"])
    target = 3 if old_k != 3 else 4

    app.open("/")
    app.click_menu("Retrain")
    expect(app.title()).to_have_text("Retrain", timeout=SHOW_MS)
    set_slider(app, "Number of segments (k)", target)

    app.page.get_by_role("button", name="Train", exact=True).click()
    app.wait(RUN_MS)
    expect(app.main.get_by_role("heading", name="4. The new model")).to_be_visible(timeout=RUN_MS)
    app.assert_healthy("Retrain after training")
    save = app.page.get_by_role("button", name="Save as a new version and activate it")
    expect(save).to_be_visible(timeout=SHOW_MS)
    save.click()
    app.wait()

    saved = app.main.get_by_text(re.compile(r"Saved as (\S+) and activated"))
    expect(saved).to_be_visible(timeout=RUN_MS)
    version = re.search(r"Saved as (\S+) and activated", saved.inner_text()).group(1)
    assert version not in old_versions, (version, old_versions)
    app.assert_healthy("Retrain after saving")

    sidebar = app.page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text(re.compile(rf"Active model\s+{re.escape(version)}\b"))
    expect(sidebar).to_contain_text(f"{target} segments")

    after = store_listing(models_dir)
    assert after["active"] == version, after
    new = next(v for v in after["versions"] if v["version"] == version)
    assert new["k"] == target
    assert len(new["segments"]) == target
    assert old_versions < {v["version"] for v in after["versions"]}, "old versions must stay"

    # Every page now uses it: the Overview counts the new number of segments.
    app.click_menu("Overview")
    segments = app.main.locator('[data-testid="stMetric"]').filter(has_text="Segments")
    expect(segments.locator('[data-testid="stMetricValue"]')).to_have_text(
        str(target), timeout=SHOW_MS
    )
    app.assert_healthy("Overview after retraining")
