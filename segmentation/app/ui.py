"""Streamlit glue shared by every page: cached model loading, the dataset in use, the sidebar.

The only engine module that imports streamlit. Pages call these helpers and the pure
engine; nothing here holds per-user data in a shared cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.runtime.scriptrunner import RerunException, StopException

from segmentation.app import auth
from segmentation.config import PROJECT_ROOT, models_dir
from segmentation.errors import SegmentationError
from segmentation.modeling.estimator import SegmentationModel
from segmentation.store import ModelStore
from segmentation.types import Progress
from segmentation.viz.style import fmt_datetime, fmt_int, md_bold, md_escape
from segmentation.workflows import DEFAULT_DATA_NAME, ensure_active_model, load_default_data

_log = logging.getLogger(__name__)

#: Images the app shows (the favicon): local files, so nothing is fetched from the internet.
ASSETS = PROJECT_ROOT / "segmentation" / "assets"

#: Session-state flag set while Home.py runs a page (see :func:`require_frame`); a
#: thread-local would not do, as Streamlit may run the page in another thread.
_FRAME_KEY = "app.in_frame"

#: The page where a model is trained, activated or rolled back (for links to it).
RETRAIN_PAGE = "pages/5_Retrain.py"

#: Session-state key of the dataset in use (Explorer and Retrain), a :class:`Dataset`.
DATASET_KEY = "dataset"


#: Session-state key of the column roles the user chose, ``{dataset name: {column: role}}``;
#: shared by Explorer and Retrain, so a choice made on one shows on the other.
ROLES_KEY = "column_roles"
PURPOSES_KEY = "column_purposes"


@dataclass(frozen=True)
class Dataset:
    """A table the user is working with and where it came from.

    ``transactions`` is set when the table was derived from a transaction log (one row
    per order line): it is the derivation's report, and ``orders`` the original lines.
    Then ``clv`` is the lifetime value report (a ``ClvReport``) when the table gained the
    ``p_alive``, ``expected_purchases_90d`` and ``clv_12m`` columns, or the reason (str)
    it did not.
    """

    name: str
    frame: pd.DataFrame
    is_default: bool
    source_id: str = "default"
    transactions: object | None = None
    orders: pd.DataFrame | None = None
    clv: object | None = None

    @property
    def key(self) -> str:
        """Identifies the table for caches, so a million-row frame is never hashed."""
        return f"{self.source_id}|{self.name}|{self.frame.shape}"


@st.cache_data(show_spinner="Working through the table...", max_entries=64)
def _dataset_view(name: str, key: str, _fn, _frame: pd.DataFrame, *args):
    return _fn(_frame, *args)


def dataset_view(dataset: Dataset, fn: Callable, *args):
    """``fn(dataset.frame, *args)``, cached per dataset and arguments.

    The cache is keyed by :attr:`Dataset.key` and the function's name instead of the
    table's content: hashing a large table on every rerun would cost more than the view.
    """
    return _dataset_view(
        f"{fn.__module__}.{fn.__qualname__}", dataset.key, fn, dataset.frame, *args
    )


@contextmanager
def app_frame():
    """Home.py runs the selected page inside this block, within :func:`error_boundary`."""
    st.session_state[_FRAME_KEY] = True
    try:
        with error_boundary():
            yield
    finally:
        st.session_state.pop(_FRAME_KEY, None)


#: Streamlit's own exceptions, which must pass through: st.stop, st.rerun and
#: st.switch_page end or restart a run by raising them (they derive from BaseException
#: today, so ``except Exception`` would miss them anyway; naming them keeps it so), and a
#: fragment raises FragmentHandledException for an error Streamlit has already shown.
_STREAMLIT_CONTROL_FLOW = (StopException, RerunException, FragmentHandledException)

#: Longest exception message shown in the page (a message may hold a whole table's repr).
_MAX_DETAIL = 300


def unexpected_error_message(exc: BaseException) -> str:
    """The sentence shown for an error the app did not expect, as Markdown-safe text."""
    detail = str(exc).strip().rstrip(".")
    if len(detail) > _MAX_DETAIL:
        detail = detail[:_MAX_DETAIL] + "..."
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return (
        f"Something unexpected went wrong on this page: {md_escape(what)}. Your data and "
        "models are unchanged; try again or report this."
    )


@contextmanager
def error_boundary():
    """The one place the app catches errors it did not expect.

    A :class:`SegmentationError` raised in the block is shown as the user error it is;
    anything else (from the csv module, scikit-learn, pyarrow, the OS, a MemoryError or a
    RecursionError) as :func:`unexpected_error_message`, with the traceback in the server
    log. Either way the run goes on after the block, so the sidebar and the menu keep
    working, instead of Streamlit's "This app has encountered an error" and a traceback.
    """
    try:
        yield
    except _STREAMLIT_CONTROL_FLOW:
        raise
    except SegmentationError as exc:
        show_error(exc)
    except Exception as exc:
        _log.exception("Unexpected error while running a page")
        st.error(unexpected_error_message(exc), icon=":material/error:")


def require_frame() -> None:
    """Make sure a page runs inside Home.py (page config, menu, sidebar).

    Until a server has run Home.py once, Streamlit treats the files in ``pages/`` as a
    classic multipage app, and a direct link as the very first visit (or AppTest's
    ``switch_page``) runs the page file on its own. Such a run executes Home.py here,
    which finds this same page by its URL path and runs it inside the frame, then stops.
    """
    if st.session_state.get(_FRAME_KEY):
        return
    import runpy

    runpy.run_path(str(PROJECT_ROOT / "Home.py"), run_name="__main__")
    st.stop()


def store() -> ModelStore:
    """The model store the app serves (``$SEGMENTATION_MODELS_DIR`` or ``models/``), acting
    as the signed-in user: the store itself refuses what their role does not allow."""
    return ModelStore(models_dir(), actor=auth.current_actor())


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_model_edited(root: str, version: str, edits: str) -> tuple[SegmentationModel, dict]:
    # A version's fitted model never changes; the segment names and recommendations an
    # analyst chose may, so their stamp is part of the key.
    return ModelStore(root).load(version)


def _load_model(root: str, version: str) -> tuple[SegmentationModel, dict]:
    return _load_model_edited(root, version, ModelStore(root).edits_stamp(version))


def active_model() -> tuple[SegmentationModel, dict]:
    """The active model and its metadata, training the default model at first use.

    Raises
    ------
    SegmentationError
        When the active version cannot be loaded (e.g. saved by another scikit-learn).
    """
    models = store()
    if models.active_version() is None:
        with st.spinner("First start: training the default model on the bundled customers..."):
            ensure_active_model(models)
    version = models.active_version()
    return _load_model(str(models.root), version)


def active_model_or_explain(
    *, link_to_retrain: bool = True
) -> tuple[SegmentationModel, dict] | None:
    """The active model and its metadata, or None after telling the user why and what to do.

    Every page that needs the active model gets it here. When the active version cannot
    be used (saved by another scikit-learn, damaged, not trainable at first start) this
    shows an ``st.error`` with the reason and the way out - activate another version in
    the model history on the Retrain page, or train and save a new model there - and a
    link to Retrain (``link_to_retrain=False`` on Retrain itself). The page then shows
    what it can without a model, or stops.
    """
    try:
        return active_model()
    except SegmentationError as exc:
        where = "on the Retrain page" if link_to_retrain else "below"
        st.error(
            f"The active model cannot be used: {md_escape(str(exc).rstrip('.'))}. To go on, "
            f"activate another version in the model history {where} (roll back), or train "
            "and save a new model there.",
            icon=":material/error:",
        )
        if link_to_retrain:
            st.page_link(RETRAIN_PAGE, label="Go to Retrain", icon=":material/refresh:")
        return None


def labeler(root: str, version: str) -> SegmentationModel:
    """The fitted model of a version, from the shared cache (never mutate it)."""
    return _load_model(root, version)[0]


def clear_model_cache() -> None:
    """Forget cached models and tables, after a version is deleted or the store changes."""
    _load_model_edited.clear()
    _labeled_training_data.clear()
    _segment_lifetime_value.clear()


def rename_segment(version: str, cluster: int, *, name: str, recommendations: list[str]) -> dict:
    """Save an analyst's name and recommendations for a segment, then forget every cached
    view of the model (tables, charts and CSVs name the segments), so all pages show them.

    Raises
    ------
    SegmentationError
        When the name or recommendations are not acceptable; nothing is saved then.
    """
    result = store().rename_segment(version, cluster, name=name, recommendations=recommendations)
    _load_model_edited.clear()
    st.cache_data.clear()
    return result


def labeled_training_data(root: str, version: str) -> pd.DataFrame:
    """The table a version was trained on with ``cluster``, ``segment``, ``cluster_distance``
    (segment names as the analyst last edited them)."""
    return _labeled_training_data(root, version, edits_stamp(root, version))


def edits_stamp(root: str, version: str) -> str:
    """Part of the key of every cache that holds segment names: renaming changes it."""
    return ModelStore(root).edits_stamp(version)


@st.cache_data(show_spinner="Labeling the training customers...", max_entries=4)
def _labeled_training_data(root: str, version: str, edits: str) -> pd.DataFrame:
    model, _ = _load_model_edited(root, version, edits)
    data = ModelStore(root).training_data(version)
    return model.label(data).join(data)


@st.cache_data(show_spinner=False, max_entries=4)
def _segment_lifetime_value(root: str, version: str, edits: str) -> pd.DataFrame | None:
    from segmentation.insight.clv import CLV_COLUMNS, segment_summary

    data = _labeled_training_data(root, version, edits)
    if not {"clv_12m", "p_alive"} <= set(data.columns):
        return None
    return segment_summary(data["cluster"], data[list(CLV_COLUMNS)])


def segment_lifetime_value(root: str, version: str, meta: dict) -> tuple[pd.DataFrame, str] | None:
    """Lifetime value per segment of a version's training customers, and how far to trust it.

    Returns
    -------
    tuple or None
        ``(summary, caption)``: :func:`segmentation.insight.clv.segment_summary` indexed by
        cluster number, and a sentence on where the values come from and how far to trust
        them; None when the training table has no ``clv_12m`` and ``p_alive`` columns.
    """
    summary = _segment_lifetime_value(root, version, edits_stamp(root, version))
    if summary is None:
        return None
    report = meta.get("clv")
    caption = (
        report["summary"]
        if report
        else "The clv_12m and p_alive columns came with the training table, not from this "
        "app's estimate; how far to trust them depends on how they were made."
    )
    return summary, caption


@st.cache_data(show_spinner=False)
def _default_dataset() -> pd.DataFrame:
    return load_default_data()


def dataset_in_use() -> Dataset:
    """The dataset Explorer and Retrain work on: an upload if the user made one, else the
    bundled default. It lives in session state, so it survives page switches."""
    current = st.session_state.get(DATASET_KEY)
    if current is None:
        current = Dataset(DEFAULT_DATA_NAME, _default_dataset(), True)
    return current


def use_dataset(dataset: Dataset | None) -> None:
    """Make ``dataset`` the one in use (``None`` goes back to the bundled default).

    The sidebar, drawn before the page, is told at once (its slot is filled again), so it
    never names the previous dataset while the page shows the new one.
    """
    if dataset is None:
        st.session_state.pop(DATASET_KEY, None)
    else:
        st.session_state[DATASET_KEY] = dataset
    _show_dataset_in_use()


#: The sidebar's "Dataset in use" slot of the current run (an ``st.empty``).
_DATASET_SLOT = "_sidebar.dataset_slot"


def _show_dataset_in_use() -> None:
    """Fill the sidebar's "Dataset in use" slot, if this run has drawn one."""
    slot = st.session_state.get(_DATASET_SLOT)
    if slot is not None:
        slot.markdown(f"**Dataset in use**  \n{md_escape(dataset_in_use().name)}")


