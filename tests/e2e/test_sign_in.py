"""Sign-in for real, offline: a local OpenID Connect provider (oidc-provider-mock) on
127.0.0.1, the app configured against it, and Chromium signing in as each role, meeting a
refusal, and signing out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT, wait_for_app
from tests.e2e.server import ServerError, free_port, stop, streamlit_server, tail

USERS = [
    {"sub": "boss@example.com", "email": "boss@example.com"},
    {"sub": "ana@example.com", "email": "ana@example.com"},
    {"sub": "val@partner.org", "email": "val@partner.org", "groups": ["marketing"]},
    {"sub": "stranger@elsewhere.net", "email": "stranger@elsewhere.net"},
]


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[str]:
    """oidc-provider-mock on a free 127.0.0.1 port, with the four users predefined."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    claims = [arg for user in USERS for arg in ("--user-claims", json.dumps(user))]
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *claims]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the OpenID provider did not start:\n{tail(log)}")
                time.sleep(0.25)
        yield url
    finally:
        stop(proc)


_MODELS: dict[str, Path] = {}


def signed_app_models(url: str) -> Path:
    """The model store of the signed-in app at ``url``."""
    return _MODELS[url]


@pytest.fixture(scope="module")
def signed_app(provider, tmp_path_factory) -> Iterator[str]:
    """The app with sign-in configured against the local provider, and roles."""
    work = tmp_path_factory.mktemp("signed_app")
    port = free_port()
    secrets = work / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "e2e-cookie-secret-for-tests-only"\n'
        'client_id = "segmentation-studio"\n'
        'client_secret = "e2e-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        "\n[roles]\n"
        'admins = ["boss@example.com"]\n'
        'analysts = ["@example.com"]\n'
        'viewers = ["group:marketing"]\n'
    )
    (work / "models").mkdir()
    try:
        with streamlit_server(
            work / "models",
            work / "server.log",
            port=port,
            extra_args=(f"--secrets.files={secrets}",),
        ) as (url, _):
            _MODELS[url] = work / "models"
            yield url
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


def sign_in(browser, app_url: str, user: str):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_role("button", name=user, exact=True).click()
    page.wait_for_url(f"{app_url}/**")
    wait_for_app(page, timeout=90_000)
    return context, page


