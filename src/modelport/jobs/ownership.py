"""Who owns a job or a dataset, and whose rows a caller may see.

Ownership is the id of the *user* behind the credential (``Principal.owner``), not the
credential itself (``Principal.id``, which is ``key:<key id>`` or ``user:<username>``): a user's
JWT and every API key the user created act for the same person, so they must see the same jobs
and datasets, and revoking or rotating a key must not orphan what it submitted. The user id
(not the username) is stored because it is the stable primary key API keys reference too.

Admins (the ``admin`` scope) see every row and may filter by one owner; everyone else sees only
its own rows, and someone else's id answers 404 exactly like an unknown one, so ids do not leak.
Builtin datasets belong to nobody and are visible to all.
"""

from __future__ import annotations

from modelport.errors import Forbidden
from modelport.security.principal import Principal


def owner_of(principal: Principal) -> str | None:
    """The owner recorded on what ``principal`` creates (None only when auth is disabled)."""
    if principal.kind == "anonymous":
        return None
    return principal.owner or principal.id


def viewer_of(principal: Principal, requested: str | None = None) -> str | None:
    """The owner whose rows the caller may see; None means every row (admins only).

    ``requested`` is an ``owner=`` filter: admins may name anyone, others only themselves.
    """
    if principal.is_admin:
        return requested
    own = principal.owner or principal.id  # never None: a non-admin always sees a subset
    if requested is not None and requested != own:
        raise Forbidden("only admins may list another owner's rows")
    return own


def visible(row_owner: str | None, viewer: str | None) -> bool:
    """Whether a row owned by ``row_owner`` is visible to ``viewer`` (None: sees everything)."""
    return viewer is None or row_owner == viewer
