"""Retrain: fit a new model on the dataset in use, compare it, save it; roll back or delete."""

from datetime import UTC, datetime

import streamlit as st

from segmentation.app import auth, ui
from segmentation.config import DEFAULT_SEED
from segmentation.insight import explain, explore, methods
from segmentation.modeling.algorithms import ALGORITHMS
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.preprocess import OUTLIER_METHODS, SCALERS
from segmentation.modeling.selection import RULE
from segmentation.store import frame_fingerprint
from segmentation.viz import charts
from segmentation.viz.style import fmt_int, fmt_share, md_bold, md_escape
from segmentation.workflows import match_to_version

ui.require_frame()

#: Session state owned by this page.
#: {"model", "models", "data", "data_name", "transactions", "clv", "identities", "settings",
#: "data_fingerprint"}: trained, not saved yet; "models" holds every method trained
#: ({algorithm label: model}), "model" the one Save would save, "identities" each one's
#: match to the active version ({label: (migration, identity)}), "settings" the choices it
#: was trained with (to tell when the widgets have moved on).
CANDIDATE = "retrain.candidate"
#: Set when a training run starts and cleared when it ends: still set on the next run means
#: the run was cut short (the user left the page or moved a widget), so nothing was kept.
TRAINING = "retrain.training"
SETTINGS = "retrain.settings"  # the user's choices, kept across page switches
FLASH = "retrain.flash"  # a success message shown after a rerun
CONFIRM_DELETE = "retrain.confirm_delete"  # the version waiting for a confirmed delete
MANUAL, AUTOMATIC = "Choose k myself", "Find the best k automatically"

settings = st.session_state.setdefault(SETTINGS, {})
store = ui.store()

st.title("Retrain")
st.caption(
    "Train a new model on the dataset in use, compare it with the active one, and save it "
    "as a new version. Every version is kept, so you can roll back."
)
if message := st.session_state.pop(FLASH, None):
    st.success(message, icon=":material/check_circle:")
if interrupted := st.session_state.pop(TRAINING, None):
    st.warning(
        f"The training started at {interrupted} did not finish: it stopped when you left "
        "the page or changed a setting, and nothing was saved. Press Train to start again.",
        icon=":material/warning:",
    )

active_version = store.active_version()
active = ui.active_model_or_explain(link_to_retrain=False)
active_meta = active[1] if active else None
if active is None and active_version:
    # Compare with what the unusable version was, as far as its metadata says.
    with ui.user_errors():
        active_meta = store.metadata(active_version)

can_train = auth.can("save")
if not can_train:
    st.info(
        "Your role can look at the model history and the audit log. Training and saving "
        "a version need the analyst role; ask an admin of the studio.",
        icon=":material/lock:",
    )
