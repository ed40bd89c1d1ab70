"""Predict: label one customer from a form, or a whole file of customers, with the active model."""

import streamlit as st

from segmentation.app import ui
from segmentation.data.read import read_head
from segmentation.data.rules import PROBABILITY_COLUMN
from segmentation.data.transactions import looks_like_transactions
from segmentation.errors import SegmentationError
from segmentation.insight import explore
from segmentation.insight.drift import status as drift_status
from segmentation.report import audiences
from segmentation.viz.style import fmt_int, fmt_metric, fmt_share, md_bold, md_escape
from segmentation.workflows import load_default_data

ui.require_frame()

#: Session state owned by this page; it survives page switches (widget state does not).
UPLOAD = "predict.upload"  # {"name", "source", "frame", "id", "note"}: the file being labeled
RESULT = "predict.result"  # {"key", "labeled"}: its LabeledFile, for that file + mapping
MAPPING = "predict.mapping"  # {model column: file column} matched by hand
ONE = "predict.one"  # {"version", "record", "result"}: the last single customer
UPLOADER_GEN = "predict.uploader_gen"  # bumped by "Clear" to give a fresh, empty uploader
SAMPLE_ROWS = 200
NOT_CHOSEN = "(choose a column)"

st.title("Predict")
st.caption(
    "Label customers with the active model's segments: one customer from a form, or a "
    "whole customer file to download with its segments."
)

active = ui.active_model_or_explain()
if active is None:
    st.stop()
model, meta = active
version = meta["version"]


@st.cache_data(show_spinner="Reading the training customers...", max_entries=4)
def feature_stats(root: str, version: str, _model) -> explore.FeatureStats:
    """Ranges and averages of the model's features; cached per version (immutable)."""
    try:
        training = ui.labeled_training_data(root, version)
    except SegmentationError:
        training = None  # an older version without its data: use the segment profiles
    return explore.feature_stats(_model, training)


stats = feature_stats(str(ui.store().root), version, model)
one_tab, file_tab = st.tabs(["One customer", "A file of customers"])


def field_input(field: explore.FormField):
    """The widget for one form field; a new model version starts a fresh form."""
    key = f"predict.field.{version}.{field.name}"
    label = md_escape(field.label)
    if field.kind == "category":
        return st.selectbox(label, field.options, key=key, help=field.help)
    if field.kind == "date":
        return st.date_input(
            label,
            field.default,
            min_value=field.min_value,
            max_value=field.max_value,
            key=key,
            help=field.help,
        )
    return st.number_input(
        label,
        min_value=field.min_value,
        max_value=field.max_value,
        value=field.default,
        step=field.step,
        format=None if field.kind == "integer" else "%.2f",
        key=key,
        help=field.help,
    )