def read_upload(data: bytes, name: str) -> pd.DataFrame:
    """Read an uploaded file, with a spinner. Not cached: the caller keeps the table in
    session state, and a cache would hold a second copy of every large upload."""
    from segmentation.data.read import read_table

    with st.spinner(f"Reading {md_escape(name)}..."):
        return read_table(data)


def derive_customers(
    name: str,
    orders: pd.DataFrame,
    source_id: str,
    columns: dict | None = None,
    dayfirst: bool | None = None,
    *,
    lifetime_value: bool = True,
) -> Dataset:
    """The per-customer dataset derived from a transaction log (raises SegmentationError).

    ``columns`` (``{"customer_col": ..., "date_col": ..., ...}``) overrides detection;
    ``dayfirst`` chooses how dates such as 12/1/2010 read (None: from the file). Error
    messages ask for columns in words, not with the command line's flags. With
    ``lifetime_value`` the customers also get their lifetime value columns when the log
    allows (see :func:`lifetime_value_of`); a log that does not still gives the customers.
    """
    from segmentation.data.transactions import customers_from_transactions

    with st.spinner("Deriving one row per customer from the order lines..."):
        customers, report = customers_from_transactions(
            orders, **(columns or {}), flags=False, dayfirst=dayfirst
        )
    dataset = Dataset(f"{name} (one row per customer)", customers, False, source_id, report, orders)
    if not lifetime_value:
        return dataset
    try:
        table, clv_report = lifetime_value_of(dataset, {**(columns or {}), "dayfirst": dayfirst})
    except SegmentationError as exc:
        return replace(dataset, clv=str(exc))
    from segmentation.insight.clv import add_to_customers

    return replace(dataset, frame=add_to_customers(customers, table), clv=clv_report)


