"""Who may do what: the roles of a shared deployment and the actions each allows.

The engine checks these itself (the model store refuses an action the acting user's role
does not allow), so a page hiding a button is never the only guard. Without sign-in the
studio runs for one analyst and every action is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from segmentation.errors import SegmentationError

__all__ = ["ACTIONS", "ROLES", "AccessDenied", "Actor", "role_for"]

#: The roles, least to most allowed.
ROLES = ("viewer", "analyst", "admin")

#: The least role each store action needs. Viewing, labeling, reports and downloads need
#: only to be signed in (viewer).
ACTIONS = {
    "save": "analyst",
    "rename": "analyst",
    "activate": "admin",
    "delete": "admin",
}

#: How an action reads in a refusal.
_SAID = {
    "save": "train and save a version",
    "rename": "rename segments",
    "activate": "activate or roll back a version",
    "delete": "delete a version",
}


class AccessDenied(SegmentationError):
    """The acting user's role does not allow the action."""


@dataclass(frozen=True)
class Actor:
    """Who is acting and with which role (``admin`` when nobody signs in).

    Parameters
    ----------
    name : str
        The user's e-mail (or name), recorded in the audit log.
    role : {"viewer", "analyst", "admin"}
    """

    name: str
    role: str = "admin"

    def can(self, action: str) -> bool:
        """Whether this actor's role allows ``action`` (a key of :data:`ACTIONS`)."""
        return ROLES.index(self.role) >= ROLES.index(ACTIONS[action])

    def check(self, action: str) -> None:
        """Raise :class:`AccessDenied` unless this actor may do ``action``."""
        if not self.can(action):
            raise AccessDenied(
                f"{self.name} is signed in as {self.role}: to {_SAID[action]} needs the "
                f"{ACTIONS[action]} role; ask an admin of the studio"
            )


def role_for(claims: Mapping[str, object], rules: Mapping[str, object]) -> str | None:
    """The role the identity token's ``claims`` give under ``rules``, or None for no role.

    Parameters
    ----------
    claims : mapping
        The signed-in user's claims (``st.user``): ``email`` and, when the provider sends
        them, groups under the claim named by ``rules["groups_claim"]`` (default
        ``"groups"``).
    rules : mapping
        ``admins``, ``analysts``, ``viewers``: lists of entries, each an e-mail address
        (``ana@example.com``), a domain (``@example.com``), a group (``group:marketing``)
        or ``*`` (anyone signed in). The highest role with a matching entry wins.

    Returns
    -------
    str or None
        ``"admin"``, ``"analyst"``, ``"viewer"``, or None when no entry matches (the user
        is signed in but not allowed in).
    """
    email = str(claims.get("email") or "").strip().casefold()
    groups_claim = str(rules.get("groups_claim") or "groups")
    raw_groups = claims.get(groups_claim) or []
    if isinstance(raw_groups, str):
        raw_groups = [g for g in raw_groups.replace(",", " ").split() if g]
    groups = {str(g).strip().casefold() for g in raw_groups}
    for role, key in (("admin", "admins"), ("analyst", "analysts"), ("viewer", "viewers")):
        if any(_matches(entry, email, groups) for entry in _entries(rules.get(key))):
            return role
    return None


def _entries(value: object) -> Iterable[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [e for e in value.replace(",", " ").split() if e]
    return [str(e) for e in value]  # type: ignore[union-attr]


def _matches(entry: str, email: str, groups: set[str]) -> bool:
    entry = entry.strip().casefold()
    if not entry:
        return False
    if entry == "*":
        return True
    if entry.startswith("group:"):
        return entry[len("group:") :] in groups
    if entry.startswith("@"):
        return bool(email) and email.endswith(entry)
    return bool(email) and email == entry