def end_session(page) -> None:
    """Streamlit's sign-out also ends the provider's session: confirm it there."""
    page.wait_for_url("**/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    wait_for_app(page, timeout=90_000)


@pytest.mark.parametrize(
    ("user", "role", "sees", "hidden"),
    [
        ("boss@example.com", "admin", ["Train", "Activate (roll back)"], []),
        ("ana@example.com", "analyst", ["Train"], ["Activate (roll back)"]),
        ("val@partner.org", "viewer", [], ["Train", "Activate (roll back)"]),
    ],
    ids=["admin", "analyst", "viewer"],
)
def test_each_role_signs_in_sees_its_controls_and_signs_out(
    browser, signed_app, user, role, sees, hidden, tmp_path: Path
):
    from playwright.sync_api import expect

    context, page = sign_in(browser, signed_app, user)
    try:
        sidebar = page.locator('[data-testid="stSidebar"]')
        box = sidebar.get_by_text("Signed in as")
        box.wait_for()
        assert box.inner_text().replace("\u2060", "") == f"Signed in as {user} ({role})"
        page.goto(f"{signed_app}/Retrain")
        wait_for_app(page, timeout=90_000)
        # Elements stream in as the script runs: wait for each expected one, and for the
        # last section (the audit log) before checking that the others are absent.
        for label in sees:
            expect(page.get_by_role("button", name=label, exact=True)).to_have_count(
                1, timeout=90_000
            )
        page.get_by_text("Audit log (").wait_for(timeout=90_000)
        wait_for_app(page, timeout=90_000)
        for label in hidden:
            assert page.get_by_role("button", name=label, exact=True).count() == 0, label
        if role == "viewer":
            page.get_by_text("need the analyst role").wait_for()
        page.screenshot(path=str(tmp_path / f"retrain-{role}.png"), full_page=True)
        page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
        end_session(page)
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.get_by_text("Model history").count() == 0
    finally:
        context.close()


def test_an_account_without_a_role_is_refused(browser, signed_app):
    context, page = sign_in(browser, signed_app, "stranger@elsewhere.net")
    try:
        page.get_by_text("has no role in this studio").wait_for()
        assert page.get_by_text("Active model").count() == 0
        page.get_by_role("button", name="Sign out").click()
        end_session(page)
        page.get_by_role("button", name="Sign in").wait_for()
    finally:
        context.close()


def test_four_signed_in_sessions_at_once_stay_isolated(browser, signed_app, tmp_path: Path):
    """Two colleagues label their own files while two others retrain and save, all at
    once: each download holds only its own customers, and the store stays consistent."""
    import re

    import pandas as pd
    from playwright.sync_api import expect

    from segmentation.data.synthetic import generate_customers
    from segmentation.store import ModelStore
    from tests.e2e.test_flows import RUN_MS, App, set_slider

    # E2E_TEAM_SESSIONS=8 runs eight (half labeling, half retraining) and prints timings.
    half = max(1, int(os.environ.get("E2E_TEAM_SESSIONS", "4")) // 2)
    labelers = [("val@partner.org", "ana@example.com")[n % 2] for n in range(half)]
    trainers = [
        ("boss@example.com" if n == 0 else "ana@example.com", 3 + n % 4) for n in range(half)
    ]
    sessions = []
    for user in labelers + [u for u, _ in trainers]:
        context, page = sign_in(browser, signed_app, user)
        sessions.append((context, App(page, signed_app, wait_for_app)))
    try:
        files = []
        for n, (_, app) in enumerate(sessions[:half]):
            frame = generate_customers(120 + 30 * n, seed=10 + n)
            frame["CustomerID"] = [f"S{n}-{i:04d}" for i in range(len(frame))]
            path = tmp_path / f"export_{n}.csv"
            frame.to_csv(path, index=False)
            files.append((path, frame))
            app.open("/Predict")
            app.page.get_by_role("tab", name="A file of customers").click()
            app.wait()
        for (_, app), (_, k) in zip(sessions[half:], trainers, strict=True):
            app.open("/Retrain")
            set_slider(app, "Number of segments (k)", k)
        # Start everything, then wait: the server runs the sessions at once.
        started = time.monotonic()
        took = {}
        for (_, app), (path, _) in zip(sessions[:half], files, strict=True):
            app.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                str(path)
            )
        for _, app in sessions[half:]:
            app.page.get_by_role("button", name="Train", exact=True).click()
        for (_, app), (path, frame) in zip(sessions[:half], files, strict=True):
            app.wait(RUN_MS)
            button = app.page.get_by_role("button", name="Download the labeled file (CSV)")
            expect(button).to_be_visible(timeout=RUN_MS)
            with app.page.expect_download(timeout=RUN_MS) as info:
                button.click()
            saved = tmp_path / f"labeled_{path.stem}.csv"
            info.value.save_as(saved)
            labeled = pd.read_csv(saved)
            assert labeled["CustomerID"].tolist() == frame["CustomerID"].tolist()
            took[f"label {path.name} ({len(frame)} rows)"] = time.monotonic() - started
        saved_as = []
        for (_, app), (user, k) in zip(sessions[half:], trainers, strict=True):
            app.wait(RUN_MS)
            label = (
                "Save as a new version and activate it"
                if user.startswith("boss")
                else "Save as a new version"
            )
            save = app.page.get_by_role("button", name=label, exact=True)
            expect(save).to_be_visible(timeout=RUN_MS)
            save.click()
            message = app.main.get_by_text(re.compile(r"Saved as (v\d+)"))
            expect(message).to_be_visible(timeout=RUN_MS)
            saved_as.append((user, re.search(r"Saved as (v\d+)", message.inner_text()).group(1)))
            took[f"train k={k} and save as {user}"] = time.monotonic() - started
            app.assert_healthy(f"Retrain of {user}")
        store = ModelStore(Path(signed_app_models(signed_app)))
        assert len({version for _, version in saved_as}) == half
        saves = {e["version"]: e["user"] for e in store.history() if e["action"] == "save"}
        for user, version in saved_as:
            assert saves[version] == user
        assert store.active_version() == saved_as[0][1]  # only the admin's save activates
        print(f"\n{2 * half} signed-in sessions at once, seconds from the start of all:")
        for what, seconds in took.items():
            print(f"  {seconds:6.1f}  {what}")
    finally:
        for context, _ in sessions:
            context.close()