@st.cache_data(
    show_spinner="Estimating customer lifetime value (the first fit takes about 20 s)...",
    max_entries=4,
)
def _lifetime_value(key: str, columns: dict, _orders: pd.DataFrame):
    from segmentation.insight.clv import customer_lifetime_value

    return customer_lifetime_value(_orders, flags=False, **columns)


def lifetime_value_of(dataset: Dataset, columns: dict | None = None):
    """``(table, ClvReport)`` of a dataset derived from a log, fitted once per dataset.

    Raises
    ------
    SegmentationError
        When the log is too short or has too few repeat customers (the message says so).
    """
    return _lifetime_value(dataset.key, dict(columns or {}), dataset.orders)


def dataset_picker(
    key: str, label: str = "Upload a customer file (CSV, Excel or Parquet)"
) -> Dataset:
    """An uploader that replaces the dataset in use; shows which one is in use.

    Bad files show ``st.error`` and leave the dataset in use unchanged.
    """
    current = dataset_in_use()
    upload = st.file_uploader(
        label,
        type=["csv", "txt", "tsv", "xlsx", "parquet"],
        key=key,
        help="Comma, semicolon, tab or pipe separated; UTF-8 or Latin-1; "
        "or an Excel workbook (first sheet).",
    )
    if upload is not None and upload.file_id != current.source_id:
        from segmentation.data.transactions import looks_like_transactions

        try:
            frame = read_upload(upload.getvalue(), upload.name)
            current = Dataset(upload.name, frame, False, upload.file_id)
            if looks_like_transactions(frame):
                current = derive_customers(upload.name, frame, upload.file_id)
        except SegmentationError as exc:
            show_error(exc, upload.name)
        else:
            use_dataset(current)  # the sidebar's slot names it at once: no second run
    if current.transactions is not None:
        st.info(
            f"**This file is a transaction log** (one row per order line), so it was turned "
            f"into one row per customer: Recency, Frequency, Monetary, average order value "
            f"and tenure. {current.transactions.summary()}",
            icon=":material/receipt_long:",
        )
        lifetime_value_note(current)
        if st.button("Use the order lines as they are", key=f"{key}.raw_lines"):
            use_dataset(
                Dataset(
                    current.name.removesuffix(" (one row per customer)"),
                    current.orders,
                    False,
                    current.source_id,
                )
            )
            st.rerun()
    elif not current.is_default and _might_be_a_log(current.key, current.frame):
        _log_columns_form(key, current)
    cols = st.columns([4, 1])
    cols[0].caption(
        f"In use: {md_bold(current.name)} - {fmt_int(len(current.frame))} rows, "
        f"{current.frame.shape[1]} columns"
    )
    if not current.is_default and cols[1].button("Use bundled data", key=f"{key}_reset"):
        use_dataset(None)
        st.rerun()
    return current


