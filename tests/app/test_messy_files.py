"""Analysts' real files in the app: messy exports, transaction logs, and clear errors."""

import io

import pandas as pd
import pytest

from segmentation import config
from segmentation.store import ModelStore
from segmentation.workflows import load_default_data
from tests.app.conftest import open_page, plain


def upload(at, key_prefix, name, data):
    uploader = next(u for u in at.file_uploader if u.key.startswith(key_prefix))
    uploader.set_value((name, data, "text/csv"))
    at.run()
    return at


def csv_of(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def errors(at) -> str:
    return plain("\n".join(e.value for e in at.error))


def transaction_log() -> bytes:
    lines = ["InvoiceNo,InvoiceDate,CustomerID,Quantity,UnitPrice"]
    for c in range(60):
        for i in range(1 + c % 5):
            day = 1 + (c * 7 + i * 3) % 28
            lines.append(
                f"{1000 + c * 10 + i},2024-03-{day:02d} 10:00,{500 + c}.0,"
                f"{1 + (i * c) % 7},{2 + c % 9}.5"
            )
    lines += ["C9999,2024-03-20 11:00,501.0,-1,6", "2000,2024-03-21 12:00,,3,4"]
    return ("\n".join(lines) + "\n").encode()


def messy_customers() -> bytes:
    """Semicolons, Latin-1, padded headers with units, thousands separators, NA tokens."""
    rows = ["Kundennr ; Stadt ;Umsatz (EUR) ; Alter ; Besuche"]
    for i in range(80):
        city = ["München", "Köln", "Düsseldorf"][i % 3]
        spend = f"{(i % 9) * 1100 + 250:,}".replace(",", ".") + ",50"
        age = "n/a" if i % 17 == 0 else str(20 + (i * 7) % 50)
        rows.append(f"K{i:04d};{city};{spend};{age};{1 + i % 12}")
    return ("\n".join(rows) + "\n").encode("latin-1")


def _customer_rows(n: int) -> list[str]:
    return [
        f"C{i:04d},{20 + i % 50},{'Female' if i % 2 else 'Male'},{30000 + i * 100}"
        for i in range(n)
    ]


def _with_header(rows: list[str]) -> bytes:
    return ("CustomerID,Age,Gender,Income\n" + "\n".join(rows) + "\n").encode()


BAD_FILES = {
    "empty": (b"", "empty"),
    "header-only": (b"a,b,c\n", "no data rows"),
    "image": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a table"),
    "json": (b'[{"a": 1}, {"a": 2}]', "JSON"),
    # Silently wrong before issue 8: half the rows read into the id column.
    "mixed-delimiters": (
        _with_header(_customer_rows(30) + [r.replace(",", ";") for r in _customer_rows(60)[30:]]),
        "mixes two delimiters",
    ),
    # Silently wrong before: trained on columns named "20" and "Male".
    "no-header": (("\n".join(_customer_rows(60)) + "\n").encode(), "looks like data"),
    # A NUL byte past the first block (accepted by predict, refused by train, before).
    "nul-byte": (_with_header(_customer_rows(600) + ["C9999,3\x004,Male,1"]), "NUL"),
}


@pytest.mark.parametrize(
    "page,key",
    [
        ("4_Explorer.py", "explorer.upload"),
        ("5_Retrain.py", "retrain.upload"),
        ("3_Predict.py", "predict.uploader"),
    ],
    ids=["explorer", "retrain", "predict"],
)
@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_upload_shows_error_and_keeps_working(app, page, key, case):
    """As an analyst who uploads the wrong file I am told what is wrong and lose nothing."""
    data, message = BAD_FILES[case]
    at = upload(open_page(app, page), key, f"{case}.csv", data)
    assert not at.exception
    assert message in errors(at)
    if page != "3_Predict.py":
        assert "customers.csv (bundled default)" in plain("\n".join(c.value for c in at.caption))


def test_infinite_numbers_are_reported_and_the_rest_labeled(app):
    """As an analyst whose export has 'inf' and '1e400' in a number column, my file is labeled
    with those cells imputed, and I am told which rows they were on."""
    data = load_default_data().head(40).astype({"Income": object})
    data.loc[[4, 9], "Income"] = ["inf", "1e400"]
    at = upload(open_page(app, "3_Predict.py"), "predict.uploader", "inf.csv", csv_of(data))
    assert not at.exception
    warnings = plain("\n".join(w.value for w in at.warning))
    assert "2 value(s) in 'Income' are not numbers (rows 5, 10)" in warnings
    result = at.session_state["predict.result"]["labeled"].result
    assert result.n_rows == 40 and not result.fast


def test_oversized_upload_is_refused(app, monkeypatch):
    """As an analyst with a file over the limit I am told the size and the limit."""
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0)
    at = upload(open_page(app, "4_Explorer.py"), "explorer.upload", "big.csv", b"a,b\n1,2\n")
    assert not at.exception
    assert "limit" in errors(at)


