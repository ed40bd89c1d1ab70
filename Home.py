"""Customer Segmentation Studio: the entry file (page config, navigation, shared sidebar)."""

import streamlit as st
from streamlit_option_menu import option_menu

from segmentation.app import auth, ui
from segmentation.viz.style import fmt_datetime, fmt_int, fmt_metric, md_escape

st.set_page_config(
    page_title="Customer Segmentation Studio",
    page_icon=str(ui.ASSETS / "favicon.png"),
    layout="wide",
)
# With sign-in configured, nothing below runs until the user has signed in with a role.
auth.require_sign_in()


def home() -> None:
    """The landing page: what the app does, the active model, the three workflows."""
    st.title("Customer Segmentation Studio")
    st.write(
        "Find out who your customers are: the studio groups them into segments with names, "
        "traits and what to do about each. Label a fresh customer export with those segments, "
        "and retrain when the business changes."
    )
    active = ui.active_model_or_explain()
    if active is None:
        return
    _, meta = active

    st.subheader("Active model")
    cols = st.columns(4)
    cols[0].metric("Version", meta["version"])
    cols[1].metric("Segments", meta["k"])
    cols[2].metric(
        "Silhouette",
        fmt_metric(meta.get("silhouette")),
        help="-1 to 1: how much closer customers are to their own segment than to "
        "the next one. Above 0.25 is a usable structure, above 0.5 a strong one.",
    )
    cols[3].metric("Customers", fmt_int(meta["n_rows"]))
    created = fmt_datetime(meta.get("created_at"))
    st.caption(
        f"Trained {created} UTC on **{md_escape(meta.get('data_name'))}**; "
        f"features: {md_escape(', '.join(meta['features']))}."
    )

    st.subheader("What would you like to do?")
    cols = st.columns(3)
    with cols[0].container(border=True):
        st.markdown("**Understand my segments**")
        st.caption("Who is in each segment, how they differ and what to do about each.")
        st.page_link(PAGES["Overview"], label="Open the overview", icon=":material/dashboard:")
        st.page_link(
            PAGES["Cluster Analysis"], label="Compare segments", icon=":material/insights:"
        )
    with cols[1].container(border=True):
        st.markdown("**Label a customer file**")
        st.caption("Score one customer, or upload a CSV and download it with segments.")
        st.page_link(PAGES["Predict"], label="Label customers", icon=":material/label:")
    with cols[2].container(border=True):
        st.markdown("**Retrain**")
        st.caption("Train on new data, pick the number of segments, roll back a version.")
        st.page_link(PAGES["Retrain"], label="Retrain the model", icon=":material/refresh:")
    st.caption(f"Dataset in use: **{md_escape(ui.dataset_in_use().name)}**")
    if not auth.sign_in_configured():
        st.caption(
            "Sign-in is not configured: this studio is set up for one analyst, and anyone "
            "who can open this address can train, activate and delete models. For a team, "
            "configure sign-in and roles (README, 'Sharing the studio with a team')."
        )


# URL paths equal the names Streamlit derives from the files in pages/: on a server's very
# first request it resolves a direct link against those before st.navigation has run, and
# any other path would show a "Page not found" dialog once.
PAGES = {
    "Home": st.Page(home, title="Home", icon=":material/home:", default=True),
    "Overview": st.Page(
        "pages/1_Overview.py", title="Overview", url_path="Overview", icon=":material/dashboard:"
    ),
    "Cluster Analysis": st.Page(
        "pages/2_Cluster_Analysis.py",
        title="Cluster Analysis",
        url_path="Cluster_Analysis",
        icon=":material/insights:",
    ),
    "Predict": st.Page(
        "pages/3_Predict.py", title="Predict", url_path="Predict", icon=":material/label:"
    ),
    "Explorer": st.Page(
        "pages/4_Explorer.py", title="Explorer", url_path="Explorer", icon=":material/table_view:"
    ),
    "Retrain": st.Page(
        "pages/5_Retrain.py", title="Retrain", url_path="Retrain", icon=":material/refresh:"
    ),
}
#: Bootstrap icon names for the sidebar menu, in PAGES order.
MENU_ICONS = ["house", "speedometer2", "bar-chart-line", "tag", "table", "arrow-repeat"]

current = st.navigation(list(PAGES.values()), position="hidden")
titles = list(PAGES)
with st.sidebar:
    # One menu instance per page: its selection starts at the page being shown, so a
    # direct link or a page_link keeps the menu in step with the URL.
    st.markdown("### :material/groups: Segmentation Studio")
    # No menu title: a title that wraps after the component measured its height cut the
    # last item off; the heading above is plain Streamlit and always fits.
    choice = option_menu(
        None,
        titles,
        icons=MENU_ICONS,
        default_index=titles.index(current.title),
        key=f"menu_{current.title}",
        styles={
            "container": {"padding": "0.25rem", "font-family": "sans-serif"},
            "nav-link": {"font-size": "0.95rem", "font-family": "sans-serif"},
        },
    )
if choice and choice != current.title:
    st.switch_page(PAGES[choice])

with ui.error_boundary():
    ui.render_sidebar()
with ui.app_frame():
    current.run()
