"""Sign-in and roles in the app: what each role sees, and what the engine refuses."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.access import AccessDenied, Actor
from segmentation.app import ui
from segmentation.store import ModelStore
from tests.app.conftest import HOME, TIMEOUT, open_page

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-secret",
    "client_id": "studio",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ROLES = {
    "admins": ["boss@example.com"],
    "analysts": ["@example.com"],
    "viewers": ["group:marketing"],
}
USERS = {
    "admin": {"email": "boss@example.com"},
    "analyst": {"email": "ana@example.com"},
    "viewer": {"email": "val@partner.org", "groups": ["marketing"]},
}


def signed_in(role: str | None) -> AppTest:
    """The app with sign-in configured, as a user of ``role`` (None: not signed in)."""
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["roles"] = ROLES
    if role is None:
        at.user["is_logged_in"] = False
    else:
        at.user.clear()
        at.user.update({"is_logged_in": True, **USERS[role]})
    at.run()
    assert not at.exception, at.exception
    return at


def labels(at) -> set[str]:
    return {b.label for b in at.button}


def test_without_sign_in_configured_home_says_so(app):
    """As the one analyst on a laptop I am told the studio is not shared with sign-in."""
    assert any("Sign-in is not configured" in c.value for c in app.caption)


def test_not_signed_in_sees_only_the_sign_in_button():
    """As a visitor of a team's studio I must sign in before I see any customer."""
    at = signed_in(None)
    assert labels(at) == {"Sign in"}
    assert not at.metric  # nothing of the model shows


def test_a_signed_in_account_without_a_role_is_refused():
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["roles"] = ROLES
    at.user.clear()
    at.user.update({"is_logged_in": True, "email": "stranger@elsewhere.net"})
    at.run()
    assert any("has no role" in e.value for e in at.error)
    assert "Sign out" in labels(at)


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_each_role_sees_its_controls(role):
    """A viewer looks, an analyst also trains and saves, an admin also activates and deletes."""
    at = signed_in(role)
    assert any(role in c.value for c in at.sidebar.caption)
    assert "Sign out" in labels(at)
    at = open_page(at, "5_Retrain.py")
    assert not at.exception
    shown = labels(at)
    assert ("Train" in shown) == (role != "viewer")
    assert ("Activate (roll back)" in shown) == (role == "admin")
    assert ("Delete" in shown) == (role == "admin")
    at = open_page(at, "1_Overview.py")
    assert not at.exception
    assert any(e.label == "Rename or edit a segment" for e in at.expander) == (role != "viewer")


def test_an_analyst_saves_without_activating(tmp_path):
    at = signed_in("analyst")
    at = open_page(at, "5_Retrain.py")
    at.slider(key="retrain.k").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    next(b for b in at.button if b.label == "Save as a new version").click()
    at.run()
    assert not at.exception
    store = ModelStore(ui.store().root)
    assert store.versions() == ["v1", "v2"] and store.active_version() == "v1"
    saved = [e for e in store.history() if e["action"] == "save"][-1]
    assert saved["user"] == "ana@example.com"


def test_the_engine_refuses_what_the_role_does_not_allow(tmp_path, customers):
    """The store itself refuses: a page hiding a button is not the only guard."""
    from segmentation.modeling.estimator import SegmentationModel

    model = SegmentationModel(k=3).fit(customers[0].head(300))
    data = customers[0].head(300)
    admin = ModelStore(tmp_path / "m", actor=Actor("boss@example.com", "admin"))
    admin.save(model, data=data, data_name="a.csv")
    admin.save(model, data=data, data_name="b.csv")
    viewer = ModelStore(tmp_path / "m", actor=Actor("val@partner.org", "viewer"))
    analyst = ModelStore(tmp_path / "m", actor=Actor("ana@example.com", "analyst"))
    with pytest.raises(AccessDenied, match="viewer: to train and save a version needs"):
        viewer.save(model, data=data, data_name="c.csv", activate=False)
    with pytest.raises(AccessDenied, match="rename segments"):
        viewer.rename_segment(None, 0, name="Core")
    with pytest.raises(AccessDenied, match="activate or roll back"):
        analyst.activate("v1")
    with pytest.raises(AccessDenied, match="delete a version"):
        analyst.delete("v1")
    with pytest.raises(AccessDenied, match="activate"):
        analyst.save(model, data=data, data_name="c.csv", activate=True)
    assert analyst.save(model, data=data, data_name="c.csv", activate=False) == "v3"
    assert admin.active_version() == "v2"
    analyst.rename_segment(None, 0, name="Core")
    admin.activate("v1")
    admin.delete("v3")
    users = [(e["action"], e["user"]) for e in admin.history()[-4:]]
    assert users == [
        ("save", "ana@example.com"),
        ("rename", "ana@example.com"),
        ("rollback", "boss@example.com"),
        ("delete", "boss@example.com"),
    ]