def lifetime_value_note(dataset: Dataset) -> None:
    """Say whether the customers of a log got lifetime value columns, and how far to trust
    them (or why they did not)."""
    if isinstance(dataset.clv, str):
        st.caption(md_escape(f"No lifetime value estimate: {dataset.clv}"))
    elif dataset.clv is not None:
        st.caption(
            "Lifetime value was estimated from the order lines: columns p_alive (the "
            "chance the customer still buys), expected_purchases_90d and clv_12m describe "
            "the segments without forming them. " + md_escape(dataset.clv.summary())
        )


@st.cache_data(show_spinner=False, max_entries=4)
def _might_be_a_log(dataset_key: str, _frame: pd.DataFrame) -> bool:
    from segmentation.data.transactions import might_be_transactions

    return might_be_transactions(_frame)


#: "Not in this file", as a choice of the transaction log's column selectboxes.
NO_COLUMN = "(none)"

#: The transaction log's date reading control: its label (the report names it) and choices.
DATE_READING_LABEL = "Dates like 12/1/2010"
DATE_READINGS: dict[str, bool | None] = {
    "Decide from the file": None,
    "day-first (12 January)": True,
    "month-first (1 December)": False,
}


def _log_columns_form(key: str, current: Dataset) -> None:
    """Ask which columns of a file that may be a transaction log hold the customer id,
    the date and what each line is worth, and derive one row per customer from them."""
    from segmentation.data.transactions import detect_transaction_columns

    found = detect_transaction_columns(current.frame)
    columns = [str(c) for c in current.frame.columns]
    options = [NO_COLUMN, *columns]
    with st.container(border=True):
        st.markdown(
            "**This file may be a transaction log** (one row per order line rather than one "
            "row per customer). If it is, choose its columns to turn it into one row per "
            "customer with Recency, Frequency, Monetary, average order value and tenure."
        )
        with st.form(f"{key}.log_columns", border=False):
            row = st.columns(3)
            role_widgets = [
                ("customer", "Customer id", row[0]),
                ("date", "Order date", row[1]),
                ("amount", "Amount of the line", row[2]),
            ]
            row = st.columns(3)
            role_widgets += [
                ("quantity", "Quantity (if no amount)", row[0]),
                ("price", "Unit price (if no amount)", row[1]),
                ("invoice", "Invoice or order number (optional)", row[2]),
            ]
            chosen = {}
            for role, label, where in role_widgets:
                default = str(found[role]) if found[role] is not None else NO_COLUMN
                chosen[role] = where.selectbox(
                    label,
                    options,
                    index=options.index(default) if default in options else 0,
                    key=f"{key}.log.{role}",
                )
            reading = st.selectbox(
                DATE_READING_LABEL,
                list(DATE_READINGS),
                key=f"{key}.log.dayfirst",
                help="Only matters when every date reads both ways; a date such as "
                "13/1/2010 decides it.",
            )
            submitted = st.form_submit_button("Derive one row per customer")
        if not submitted:
            return
        picked = {role: name for role, name in chosen.items() if name != NO_COLUMN}
        problem = None
        unpicked = [words for role, words in (("customer", "the customer id column"),
                    ("date", "the order date column")) if role not in picked]  # fmt: skip
        if unpicked:
            problem = f"Choose {' and '.join(unpicked)}."
        elif "amount" not in picked and not ("quantity" in picked and "price" in picked):
            problem = "Choose the amount column, or both the quantity and the unit price."
        elif len(set(picked.values())) < len(picked):
            problem = "Choose a different column for each role."
        if problem:
            st.error(problem, icon=":material/error:")
            return
        try:
            derived = derive_customers(
                current.name,
                current.frame,
                current.source_id,
                {f"{role}_col": name for role, name in picked.items()},
                dayfirst=DATE_READINGS[reading],
            )
        except SegmentationError as exc:
            show_error(exc, current.name)
        else:
            use_dataset(derived)
            st.rerun()


