"""Account settings services ("Konto verwalten"): personal data, password change,
the list of browser sessions, and deleting the account.

Every change records one audit event; functions flush at most and leave the
commit to the view. A rejected form raises ``ChangeRejected`` with one message
per field, already translated, so the view only has to show it."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, delete, or_, select

from idp.accounts import name_character_error
from idp.audit import EventTag, record_event
from idp.credentials import password as password_credential
from idp.errors import ChangeRejected, InvalidCredentials, NotFound, PasswordRejected
from idp.mail import account as account_mail
from idp.oidc.backchannel import notify_logout
from idp.oidc.tokens import revoke_for_user, revoke_where
from idp.orgs.service import drop_memberships
from idp.security.passwords import check_new_password
from idp.store import (
    AuthorizationCode,
    BrowserSession,
    Consent,
    OneTimeToken,
    Token,
    User,
    UserStatus,
    db,
    utcnow,
)

SALUTATIONS = ("frau", "herr", "divers")
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}  # endonyms: never translated
MAX_NAME_LENGTH = 100  # users.given_name / family_name
MAX_PASSWORD_INPUT = 1024  # longer input is cut before hashing, as at login


# -- Personal data -------------------------------------------------------------


def language_choices() -> list[tuple[str, str]]:
    """The configured UI languages as (code, name in that language)."""
    return [
        (code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["IDP"].i18n.locales
    ]


def update_profile(
    user: User, *, salutation: str, given_name: str, family_name: str, locale: str
) -> list[str]:
    """Store salutation, names and language; returns the names of changed fields.

    ``salutation`` is one of ``SALUTATIONS`` or empty ("keine Angabe", stored as
    NULL); ``locale`` must be a configured UI language."""
    errors: dict[str, str] = {}
    if salutation and salutation not in SALUTATIONS:
        errors["salutation"] = _("Bitte wählen Sie eine Anrede aus der Liste.")
    given = _clean_name(given_name, "given_name", _("Bitte geben Sie Ihren Vornamen ein."), errors)
    family = _clean_name(
        family_name, "family_name", _("Bitte geben Sie Ihren Nachnamen ein."), errors
    )
    if locale not in current_app.config["IDP"].i18n.locales:
        errors["locale"] = _("Bitte wählen Sie eine Sprache aus der Liste.")
    if errors:
        raise ChangeRejected(errors)
    wanted = {
        "salutation": salutation or None,
        "given_name": given,
        "family_name": family,
        "locale": locale,
    }
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    if changed:
        for name in changed:
            setattr(user, name, wanted[name])
        user.updated_at = utcnow()  # the ``updated_at`` claim (OIDC Core 5.1)
        record_event(EventTag.PROFILE_CHANGED, user=user, fields=changed)
    return changed


def _clean_name(value: str, field: str, missing: str, errors: dict[str, str]) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        errors[field] = missing
    elif len(value) > MAX_NAME_LENGTH:
        errors[field] = _("Bitte geben Sie höchstens %(n)d Zeichen ein.", n=MAX_NAME_LENGTH)
    elif bad := name_character_error(value):
        errors[field] = bad
    return value


# -- Password ------------------------------------------------------------------


def change_password(
    user: User, *, current: str, new: str, confirmation: str, keep_session_id: str | None
) -> None:
    """Replace the password after checking the current one.

    Every other session of the user ends and every token not issued to the
    session that made the change is revoked: whoever knew the old password is
    out. Password-reset links die by themselves (they are bound to the old
    hash). A notice goes to the account's address."""
    try:
        password_credential.verify(user, current[:MAX_PASSWORD_INPUT])
    except InvalidCredentials:
        raise ChangeRejected({"current_password": _("Das aktuelle Passwort ist falsch.")}) from None
    try:
        password = check_new_password(new, confirmation, email=user.email)
    except PasswordRejected as exc:
        raise ChangeRejected({"new_password": exc.reason}) from None
    if password == unicodedata.normalize("NFC", current):
        raise ChangeRejected(
            {"new_password": _("Das neue Passwort muss sich vom aktuellen unterscheiden.")}
        )
    user.password_hash = password_credential.hash_password(password)
    user.password_changed_at = utcnow()
    ended = _end_other_sessions(user, keep_session_id)
    record_event(EventTag.PASSWORD_CHANGED, user=user, sessions_ended=ended)
    account_mail.send_password_changed(user)


# -- Sessions ------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """What a user agent string says about the browser and the system."""

    browser: str | None
    system: str | None


@dataclass(frozen=True)
class SessionInfo:
    sid: str
    device: Device
    ip: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    current: bool


# Checked in order: many browsers also name the ones they are built on
# ("Edg/... Chrome/... Safari/..."), so the most specific token comes first.
BROWSERS = (
    ("Edge", ("Edg/", "EdgA/", "EdgiOS/", "Edge/")),
    ("Opera", ("OPR/", "OPiOS/", "Opera")),
    ("Samsung Internet", ("SamsungBrowser/",)),
    ("Vivaldi", ("Vivaldi/",)),
    ("Firefox", ("Firefox/", "FxiOS/")),
    ("Chrome", ("Chrome/", "CriOS/", "Chromium/")),
    ("Safari", ("Safari/",)),
    ("Internet Explorer", ("MSIE ", "Trident/")),
)
SYSTEMS = (
    ("Windows", ("Windows",)),
    ("iOS", ("iPhone", "iPad", "iPod")),
    ("Android", ("Android",)),
    ("ChromeOS", ("CrOS",)),
    ("macOS", ("Macintosh", "Mac OS X")),
    ("Linux", ("Linux", "X11")),
)