with one_tab:
    st.write(
        "Describe the customer. Every field starts at the typical (median) customer the "
        "model was trained on, so change what you know and leave the rest."
    )
    with st.form("predict.form"):
        columns = st.columns(3)
        record = {}
        for i, field in enumerate(explore.form_fields(stats)):
            with columns[i % 3]:
                value = field_input(field)
                record[field.name] = value.isoformat() if field.kind == "date" else value
        if st.form_submit_button("Find the segment", type="primary", icon=":material/search:"):
            # A refused record (a negative age) must not leave the last answer on screen.
            st.session_state.pop(ONE, None)
            with ui.user_errors("This customer could not be labeled"):
                st.session_state[ONE] = {
                    "version": version,
                    "record": record,
                    "result": model.predict_one(record),
                }

    shown = st.session_state.get(ONE)
    if shown and shown["version"] == version:
        result = shown["result"]
        profile = model.profile(result["cluster"])
        with st.container(border=True):
            if result.get("outlier"):
                st.error(
                    "This customer is far from every segment: an outlier, not a typical "
                    "member. The nearest segment is shown below, but check the values first.",
                    icon=":material/error:",
                )
                st.caption("Nearest segment (a guess)")
            else:
                st.caption("This customer belongs to")
            st.subheader(md_escape(result["segment"]), anchor=False)
            cols = st.columns(3)
            cols[0].metric(
                "Share of customers",
                fmt_share(profile.share, 0),
                help=f"{fmt_int(profile.size)} of the training customers are in this segment.",
            )
            cols[1].metric(
                "Distance to the segment centre",
                fmt_metric(result["cluster_distance"]),
                help="How far the customer is from the segment's typical member, in the "
                "model's scaled units. Smaller means a more typical member.",
            )
            typical = stats.typical_distance.get(result["cluster"])
            if typical:
                closer = result["cluster_distance"] <= typical
                cols[2].metric(
                    "Typical member's distance",
                    fmt_metric(typical),
                    help="The median distance of the segment's training customers.",
                )
                st.caption(
                    "A typical member of this segment."
                    if closer
                    else "Further from the centre than most members: a less typical member."
                )
            if (probability := result.get(PROBABILITY_COLUMN)) is not None:
                st.caption(
                    f"Probability of belonging to this segment: {fmt_share(probability, 0)} "
                    "(the model's method gives each customer a probability for every segment)."
                )
            left, right = st.columns(2)
            with left:
                st.markdown("**What sets this segment apart**")
                st.markdown(ui.bullets(result["characteristics"]) or "-")
            with right:
                st.markdown("**What to do**")
                st.markdown(ui.bullets(result["recommendations"]) or "-")
        if why := result.get("why"):  # a result kept from before "why" existed has none
            st.markdown("**Why this segment and not another**")
            show_why = st.warning if why["close_call"] else st.info
            show_why(md_escape(why["sentence"]), icon=":material/compare_arrows:")
            if why["features"]:
                st.markdown(
                    f"What pulls this customer toward {md_escape(why['segment'])} rather "
                    f"than {md_escape(why['runner_up_segment'])}:\n"
                    + ui.bullets(f["sentence"] for f in why["features"])
                )
            st.caption(md_escape(f"Runner-up and margin by {why['basis']}."))
        for warning in result["warnings"]:
            st.warning(md_escape(warning), icon=":material/warning:")
        comparison = explore.customer_comparison(model, stats, shown["record"], result["cluster"])
        st.markdown("**This customer beside the segment and all customers**")
        st.plotly_chart(
            explore.customer_vs_segment_chart(comparison, result["segment"]),
            config={"displayModeBar": False},
        )
        st.caption(
            "0 is the average customer; bars to the right are above average. The scale is "
            "standard deviations, so every feature reads alike; hover for the actual values."
        )
        with st.expander("The values behind the chart"):
            st.dataframe(explore.comparison_display(comparison), hide_index=True)


def number_format(df) -> dict:
    """Thousands separators for every number column of a table shown as is."""
    numbers = df.select_dtypes("number").columns
    return {c: st.column_config.NumberColumn(format="localized") for c in numbers}


def keep_result(result: dict | None) -> None:
    """Keep ``result`` as the labels shown; the previous labeled file is deleted."""
    old = st.session_state.pop(RESULT, None)
    if old is not None:
        old["labeled"].discard()
    if result is not None:
        st.session_state[RESULT] = result


def keep_upload(name: str, source, frame, upload_id: str, note: str | None = None) -> None:
    """Make ``source`` (the upload's bytes, or a table) the file being labeled; ``frame``
    is its first rows, for matching columns. Forget the previous file's labels."""
    st.session_state[UPLOAD] = {
        "name": name,
        "source": source,
        "frame": frame,
        "id": upload_id,
        "note": note,
    }
    keep_result(None)
    st.session_state[MAPPING] = {}


def clear_upload() -> None:
    keep_result(None)
    for key in (UPLOAD, MAPPING):
        st.session_state.pop(key, None)
    st.session_state[UPLOADER_GEN] = st.session_state.get(UPLOADER_GEN, 0) + 1


