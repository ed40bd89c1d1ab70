"""Sign-in with the team's identity provider (Streamlit's ``st.login``) and roles.

Sign-in is on when the deployment configures Streamlit's ``[auth]`` section (in
``.streamlit/secrets.toml``, or a file named by ``STREAMLIT_SECRETS_FILES``). Roles come
from a ``[roles]`` section (``admins``, ``analysts``, ``viewers``: e-mails, ``@domains``,
``group:NAME`` entries, ``*``; ``groups_claim``), or the environment variables
``SEGMENTATION_ADMINS``, ``SEGMENTATION_ANALYSTS``, ``SEGMENTATION_VIEWERS`` and
``SEGMENTATION_GROUPS_CLAIM``. Without ``[auth]`` the studio is one analyst's, with every
action allowed.
"""

from __future__ import annotations

import os

import streamlit as st

from segmentation.access import Actor, role_for
from segmentation.viz.style import md_escape

#: Roles when sign-in is on but no roles are configured: everyone signed in may look.
DEFAULT_RULES = {"viewers": ["*"]}


def sign_in_configured() -> bool:
    """Whether the deployment configured sign-in (an ``[auth]`` secrets section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises on access
        return False


def role_rules() -> dict:
    """The role rules: the ``[roles]`` secrets section, else the environment, else
    :data:`DEFAULT_RULES`."""
    try:
        rules = dict(st.secrets.get("roles", {}))
    except Exception:
        rules = {}
    for key in ("admins", "analysts", "viewers", "groups_claim"):
        value = os.environ.get(f"SEGMENTATION_{key.upper()}")
        if value and key not in rules:
            rules[key] = value
    if not any(rules.get(k) for k in ("admins", "analysts", "viewers")):
        rules = {**DEFAULT_RULES, **rules}
    return rules


def current_actor() -> Actor | None:
    """The signed-in user and role, or None when sign-in is not configured.

    Call only after :func:`require_sign_in` let the page run.
    """
    if not sign_in_configured() or not st.user.is_logged_in:
        return None
    claims = st.user.to_dict()
    role = role_for(claims, role_rules())
    name = str(claims.get("email") or claims.get("name") or claims.get("sub") or "unknown")
    return Actor(name, role or "viewer")


def require_sign_in() -> None:
    """Stop the page until the user has signed in with a role (when sign-in is on)."""
    if not sign_in_configured():
        return
    if not st.user.is_logged_in:
        st.title("Customer Segmentation Studio")
        st.write("Sign in with your company account to see your team's customer segments.")
        if st.button("Sign in", type="primary", icon=":material/login:"):
            st.login()
        st.stop()
    claims = st.user.to_dict()
    if role_for(claims, role_rules()) is None:
        st.title("Customer Segmentation Studio")
        st.error(
            f"{claims.get('email') or 'This account'} is signed in but has no role in this "
            "studio. Ask an admin to add you as a viewer, analyst or admin.",
            icon=":material/block:",
        )
        if st.button("Sign out", icon=":material/logout:"):
            st.logout()
        st.stop()


def can(action: str) -> bool:
    """Whether the signed-in user may do ``action`` (always, without sign-in)."""
    actor = current_actor()
    return actor is None or actor.can(action)


def render_user_box() -> None:
    """Who is signed in, their role and Sign out, in the sidebar; or that nobody signs in."""
    actor = current_actor()
    with st.sidebar:
        if actor is None:
            st.caption(
                "Sign-in is off: anyone who can open this address can train, activate and "
                "delete models."
            )
            return
        st.caption(f"Signed in as **{md_escape(actor.name)}** ({actor.role})")
        if st.button("Sign out", icon=":material/logout:", key="auth.sign_out"):
            st.logout()