def describe_device(user_agent: str | None) -> Device:
    """A short, readable summary of a User-Agent header: which browser on which
    system. Enough for a person to recognise their own devices; not a parser
    for every agent ever shipped, and unknown parts stay None."""
    agent = (user_agent or "")[:500]

    def first(table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
        return next((name for name, marks in table if any(m in agent for m in marks)), None)

    return Device(browser=first(BROWSERS), system=first(SYSTEMS))


def active_sessions(user: User, current_id: str | None) -> list[SessionInfo]:
    """The user's live sessions, the current one first, then the most recently used."""
    now = utcnow()
    idle = dt.timedelta(seconds=current_app.config["IDP"].session.idle_timeout)
    rows = db.session.scalars(
        select(BrowserSession)
        .where(
            BrowserSession.user_id == user.id,
            BrowserSession.expires_at > now,
            BrowserSession.last_seen_at > now - idle,
        )
        .order_by(BrowserSession.last_seen_at.desc())
    )
    found = [
        SessionInfo(
            sid=row.sid,
            device=describe_device(row.user_agent),
            ip=row.ip,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            current=row.id == current_id,
        )
        for row in rows
    ]
    return sorted(found, key=lambda info: not info.current)


def end_one_session(user: User, sid: str, current_id: str | None) -> None:
    """Sign out one other session of the user (the current one ends through
    "Abmelden"). Someone else's session or an unknown ``sid`` is NotFound."""
    row = db.session.scalar(
        select(BrowserSession).where(
            BrowserSession.sid == sid[:64], BrowserSession.user_id == user.id
        )
    )
    if row is None or row.id == current_id:
        raise NotFound()
    db.session.delete(row)
    revoke_where(Token.sid == row.sid)
    notify_logout(user, [row.sid])
    record_event(EventTag.SESSION_ENDED, user=user, sessions_ended=1)


def end_other_sessions(user: User, current_id: str | None) -> int:
    """Sign out everywhere else ("Überall sonst abmelden"); returns how many
    sessions ended."""
    ended = _end_other_sessions(user, current_id)
    record_event(EventTag.SESSION_ENDED, user=user, sessions_ended=ended)
    return ended


def _end_other_sessions(user: User, keep_id: str | None, *, notify: bool = True) -> int:
    """Delete every session row of the user but ``keep_id`` and revoke every token
    of the user that was not issued to the kept session."""
    keep = db.session.get(BrowserSession, keep_id) if keep_id else None
    keep_sid = keep.sid if keep is not None and keep.user_id == user.id else None
    others = BrowserSession.user_id == user.id
    if keep_sid is not None:
        others = and_(others, BrowserSession.id != keep_id)
    sids = list(db.session.scalars(select(BrowserSession.sid).where(others)))
    db.session.execute(delete(BrowserSession).where(others))
    if sids and notify:
        notify_logout(user, sids)
    if keep_sid is None:
        revoke_for_user(user)
    else:
        revoke_where(
            and_(Token.user_id == user.id, or_(Token.sid.is_(None), Token.sid != keep_sid))
        )
    return len(sids)


# -- Deletion ------------------------------------------------------------------


def delete_account(
    user: User, *, password: str, confirmed: bool, current_session_id: str | None
) -> None:
    """Delete the account at the user's request.

    The row stays, scrubbed of personal data and marked DELETED, so audit events
    keep their subject and the ``sub`` is never handed out again (OIDC Core 2);
    the address becomes free for a new registration. Every other session ends
    (the caller signs the current browser out with ``sessions.end_session``),
    tokens are revoked, relying parties are told by back-channel logout,
    codes, links, consents and authorization codes go, and a notice goes to the
    old address in the user's language."""
    errors: dict[str, str] = {}
    if not confirmed:
        errors["confirm"] = _("Bitte bestätigen Sie, dass Sie Ihr Konto löschen möchten.")
    try:
        password_credential.verify(user, password[:MAX_PASSWORD_INPUT])
    except InvalidCredentials:
        errors["password"] = _("Das Passwort ist falsch.")
    if errors:
        raise ChangeRejected(errors)
    erase_account(user, keep_session_id=current_session_id)


def erase_account(
    user: User, *, keep_session_id: str | None = None, actor: User | None = None
) -> None:
    """Sessions (but ``keep_session_id``) end, tokens are revoked, relying
    parties are told by back-channel logout, codes, links, consents and
    authorization codes go, the row is scrubbed and a notice goes
    to the old address. Also used when an administrator removes a user's last
    membership."""
    address, locale = user.email, user.locale
    _end_other_sessions(user, keep_session_id, notify=False)
    revoke_for_user(user)
    notify_logout(user)  # every session of the user, not just the ones ended here
    for model in (OneTimeToken, Consent, AuthorizationCode):
        db.session.execute(delete(model).where(model.user_id == user.id))
    drop_memberships(user)
    _scrub(user)
    record_event(EventTag.ACCOUNT_DELETED, user=user, actor=actor)
    account_mail.send_account_deleted(address, locale)


SCRUBBED = (
    "password_hash",
    "salutation",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "picture",
    "website",
    "profile_url",
    "phone_number",
    "address",
    "last_login_at",
    "blocked_until",
)


def _scrub(user: User) -> None:
    for name in SCRUBBED:
        setattr(user, name, None)
    user.email = f"deleted-{user.id}@invalid"  # RFC 2606: never deliverable
    user.email_verified = False
    user.phone_number_verified = False
    user.status = UserStatus.DELETED
    user.updated_at = utcnow()
    db.session.flush()