else:
    st.subheader("1. Data", anchor=False)
    dataset = ui.dataset_picker("retrain.upload")

    st.subheader("2. Column roles and purposes", anchor=False)
    st.caption(
        "How each column is used: numeric and categorical columns are features, a date becomes "
        "a number of days before the latest date (tenure, or days since); identifiers are "
        "carried through to the outputs; ignored columns are left out. Each feature either "
        "**segments** (forms the segments) or **describes** them (profiled and shown, not used "
        "to form them): by default behaviour and value columns segment, demographics and "
        "outcome flags describe. Change a role or a purpose in the table; the choice is saved "
        "with the model, so next month's file is read the same way."
    )
    schema, roles, purposes = ui.column_roles_editor(dataset, "retrain.roles")

    st.subheader("3. Method, preprocessing and number of segments", anchor=False)
    algorithm_names = st.multiselect(
        "Method (choose two or more to compare them before saving one)",
        list(ALGORITHMS),
        default=settings.get("algorithms", ["kmeans"]),
        format_func=lambda name: ALGORITHMS[name].label,
        key="retrain.algorithms",
        help="\n".join(f"- **{a.label}**: {a.description}" for a in ALGORITHMS.values()),
    )
    settings["algorithms"] = algorithm_names
    cols = st.columns(2)
    outlier_method = cols[0].selectbox(
        "Outliers",
        OUTLIER_METHODS,
        index=OUTLIER_METHODS.index(settings.get("outlier_method", "iqr")),
        format_func=explore.OUTLIER_LABELS.get,
        key="retrain.outlier_method",
        help="Extreme customers are left out of the fit so they do not pull segments apart; "
        "they are still labeled.",
    )
    scaler = cols[1].selectbox(
        "Scaling",
        SCALERS,
        index=SCALERS.index(settings.get("scaler", "standard")),
        format_func=explore.SCALER_LABELS.get,
        key="retrain.scaler",
        help="Puts every feature on a comparable scale. Robust scaling resists extreme values.",
    )
    mode = st.radio(
        "Number of segments",
        [MANUAL, AUTOMATIC],
        index=[MANUAL, AUTOMATIC].index(settings.get("mode", MANUAL)),
        horizontal=True,
        key="retrain.mode",
    )
    k, k_range = None, (2, 10)
    if mode == MANUAL:
        default_k = settings.get("k") or (active_meta or {}).get("k") or 5
        k = st.slider("Number of segments (k)", 2, 15, int(default_k), key="retrain.k")
        settings["k"] = k
    else:
        k_range = st.slider(
            "Try every k from ... to ...",
            2,
            15,
            tuple(settings.get("k_range", (2, 10))),
            key="retrain.k_range",
        )
        settings["k_range"] = k_range
        st.caption(f"Each k in the range is tried. The rule: {RULE}.")
    settings.update(outlier_method=outlier_method, scaler=scaler, mode=mode)
    chosen_settings = {
        "algorithms": list(algorithm_names),
        "outlier_method": outlier_method,
        "scaler": scaler,
        "mode": mode,
        "k": k,
        "k_range": tuple(k_range) if mode == AUTOMATIC else None,
    }

    st.caption(
        "Stay on this page while the model trains: leaving it, or changing a setting, stops "
        "the training and nothing is kept.",
    )
    if st.button(
        "Train",
        type="primary",
        icon=":material/model_training:",
        disabled=schema is None or not algorithm_names,
    ):
        bar = st.progress(0.0, text="Starting... (leaving this page stops the training)")
        st.session_state[TRAINING] = datetime.now(UTC).strftime("%H:%M:%S UTC")
        with ui.user_errors("Training failed"):
            trained, identities = {}, {}
            for name in algorithm_names:
                label = ALGORITHMS[name].label
                bar.progress(0.0, text=f"{label}: starting...")
                trained[label] = SegmentationModel(
                    k=k,
                    k_range=k_range,
                    algorithm=name,
                    scaler=scaler,
                    outlier_method=outlier_method,
                    roles=roles,
                    purposes=purposes,
                    random_state=DEFAULT_SEED,
                ).fit(dataset.frame, progress=ui.progress_callback(bar))
                # Matched segments take the active version's ids and names before anything
                # is shown.
                identities[label] = (
                    match_to_version(trained[label], dataset.frame, store, active_version)
                    if active_version
                    else (None, None)
                )
            st.session_state[CANDIDATE] = {
                "model": next(iter(trained.values())),
                "models": trained,
                "data": dataset.frame,
                "data_name": dataset.name,
                "transactions": dataset.transactions,
                "clv": dataset.clv if dataset.transactions is not None else None,
                "identities": identities,
                "settings": chosen_settings,
                "data_fingerprint": frame_fingerprint(dataset.frame),
            }
        # Not in a ``finally``: leaving the page stops this run with an exception, and the
        # flag must outlive it to say so on the next run.
        st.session_state.pop(TRAINING, None)
        bar.empty()

    if candidate := st.session_state.get(CANDIDATE):
        trained = candidate.get("models") or {
            candidate["model"].algorithm_.label: candidate["model"]
        }
        if len(trained) > 1:
            st.subheader("4. The methods side by side", anchor=False)
            st.caption(
                "Each method trained on the same customers. Separation is the silhouette "
                "(-1 to 1, higher is better separated): in each method's own space over the "
                "customers it was fitted on, and on one common scale over all customers, where "
                "the methods can be compared. Stability shows once the model reports it."
            )
            st.dataframe(
                methods.compare_methods(trained, candidate["data"], random_state=DEFAULT_SEED),
                hide_index=True,
            )
            st.markdown("**How much the methods agree** (adjusted Rand index: 1 = same segments)")
            st.dataframe(methods.agreement_table(trained))
            labels = list(trained)
            pick = st.columns(2)
            first = pick[0].selectbox("Customers of", labels, key="retrain.migration_from")
            second = pick[1].selectbox(
                "... by segment of", labels, index=1, key="retrain.migration_to"
            )
            st.caption(f"Customers in each {first} segment (rows) by {second} segment (columns).")
            st.dataframe(methods.migration_table(trained[first], trained[second]))
            chosen = st.selectbox("Method to keep", labels, key="retrain.keep_method")
            candidate["model"] = trained[chosen]
        model = candidate["model"]
        new_meta = explore.model_metadata(
            model, candidate["data_name"], candidate.get("data_fingerprint")
        )
        st.subheader(f"{4 + (len(trained) > 1)}. The new model", anchor=False)
        st.caption(
            f"{md_escape(model.algorithm_.label)}, trained on "
            f"{md_bold(candidate['data_name'])}; not saved yet."
        )
        if stale := explore.stale_settings(candidate.get("settings"), chosen_settings, model.k_):
            st.warning(
                f"**Out of date.** {stale} Press Train to see the new settings.",
                icon=":material/update:",
            )
        choice = model.k_choice_
        verdict_box = {"clear": st.success, "weak": st.warning, "none": st.warning}[choice.verdict]
        verdict_box(f"**Choice of k: {choice.verdict}.** {choice.describe()}")
        if model.sweep_ is not None:
            st.markdown(f"**Choosing k: the recommended k is {model.sweep_.recommended_k}**")
            st.plotly_chart(explore.sweep_chart(model.sweep_), config={"displayModeBar": False})
            st.caption(
                f"The rule: {model.sweep_.rule}. Tried on {fmt_int(model.sweep_.n_rows)} "
                "customers. The elbow is where adding segments stops making them much tighter; "
                "the dotted line on the stability chart is the bar a k must pass."
            )
        st.caption(
            f"Overall stability: **{model.stability_.word()}** "
            f"({model.stability_.overall:.2f}): how far the segments reappear when customers "
            "are resampled (stable from 0.85, fairly stable from 0.6, fragile below)."
        )
        if (merges := model.segment_merges()) is not None:
            st.markdown("**How the segments merge**")
            st.plotly_chart(
                charts.dendrogram_chart(merges, [p.name for p in model.profiles_]),
                config={"displayModeBar": False},
            )
            st.caption(
                "Segments joined low down are close relatives; a long step before the last "
                "merges means the groups above it are clearly apart."
            )
        st.dataframe(
            explore.comparison_table(active_meta, new_meta, names=("Active model", "New model")),
            hide_index=True,
            height="content",
        )
        if reason := explore.not_comparable(active_meta, new_meta):
            st.info(
                f"The quality measures are not comparable: {reason}, and each model is "
                "measured on its own training customers. Train both on the same file to "
                "compare them.",
                icon=":material/info:",
            )
        st.caption(
            md_escape(
                f"Segments formed by: {', '.join(model.schema_.features)}. "
                + (
                    f"Described by: {', '.join(model.schema_.descriptors)}. "
                    if model.schema_.descriptors
                    else ""
                )
                + explore.outlier_note(model)
            )
        )
        left_out = explore.outliers_table(model)
        if not left_out.empty:
            st.markdown(f"**Customers left out of the fit** ({fmt_int(len(left_out))})")
            st.dataframe(left_out, hide_index=True)
        left, right = st.columns(2)
        with left:
            st.markdown(f"**Active model segments** ({active_version or 'none'})")
            if active_meta:
                st.dataframe(explore.segments_table(active_meta), hide_index=True)
            else:
                st.caption("No usable active model.")
        with right:
            st.markdown("**New model segments**")
            st.dataframe(explore.segments_table(new_meta), hide_index=True)
        new_rules = explain.rules_table(model)
        if not new_rules.empty:
            st.markdown("**The new model's rules**")
            st.dataframe(
                new_rules,
                hide_index=True,
                column_config={
                    "Precision": st.column_config.NumberColumn(
                        format="percent",
                        help="Of the customers the rule matches, the share in "
                        "the segment (training customers).",
                    ),
                    "Recall": st.column_config.NumberColumn(
                        format="percent",
                        help="Of the segment's customers, the share the rule finds.",
                    ),
                    "Note": st.column_config.TextColumn(width="large"),
                },
            )
        migration, identity = candidate["identities"].get(model.algorithm_.label, (None, None))
        if migration is not None:
            st.markdown(f"**Where the customers of {identity['matched_against']} go**")
            st.caption(
                f"Customers of the new training table, by their segment in "
                f"{identity['matched_against']} (rows) and in the new model (columns). A new "
                "segment that shares most of its customers with an active one keeps that "
                "segment's number and name; the others are new. "
                f"{fmt_share(migration.kept_share())} of the customers stay in a segment with the "
                "same number and name."
            )
            st.dataframe(migration.frame(), hide_index=True)
            st.plotly_chart(
                charts.migration_sankey(
                    migration.counts,
                    migration.old_names,
                    migration.new_names,
                    sides=(identity["matched_against"], "New"),
                ),
                config={"displayModeBar": False},
            )
        elif identity:
            st.caption(f"Segments were not matched to the active model: {identity['reason']}.")
        buttons = st.container(horizontal=True)
        # An analyst saves; only an admin also makes the new version the one every page uses.
        activate_too = auth.can("activate")
        if buttons.button(
            "Save as a new version and activate it" if activate_too else "Save as a new version",
            type="primary",
            icon=":material/save:",
        ):
            with ui.user_errors("The model could not be saved"):
                extra = {"identity": identity} if identity else {}
                if candidate.get("transactions") is not None:
                    extra["transactions"] = candidate["transactions"].to_dict()
                if candidate.get("clv") is not None and not isinstance(candidate["clv"], str):
                    extra["clv"] = candidate["clv"].to_dict()  # how far to trust clv_12m
                saved = store.save(
                    model,
                    data=candidate["data"],
                    data_name=candidate["data_name"],
                    activate=activate_too,
                    extra=extra or None,
                )
                st.session_state.pop(CANDIDATE, None)
                st.session_state[FLASH] = (
                    f"Saved as {saved} and activated: every page now uses it."
                    if activate_too
                    else f"Saved as {saved}. An admin can activate it in the model history."
                )
                st.rerun()
        if buttons.button("Discard", icon=":material/delete_sweep:"):
            st.session_state.pop(CANDIDATE, None)
            st.rerun()