def column_roles_editor(
    dataset: Dataset, key: str
) -> tuple[object | None, dict[str, str], dict[str, str]]:
    """The mapping step: every column's inferred role and purpose, with type and reasons,
    editable; a toggle segments on every column (demographics and outcome flags too).

    The user's changes are kept per dataset in session state under :data:`ROLES_KEY` and
    :data:`PURPOSES_KEY`, so Explorer and Retrain show and edit the same choice, and it
    survives page switches.

    Returns
    -------
    schema : Schema or None
        The inferred schema (None when the table could not be read; an error is shown).
    roles : dict
        ``{column: role}`` the user changed, for ``SegmentationModel(roles=...)``.
    purposes : dict
        ``{column: purpose}`` the user changed, for ``SegmentationModel(purposes=...)``.
    """
    from segmentation.data.schema import PURPOSES, ROLES, infer_schema
    from segmentation.insight import explore

    try:
        schema = dataset_view(dataset, infer_schema)
    except SegmentationError as exc:
        show_error(exc, "The columns could not be read")
        return None, {}, {}
    chosen = st.session_state.setdefault(ROLES_KEY, {}).get(dataset.name, {})
    purposes = st.session_state.setdefault(PURPOSES_KEY, {}).get(dataset.name, {})
    everything = st.toggle(
        "Segment on every column, demographics and outcome flags too",
        key=f"{key}.everything.{dataset.name}",
        help="By default demographics (age, gender, region, ...) and campaign or outcome "
        "flags only describe the segments: they are profiled but do not form them.",
    )
    if everything:
        purposes = {**explore.every_column_segments(schema), **purposes}
    table = explore.roles_table(schema, chosen, purposes)
    kinds = dataset_view(dataset, explore.column_kinds)
    table.insert(1, "type", [kinds[c] for c in table["column"]])
    edited = st.data_editor(
        table,
        key=f"{key}.{dataset.name}.{'all' if everything else 'default'}",
        hide_index=True,
        disabled=["column", "type", "reason", "purpose_reason"],
        column_config={
            "column": st.column_config.TextColumn("Column"),
            "type": st.column_config.TextColumn("Type"),
            "role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True),
            "reason": st.column_config.TextColumn("Why this role", width="medium"),
            "purpose": st.column_config.SelectboxColumn(
                "Purpose",
                options=list(PURPOSES),
                help="segment: forms the segments; describe: profiled and shown, not used "
                "to form them",
            ),
            "purpose_reason": st.column_config.TextColumn("Why this purpose", width="medium"),
        },
    )
    roles = explore.changed_roles(edited, schema)
    purposes = explore.changed_purposes(edited, schema)
    st.session_state[ROLES_KEY][dataset.name] = roles
    if not everything:
        st.session_state[PURPOSES_KEY][dataset.name] = purposes
    changes = [f"{column} is {role}" for column, role in roles.items()]
    changes += [f"{column} is used to {purpose}" for column, purpose in purposes.items()]
    if changes:
        st.caption(md_escape(f"Changed by you: {'; '.join(changes)}"))
    return schema, roles, purposes


