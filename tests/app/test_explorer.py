"""The Explorer page: the dataset in use, its rows, statistics, gaps, shapes and column roles."""

import pytest

from segmentation.workflows import load_default_data
from tests.app.conftest import open_page, plain

PAGE = "4_Explorer.py"


@pytest.fixture
def explorer(app):
    return open_page(app, PAGE)


def captions(at) -> str:
    return plain("\n".join(c.value for c in at.caption))


def test_bundled_data_is_explored(explorer):
    """As an analyst I open the Explorer and see the bundled customers summarised."""
    at = explorer
    assert not at.exception
    assert [t.value for t in at.title] == ["Explorer"]
    assert "customers.csv (bundled default)" in captions(at)
    assert at.metric[0].value == "1,000"
    assert "Showing all 1,000 rows." in captions(at)
    frames = [d.value for d in at.dataframe]
    assert any("Median" in f.columns for f in frames), "summary statistics are missing"
    roles = next(f for f in frames if list(f.columns)[:4] == ["column", "type", "role", "reason"])
    assert list(roles.columns)[4:] == ["purpose", "purpose_reason"]
    assert roles.set_index("column").loc["CustomerID", "role"] == "id"
    assert roles.set_index("column").loc["Age", "purpose"] == "describe"
    assert roles.set_index("column").loc["Income", "type"] == "number"
    assert len(at.get("plotly_chart")) >= 4  # missing, distribution, correlation, categories


def test_search_filters_the_rows(explorer):
    """As an analyst I look up the customers of one region."""
    at = explorer
    at.text_input(key="explorer.search").set_value("west")
    at.selectbox(key="explorer.search_column").set_value("Region")
    at.run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) > 0 and set(shown["Region"]) == {"West"}
    assert "matching rows" in captions(at)


def test_distribution_of_a_chosen_column(explorer):
    """As an analyst I pick a column and see how its values are spread."""
    at = explorer
    at.selectbox(key="explorer.distribution_column").set_value("Gender")
    at.run()
    assert not at.exception


def test_upload_survives_a_page_switch(explorer):
    """As an analyst I upload my own file, visit another page, and find it still in use."""
    at = explorer
    data = load_default_data().head(300).drop(columns=["Region"])
    at.file_uploader(key="explorer.upload").set_value(
        ("my_customers.csv", data.to_csv(index=False).encode(), "text/csv")
    )
    at.run()
    assert not at.exception
    assert "my_customers.csv" in captions(at)
    assert at.metric[0].value == "300"
    sidebar = plain("\n".join(m.value for m in at.sidebar.markdown))
    assert "Dataset in use  \nmy_customers.csv" in sidebar.replace("**", "")
    open_page(at, "3_Predict.py")
    open_page(at, PAGE)
    assert not at.exception
    assert "In use: **my_customers.csv** - 300 rows" in captions(at)
    assert at.metric[0].value == "300"


def test_unreadable_upload_keeps_the_dataset(explorer):
    """As an analyst who uploads a broken file I get a clear error and keep my data."""
    at = explorer
    at.file_uploader(key="explorer.upload").set_value(("scan.csv", b"%PDF-1.4 ...", "text/csv"))
    at.run()
    assert not at.exception
    assert at.error and "scan.csv" in plain(at.error[0].value)
    assert "customers.csv (bundled default)" in captions(at)
