"""Flow progress kept in the server-side session, one typed record per flow.

A pending authorization request waits here while the user signs in or consents;
the login and consent steps mark their progress on it, and ``/authorize/continue``
picks it up. Up to ``MAX_PENDING`` requests (several tabs) are kept."""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from idp.sessions import current_session

SESSION_KEY = "authz"
MAX_PENDING = 5
PENDING_LIFETIME = 30 * 60


@dataclass
class PendingAuthorization:
    params: dict[str, str]
    created_at: float = field(default_factory=time.time)
    login_done: bool = False
    consent_done: bool = False

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


def carried_over() -> dict[str, Any]:
    """What survives the session change at sign-in."""
    keep = {SESSION_KEY: _all()}
    if "ui_locale" in current_session():
        keep["ui_locale"] = current_session()["ui_locale"]
    return keep