def show_error(exc: Exception, what: str = "") -> None:
    """Show a user error in the page, as text (it may name files, columns and values)."""
    prefix = f"{what}: " if what else ""
    st.error(md_escape(f"{prefix}{exc}"), icon=":material/error:")


def bullets(items) -> str:
    """A Markdown list of texts shown as they are (traits may quote category values)."""
    return "\n".join(f"- {md_escape(item)}" for item in items)


@contextmanager
def user_errors(what: str = ""):
    """Turn :class:`SegmentationError` raised inside the block into ``st.error``.

    A failed write (a full disk, a folder without permission) is said the same way: the
    store writes a version whole or not at all, so nothing was half-saved.
    """
    try:
        yield
    except SegmentationError as exc:
        show_error(exc, what)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename else ""
        show_error(
            SegmentationError(
                f"the disk refused the write{where}: {reason}. Nothing was half-saved; free "
                "some space or fix the folder's permissions, then try again"
            ),
            what,
        )


def progress_callback(bar) -> Progress:
    """Adapt an ``st.progress`` bar to the engine's ``progress(fraction, message)``."""
    return lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message)


def render_sidebar() -> None:
    """The active model and the dataset in use, shown on every page.

    An active model that cannot be loaded shows as none here; the page explains why
    (:func:`active_model_or_explain`).
    """
    try:
        _, meta = active_model()
        unusable = None
    except SegmentationError:
        meta, unusable = None, store().active_version()
    with st.sidebar:
        st.divider()
        if unusable:
            st.caption(f"The active model `{unusable}` cannot be used.")
        elif meta is None:
            st.caption("No model loaded.")
        else:
            created = fmt_datetime(meta.get("created_at"))
            st.markdown(
                f"**Active model** `{meta['version']}` - {meta['k']} segments  \n"
                f"trained on {md_escape(meta.get('data_name', 'unknown data'))}  \n"
                f"{created} UTC"
            )
        # A slot, filled now and again whenever the page changes the dataset in use.
        st.session_state[_DATASET_SLOT] = st.empty()
    auth.render_user_box()
    _show_dataset_in_use()