def test_messy_export_is_read_and_trained(app):
    """As an analyst with a semicolon Latin-1 export I can explore and train on it."""
    at = upload(open_page(app, "5_Retrain.py"), "retrain.upload", "kunden.csv", messy_customers())
    assert not at.exception, at.exception
    roles = next(d.value for d in at.dataframe if "role" in d.value.columns)
    by_column = roles.set_index("column")
    assert by_column.loc["Kundennr", "role"] == "id"
    assert by_column.loc["Umsatz (EUR)", "type"] == "number"
    assert by_column.loc["Stadt", "role"] == "categorical"
    at.slider(key="retrain.k").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception and not at.error
    assert any("New model" in m.value for m in at.markdown)


def test_transaction_log_becomes_customers_with_rfm(app):
    """As an analyst with raw order lines I get one row per customer and RFM segments."""
    at = upload(open_page(app, "4_Explorer.py"), "explorer.upload", "orders.csv", transaction_log())
    assert not at.exception, at.exception
    info = "\n".join(i.value for i in at.info)
    assert "transaction log" in info and "60 customers" in info
    assert "without a customer id" in info
    assert at.metric[0].value == "60"
    rfm = next(d.value for d in at.dataframe if "RFM segment" in d.value.columns)
    assert rfm["Customers"].sum() == 60
    # The active (default) model does not know RFM columns: the page says so.
    assert "cannot label this table" in info
    # Going back to the raw lines is one click.
    next(b for b in at.button if b.label == "Use the order lines as they are").click()
    at.run()
    assert at.metric[0].value == "182"


def test_rfm_model_and_next_months_order_lines(app):
    """As an analyst I train on order lines, then label next month's order lines in Predict."""
    at = upload(open_page(app, "5_Retrain.py"), "retrain.upload", "orders.csv", transaction_log())
    at.slider(key="retrain.k").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    next(b for b in at.button if b.label.startswith("Save as a new version")).click()
    at.run()
    assert not at.exception, at.exception
    store = ModelStore(config.models_dir())
    _, meta = store.load()
    assert meta["k"] == 3 and meta["transactions"]["n_customers"] == 60
    assert set(meta["features"]) == {"Recency", "Frequency", "Monetary", "AvgOrderValue", "Tenure"}
    # Explorer now cross-tabulates RFM segments against the new model's segments.
    at = open_page(at, "4_Explorer.py")
    crosstab = [
        d.value
        for d in at.dataframe
        if d.value.shape[0] and "RFM" not in str(list(d.value.columns))
    ]
    assert not at.exception and crosstab
    at = upload(
        open_page(at, "3_Predict.py"), "predict.uploader", "next_month.csv", transaction_log()
    )
    assert not at.exception, at.exception
    assert any("transaction log" in i.value for i in at.info)
    download = at.get("download_button")
    assert download


