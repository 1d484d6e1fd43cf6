"""Flow progress kept in the server-side session, one typed record per flow.

A pending authorization request waits here while the user signs in or consents;
the login and consent steps mark their progress on it, and ``/authorize/continue``
picks it up. Up to ``MAX_PENDING`` requests (several tabs) are kept.

Without a pending authorization a flow may name where signing in lands (the
*landing*: onboarding after a registration, the portal after an invitation);
it survives the session change at sign-in and is used once."""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from idp.sessions import current_session

SESSION_KEY = "authz"
LANDING_KEY = "landing"
MAX_PENDING = 5
PENDING_LIFETIME = 30 * 60


@dataclass
class PendingAuthorization:
    params: dict[str, str]
    created_at: float = field(default_factory=time.time)
    login_done: bool = False
    consent_done: bool = False
    onboarding_done: bool = False  # offered and done or skipped ("Später")
    customer_number: str = ""  # the membership picked for the ``customer`` scope

    @property
    def expired(self) -> bool:
        return time.time() - self.created_at > PENDING_LIFETIME


def _all() -> dict[str, dict[str, Any]]:
    stored = current_session().get(SESSION_KEY)
    return dict(stored) if isinstance(stored, dict) else {}


def stash(params: dict[str, str]) -> str:
    pending = {k: v for k, v in _all().items() if not PendingAuthorization(**v).expired}
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["created_at"]))
    rid = secrets.token_urlsafe(12)
    pending[rid] = dataclasses.asdict(PendingAuthorization(params=params))
    current_session()[SESSION_KEY] = pending
    return rid


def load(rid: str | None) -> PendingAuthorization | None:
    data = _all().get(rid or "")
    if data is None:
        return None
    pending = PendingAuthorization(**data)
    return None if pending.expired else pending


def save(rid: str, pending: PendingAuthorization) -> None:
    stored = _all()
    stored[rid] = dataclasses.asdict(pending)
    current_session()[SESSION_KEY] = stored


def drop(rid: str) -> None:
    stored = _all()
    stored.pop(rid, None)
    current_session()[SESSION_KEY] = stored


def set_landing(url: str) -> None:
    """Where the next sign-in lands when it continues no authorization request.
    Only ever a URL the server chose, never one from the request."""
    current_session()[LANDING_KEY] = {"url": url, "until": time.time() + PENDING_LIFETIME}


def pop_landing() -> str | None:
    stored = current_session().pop(LANDING_KEY, None)
    if not isinstance(stored, dict) or stored.get("until", 0) < time.time():
        return None
    url = stored.get("url")
    return url if isinstance(url, str) else None


def carried_over() -> dict[str, Any]:
    """What survives the session change at sign-in."""
    keep = {SESSION_KEY: _all()}
    if LANDING_KEY in current_session():
        keep[LANDING_KEY] = current_session()[LANDING_KEY]
    if "ui_locale" in current_session():
        keep["ui_locale"] = current_session()["ui_locale"]
    return keep
