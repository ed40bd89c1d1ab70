"""The app's one error boundary: an error nobody expected is explained, and the app goes on."""

import pytest

from segmentation.app import ui
from segmentation.errors import DataError
from segmentation.insight import explore
from segmentation.viz import charts
from tests.app.conftest import open_page, plain, pretend_active_model_is_from_another_scikit_learn
from tests.app.test_messy_files import transaction_log, upload

UNEXPECTED = "Something unexpected went wrong on this page"


def raiser(exc: BaseException):
    def boom(*args, **kwargs):
        raise exc

    return boom


def sidebar_text(at) -> str:
    return "\n".join(m.value for m in at.sidebar.markdown)


@pytest.mark.parametrize(
    ("page", "target", "name", "exc"),
    [
        ("1_Overview.py", charts, "segment_sizes_bar", RuntimeError("plotly broke")),
        ("2_Cluster_Analysis.py", charts, "radar_chart", MemoryError()),
        ("3_Predict.py", explore, "form_fields", OSError(28, "No space left on device")),
        ("4_Explorer.py", explore, "overview", ValueError("could not convert 'x' to float")),
        ("5_Retrain.py", explore, "history_table", RecursionError("maximum recursion depth")),
    ],
    ids=["overview", "cluster-analysis", "predict", "explorer", "retrain"],
)
def test_unexpected_error_is_explained(monkeypatch, app, page, target, name, exc):
    """As a user who hits a bug I read what went wrong, not a traceback, and can move on."""
    monkeypatch.setattr(target, name, raiser(exc))
    at = open_page(app, page)
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(UNEXPECTED), errors
    assert type(exc).__name__ in errors[0]
    assert "Your data and models are unchanged" in errors[0]
    assert "Active model" in sidebar_text(at), "the sidebar is drawn"
    # The menu still leads to the other pages.
    open_page(at, "1_Overview.py" if page != "1_Overview.py" else "5_Retrain.py")
    assert not at.exception and not at.error


def test_user_error_escaping_a_page_is_shown_as_it_is(app, monkeypatch):
    """As a user whose data the engine rejects I read the engine's message, not 'unexpected'."""
    monkeypatch.setattr(explore, "overview", raiser(DataError("the table has no rows")))
    at = open_page(app, "4_Explorer.py")
    assert not at.exception
    assert [e.value for e in at.error] == ["the table has no rows"]


def test_streamlit_control_flow_passes_through(app):
    """As a user I move between pages: st.switch_page and st.rerun are not errors."""
    at = open_page(app, "5_Retrain.py")
    at.slider(key="retrain.k").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    next(b for b in at.button if b.label == "Discard").click()  # calls st.rerun()
    at.run()
    assert not at.exception and not at.error
    assert "retrain.candidate" not in at.session_state


# -- the active model cannot be used --------------------------------------------------------

UNUSABLE = "The active model cannot be used: model v2 was saved with scikit-learn 0.1"


def save_a_second_version_and_break_it() -> None:
    """v1 stays usable; v2, a copy of it, becomes active and unusable."""
    store = ui.store()
    model, _ = store.load("v1")
    store.save(model, data=store.training_data("v1"), data_name="copy.csv", activate=True)
    pretend_active_model_is_from_another_scikit_learn()


@pytest.mark.parametrize(
    "page",
    [None, "1_Overview.py", "2_Cluster_Analysis.py", "3_Predict.py", "4_Explorer.py"],
    ids=["home", "overview", "cluster-analysis", "predict", "explorer-rfm"],
)
def test_unusable_active_model_is_explained_with_the_way_out(app, page):
    """As a user whose active model came from another scikit-learn I am told so on every page,
    pointed to Retrain, and the sidebar and menu still work."""
    save_a_second_version_and_break_it()
    at = open_page(app, page) if page else app.run()
    if page == "4_Explorer.py":  # the RFM tab needs a transaction log
        at = upload(at, "explorer.upload", "orders.csv", transaction_log())
        rfm = next(d.value for d in at.dataframe if "RFM segment" in d.value.columns)
        assert rfm["Customers"].sum() == 60, "RFM segments are shown without the model"
    assert not at.exception, at.exception
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(UNUSABLE), errors
    assert "activate another version in the model history on the Retrain page" in errors[0]
    assert [link.label for link in at.get("page_link")][-1] == "Go to Retrain"
    assert "The active model `v2` cannot be used." in [c.value for c in at.sidebar.caption]


def test_retrain_rolls_back_from_an_unusable_active_model(app):
    """As a user with an unusable active model I activate the previous version on Retrain,
    and every page works again."""
    save_a_second_version_and_break_it()
    at = open_page(app, "5_Retrain.py")
    assert not at.exception
    assert plain(at.error[0].value).startswith(UNUSABLE)
    assert "activate another version in the model history below" in plain(at.error[0].value)
    assert not at.get("page_link"), "no link to the page the user is on"
    at.selectbox(key="retrain.history_version").set_value("v1").run()
    next(b for b in at.button if b.label == "Activate (roll back)").click()
    at.run()
    assert not at.exception and not at.error
    assert ui.store().active_version() == "v1"
    for page in ("1_Overview.py", "2_Cluster_Analysis.py", "3_Predict.py"):
        at = open_page(at, page)
        assert not at.exception and not at.error, page