with file_tab:
    st.write(
        "Upload a customer export (CSV, Excel or Parquet). Columns are matched to the model's by "
        "name; you can match the rest by hand. The labeled file adds `cluster`, "
        "`segment` and `cluster_distance` to your columns"
        + (
            ", and `segment_probability`, the probability of the assigned segment."
            if model.algorithm_.gives_probabilities
            else "."
        )
    )
    gen = st.session_state.get(UPLOADER_GEN, 0)
    upload = st.file_uploader(
        "Customer file",
        type=["csv", "txt", "tsv", "xlsx", "parquet"],
        key=f"predict.uploader.{gen}",
        help="Comma, semicolon, tab or pipe separated; UTF-8 or Latin-1; or an Excel "
        "workbook (first sheet); or a Parquet file.",
    )
    current = st.session_state.get(UPLOAD)
    if upload is not None and (current is None or current["id"] != upload.file_id):
        with ui.user_errors(upload.name):
            # The whole file is labeled from its bytes by the command line's entry point;
            # only its first rows are read here, to match its columns to the model's.
            source = upload.getvalue()
            with st.spinner(f"Reading {upload.name}..."):
                frame = read_head(source)
            note = None
            if explore.column_check(model, frame, {})[1] and looks_like_transactions(frame):
                # Order lines for a model trained on per-customer RFM columns: derive them.
                orders = ui.read_upload(source, upload.name)
                derived = ui.derive_customers(
                    upload.name, orders, upload.file_id, lifetime_value=False
                )
                source = frame = derived.frame
                note = derived.transactions.summary()
            keep_upload(upload.name, source, frame, upload.file_id, note)
    if st.button(
        f"Try it with {SAMPLE_ROWS} of the bundled customers",
        help="Labels a sample of the bundled customer file, as if you had uploaded it.",
    ):
        sample = load_default_data().sample(SAMPLE_ROWS, random_state=0).reset_index(drop=True)
        keep_upload("sample of the bundled customers.csv", sample, sample, "sample")

    current = st.session_state.get(UPLOAD)
    if current is not None:
        frame = current["frame"]
        cols = st.columns([5, 1], vertical_alignment="center")
        cols[0].markdown(f"File: {md_bold(current['name'])} ({fmt_int(frame.shape[1])} columns)")
        cols[1].button(
            "Clear",
            on_click=clear_upload,
            icon=":material/close:",
            help="Forget this file and its labels.",
        )
        if current.get("note"):
            st.info(
                "This file is a transaction log, so it was turned into one row per customer "
                f"before labeling. {current['note']}",
                icon=":material/receipt_long:",
            )
        explain = st.checkbox(
            "Add runner-up segment and margin columns",
            key="predict.explain",
            help="runner_up_segment: the segment each customer came closest to joining "
            "instead; margin: how far ahead its own segment is (small means a close call).",
        )
        mapping = st.session_state.setdefault(MAPPING, {})
        st.subheader("Columns", anchor=False)
        _, missing = explore.column_check(model, frame, mapping)
        hand_matched = [c for c in model.schema_.features if c in mapping or c in missing]
        if hand_matched:
            st.markdown("**Match the model's columns this file lacks**")
            options = [NOT_CHOSEN, *map(str, frame.columns)]
            cols = st.columns(min(len(hand_matched), 3))
            for i, feature in enumerate(hand_matched):
                chosen = cols[i % 3].selectbox(
                    f"File column for {md_escape(feature)}",
                    options,
                    index=options.index(mapping[feature]) if feature in mapping else 0,
                    key=f"predict.map.{feature}",
                )
                if chosen == NOT_CHOSEN:
                    mapping.pop(feature, None)
                else:
                    mapping[feature] = chosen
            _, missing = explore.column_check(model, frame, mapping)
        impute = False
        if missing:
            st.warning(
                f"The file lacks {len(missing)} of the model's columns: "
                f"{md_escape(', '.join(missing))}. Match each one to a column of the file "
                "above, or fill them in to label the file anyway.",
                icon=":material/warning:",
            )
            impute = st.checkbox(
                "Fill the missing columns in: give every customer the training median (or "
                "most common value) of each",
                key=f"predict.impute.{version}.{current['id']}",
                help="As the one-customer form does for a field left out. The segments then "
                "rest on the other columns only: read them as a rough guide.",
            )

        key = (current["id"], version, tuple(sorted(mapping.items())), impute, explain)
        result = st.session_state.get(RESULT)
        if (not missing or impute) and (result is None or result["key"] != key):
            bar = st.progress(0.0, text="Labeling the customers...")
            with ui.user_errors("The file could not be labeled"):
                labeled = explore.label_upload(
                    model,
                    current["source"],
                    mapping=mapping,
                    progress=ui.progress_callback(bar),
                    impute_missing=impute,
                    explain=explain,
                )
                result = {"key": key, "labeled": labeled}
                keep_result(result)
            bar.empty()
        if result is not None and result["key"] != key:
            result = None

        report = result["labeled"].result.report if result else None
        imputed = result["labeled"].result.imputed if result else {}
        table, _ = explore.column_check(model, frame, mapping, report, imputed)
        st.dataframe(table, hide_index=True)
        if imputed:
            st.info(
                "**Filled in for every customer** (the file lacks these columns):\n"
                + ui.bullets(result["labeled"].result.imputed_warnings())
                + "\n\nThe segments rest on the other columns only: read them as a rough "
                "guide, and match or add the columns for a firm answer.",
                icon=":material/edit_note:",
            )
        if report is not None:
            for message in explore.file_warnings(report):
                st.warning(md_escape(message), icon=":material/warning:")

        if result is not None:
            labeled = result["labeled"]
            st.subheader("Result", anchor=False)
            st.success(
                f"Labeled file: {md_bold(current['name'])} ({fmt_int(labeled.result.n_rows)} rows)",
                icon=":material/check_circle:",
            )
            stem = current["name"].rsplit(".", 1)[0]
            st.download_button(
                "Download the labeled file (CSV)",
                data=labeled.read_bytes,
                file_name=f"{stem}_segments.csv",
                mime="text/csv",
                type="primary",
                icon=":material/download:",
                on_click="ignore",
            )
            # By segment: built from the labeled file on disk, only when clicked.
            counts = labeled.result.segment_counts.values()
            fits_excel = max(counts, default=0) < audiences.XLSX_MAX_ROWS
            formats = {"zip": "A zip of CSV files"}
            formats |= {"xlsx": "An Excel workbook"} if fits_excel else {}
            split_left, split_right = st.columns([2, 3], vertical_alignment="bottom")
            split_kind = split_left.radio(
                "By segment, as",
                list(formats),
                format_func=formats.get,
                horizontal=True,
                key="predict.split_format",
            )
            split_right.download_button(
                "Download by segment",
                data=lambda path=labeled.path, kind=split_kind: audiences.split_to_bytes(
                    path, kind
                ),
                file_name=f"{stem}_segments.{split_kind}",
                mime="application/zip"
                if split_kind == "zip"
                else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                icon=":material/folder_zip:",
                on_click="ignore",
                help="One CSV per segment (and manifest.csv with the counts) in a zip, or a "
                "workbook with a sheet per segment.",
            )
            drift = labeled.result.drift
            st.markdown("**Is this file like the training data?**")
            if drift is None:
                st.caption(
                    "This model was trained before files could be compared with its training "
                    "data; retrain it to get this check."
                )
            else:
                show = {"like the training data": st.success, "some change": st.warning}.get(
                    drift.verdict, st.error
                )
                show(md_escape(drift.summary()), icon=":material/query_stats:")
                if drift.moved:
                    st.dataframe(
                        drift.moved_rows(),
                        hide_index=True,
                        column_config={
                            "PSI": st.column_config.NumberColumn(
                                help="Population stability index against the training "
                                "deciles: under 0.1 little change, 0.1 to 0.25 some, over "
                                "0.25 a major change."
                            ),
                            "Outside training": st.column_config.NumberColumn(
                                format="percent",
                                help="Share of values beyond the training minimum or "
                                "maximum, or categories never seen in training.",
                            ),
                        },
                    )
                st.caption(
                    f"Segment mix against training: PSI {drift.segment_psi:.2f} "
                    f"({drift_status(drift.segment_psi)})."
                )
            mix = explore.segment_mix(labeled.result.segment_counts, model.segment_names)
            left, right = st.columns([3, 2])
            with left:
                st.markdown("**Segment mix of this file**")
                st.plotly_chart(explore.segment_mix_chart(mix), config={"displayModeBar": False})
            with right:
                st.dataframe(explore.format_mix(mix), hide_index=True)
            st.markdown("**The first 20 labeled customers**")
            # The labels first: they are what the user came for, and the file's own
            # columns may be many.
            preview = labeled.preview
            st.dataframe(preview, hide_index=True, column_config=number_format(preview))
