"""The app's one error boundary: an error nobody expected is explained, and the app goes on."""

import pytest

from segmentation.errors import DataError
from segmentation.insight import explore
from segmentation.viz import charts
from tests.app.conftest import open_page

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
