"""Server-side portal sessions in SQLite.

The browser's cookie holds only a random session key; tokens and claims stay
here, stored under the key's SHA-256. Back-channel logout must end a session
from outside the browser, by the provider's ``sid`` or by ``sub``, which a
cookie-only session could not do."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    idp_sid TEXT,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_sub ON sessions (sub);
CREATE INDEX IF NOT EXISTS sessions_idp_sid ON sessions (idp_sid);
CREATE TABLE IF NOT EXISTS logout_tokens (
    jti TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class PortalSession:
    """One signed-in browser: the token response, the claims read from the
    latest ID token, when they were read, and an optional draft (the "Benutzer
    hinzufügen" form between its two steps)."""

    key: str
    sub: str
    idp_sid: str | None
    token: dict[str, Any]
    claims: dict[str, Any]
    claims_at: float
    draft: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)

    def data(self) -> str:
        return json.dumps(
            {
                "token": self.token,
                "claims": self.claims,
                "claims_at": self.claims_at,
                "draft": self.draft,
            }
        )


class SessionStore:
    def __init__(self, path: str, lifetime: int) -> None:
        self.path = path
        self.lifetime = lifetime
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def create(
        self, sub: str, idp_sid: str | None, token: dict[str, Any], claims: dict[str, Any]
    ) -> PortalSession:
        now = time.time()
        session = PortalSession(secrets.token_urlsafe(32), sub, idp_sid, token, claims, now)
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE last_seen < ?", (now - self.lifetime,))
            db.execute(
                "INSERT INTO sessions (id, sub, idp_sid, data, created_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_digest(session.key), sub, idp_sid, session.data(), now, now),
            )
        return session

    def load(self, key: str) -> PortalSession | None:
        """The session for a cookie's key, or None if it ended or idled out."""
        now = time.time()
        with self._connect() as db:
            row = db.execute(
                "SELECT sub, idp_sid, data, created_at, last_seen FROM sessions WHERE id = ?",
                (_digest(key),),
            ).fetchone()
            if row is None:
                return None
            if row[4] < now - self.lifetime:
                db.execute("DELETE FROM sessions WHERE id = ?", (_digest(key),))
                return None
            db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (now, _digest(key)))
        data = json.loads(row[2])
        return PortalSession(
            key=key,
            sub=row[0],
            idp_sid=row[1],
            token=data["token"],
            claims=data["claims"],
            claims_at=data["claims_at"],
            draft=data.get("draft"),
            created_at=row[3],
        )

    def save(self, session: PortalSession) -> bool:
        """Write back; False if the session was ended meanwhile (then it stays ended)."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE sessions SET data = ?, idp_sid = ? WHERE id = ?",
                (session.data(), session.idp_sid, _digest(session.key)),
            )
        return cursor.rowcount == 1

    def delete(self, key: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (_digest(key),))

    def end(self, *, sub: str | None = None, idp_sid: str | None = None) -> int:
        """Back-channel logout: end the sessions with this provider session id
        (and, if given, of this subject), or all sessions of ``sub``."""
        if idp_sid is not None:
            query, args = "DELETE FROM sessions WHERE idp_sid = ?", [idp_sid]
            if sub is not None:
                query, args = query + " AND sub = ?", [idp_sid, sub]
        elif sub is not None:
            query, args = "DELETE FROM sessions WHERE sub = ?", [sub]
        else:
            raise ValueError("sid or sub is required")
        with self._connect() as db:
            return db.execute(query, args).rowcount

    def first_use_of(self, jti: str, expires_at: float) -> bool:
        """Remember a logout token's ``jti``; False if it was seen before (replay)."""
        now = time.time()
        with self._connect() as db:
            db.execute("DELETE FROM logout_tokens WHERE expires_at < ?", (now,))
            cursor = db.execute(
                "INSERT OR IGNORE INTO logout_tokens (jti, expires_at) VALUES (?, ?)",
                (jti, expires_at),
            )
        return cursor.rowcount == 1

    def lock(self, key: str) -> threading.Lock:
        """One lock per session, so two requests of one browser never spend the
        same refresh token twice (the provider would see reuse and revoke the
        grant). One process only; several instances need a shared lock."""
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(_digest(key), threading.Lock())