def test_roles_chosen_in_explorer_show_in_retrain(app):
    """As an analyst I set a column's role once and both pages use it."""
    at = open_page(app, "4_Explorer.py")
    assert any("role" in d.value.columns for d in at.dataframe)
    # AppTest cannot type into a data_editor: set the shared choice the editor writes.
    at.session_state["column_roles"] = {"customers.csv (bundled default)": {"Region": "ignored"}}
    at = open_page(at, "5_Retrain.py")
    roles = next(d.value for d in at.dataframe if "role" in d.value.columns)
    assert roles.set_index("column").loc["Region", "role"] == "ignored"
    assert any("Region is ignored" in c.value for c in at.caption)


def test_nothing_to_cluster_is_a_clear_error(app):
    """As an analyst who ignores every column I am told there is nothing to cluster."""
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(30)], "note": ["same"] * 30})
    at = upload(
        open_page(app, "5_Retrain.py"),
        "retrain.upload",
        "ids.csv",
        frame.to_csv(index=False).encode(),
    )
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    assert "nothing to cluster" in errors(at)


def test_too_few_rows_for_k_is_a_clear_error(app):
    """As an analyst with a tiny file I am told it has too few customers to segment."""
    data = io.StringIO("id,x,y\na,1,2\nb,2,3\nc,3,1\n")
    at = upload(
        open_page(app, "5_Retrain.py"), "retrain.upload", "tiny.csv", data.getvalue().encode()
    )
    at.slider(key="retrain.k").set_value(5)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    assert "at least 30" in errors(at)


def unnamed_log() -> bytes:
    """Order lines whose customer column has a name no detection knows ("Kunde")."""
    lines = ["Kunde,OrderDate,Total,Note"]
    for c in range(40):
        for i in range(1 + c % 4):
            lines.append(f"K{c:03d},2024-04-{1 + (c + i * 5) % 28:02d},{10 + c % 7}.5,n{i}")
    return ("\n".join(lines) + "\n").encode()


def test_customer_file_gets_no_transaction_log_offer(app):
    """As an analyst uploading one row per customer I am not told it may be a log."""
    data = load_default_data().head(200)
    at = upload(open_page(app, "4_Explorer.py"), "explorer.upload", "people.csv", csv_of(data))
    assert not at.exception, at.exception
    shown = plain("\n".join(m.value for kind in ("markdown", "info") for m in at.get(kind)))
    assert "transaction log" not in shown
    assert not [b for b in at.button if "row per customer" in b.label]


def test_log_with_unknown_columns_asks_for_them_in_the_page(app):
    """As an analyst with order lines under odd names I pick the columns and get customers;
    a wrong pick is explained in words, not command-line flags."""
    at = upload(open_page(app, "4_Explorer.py"), "explorer.upload", "lines.csv", unnamed_log())
    assert not at.exception, at.exception
    assert any("may be a transaction log" in m.value for m in at.markdown)
    assert at.selectbox(key="explorer.upload.log.customer").value == "(none)"
    assert at.selectbox(key="explorer.upload.log.date").value == "OrderDate"
    assert at.selectbox(key="explorer.upload.log.amount").value == "Total"
    derive = next(b for b in at.button if b.label == "Derive one row per customer")
    derive.click().run()
    assert "Choose the customer id column" in errors(at)
    # A date column that holds no dates: the message asks in words.
    at.selectbox(key="explorer.upload.log.customer").set_value("Kunde")
    at.selectbox(key="explorer.upload.log.date").set_value("Note")
    next(b for b in at.button if b.label == "Derive one row per customer").click().run()
    assert "does not hold dates" in errors(at)
    assert "--" not in errors(at)
    at.selectbox(key="explorer.upload.log.date").set_value("OrderDate")
    next(b for b in at.button if b.label == "Derive one row per customer").click().run()
    assert not at.exception and not at.error
    assert at.metric[0].value == "40"
    sidebar = plain("\n".join(m.value for m in at.sidebar.markdown))
    assert "lines.csv (one row per customer)" in sidebar