st.subheader("Model history", anchor=False)
versions = []
with ui.user_errors("The model history could not be read"):
    versions = store.list()
if not versions:
    st.caption("No saved version yet.")
else:
    st.dataframe(explore.history_table(versions), hide_index=True)
    labels = {info.version: explore.version_label(info) for info in versions}
    chosen = st.selectbox(
        "Version", list(labels), format_func=labels.get, key="retrain.history_version"
    )
    damaged = {info.version: info.damaged for info in versions if info.damaged}
    if damaged:
        st.warning(
            f"{len(damaged)} saved version(s) are damaged and cannot be used: "
            f"{', '.join(damaged)}. The others work as usual; delete a damaged one below, "
            "activate another, or retrain.",
            icon=":material/warning:",
        )
    # Activating, rolling back and deleting are an admin's: other roles do not see them.
    admin = auth.can("activate")
    if not admin:
        st.caption("Activating, rolling back and deleting versions need the admin role.")
    buttons = st.container(horizontal=True)
    if admin and buttons.button(
        "Activate (roll back)",
        disabled=chosen == active_version or chosen in damaged,
        icon=":material/restore:",
    ):
        with ui.user_errors("The version could not be activated"):
            store.activate(chosen)
            # The k slider follows the active model (a widget's value cannot be set once
            # it is drawn; forgetting it brings it back at the default set here).
            settings["k"] = store.metadata(chosen).get("k") or settings.get("k")
            st.session_state.pop("retrain.k", None)
            st.session_state[FLASH] = f"{chosen} is active again: every page now uses it."
            st.rerun()
    if admin and buttons.button(
        "Delete",
        icon=":material/delete:",
        disabled=chosen == active_version,
        help="The active version cannot be deleted: activate another one first.",
    ):
        st.session_state[CONFIRM_DELETE] = chosen
    pending = st.session_state.get(CONFIRM_DELETE)
    if admin and pending and pending in labels:
        st.warning(
            f"Delete {pending} for good? Its model and training data are removed.",
            icon=":material/warning:",
        )
        confirm = st.container(horizontal=True)
        if confirm.button(f"Yes, delete {pending}", type="primary"):
            st.session_state.pop(CONFIRM_DELETE, None)
            with ui.user_errors("The version could not be deleted"):
                store.delete(pending)
                ui.clear_model_cache()
                st.session_state[FLASH] = f"Deleted {pending}."
                st.rerun()
        if confirm.button("Cancel"):
            st.session_state.pop(CONFIRM_DELETE, None)
            st.rerun()

with ui.user_errors("The audit log could not be read"):
    events = store.history()
    with st.expander(f"Audit log ({len(events)} events)", icon=":material/history:"):
        st.caption(
            "Every save, activation, rollback, segment rename and deletion, with who did it. "
            "The log is only ever appended to. Without sign-in the user is the account the "
            "app runs under (or SEGMENTATION_USER)."
        )
        st.dataframe(explore.audit_table(events), hide_index=True)
