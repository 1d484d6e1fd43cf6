"""Self-service identity proved by an emailed code: registration ("Konto
erstellen") and email change.

Both issue a six-digit code (``tokens.issue_code``) to the address being proved
and finish when it is typed. Registering an address that already has an account
looks the same to the visitor: the password is hashed, a code record is issued
and one mail goes out, but the mail goes to the owner and says someone tried,
and the record can never be confirmed. Services flush; the views commit.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from idp import accounts, tokens
from idp.audit import EventTag, record_event
from idp.credentials import password as password_credential
from idp.errors import CodeInvalid, Conflict, SendLimitReached, TooManyAttempts, TooSoon
from idp.mail import registration as mail
from idp.security.passwords import check_new_password
from idp.store import OneTimeToken, User, db, utcnow
from idp.tokens import Purpose


def begin_registration(
    email: str,
    password: str,
    confirmation: str,
    *,
    given_name: str,
    family_name: str,
    locale: str,
    invitation: dict[str, object] | None = None,
) -> OneTimeToken:
    """Check the password and issue the code record; raises PasswordRejected.

    ``email`` is normalised here. The pending account (names, argon2 hash,
    language) waits in the record's payload; never the password itself.
    ``invitation`` (``invitation_id`` and the chosen salutation) rides along
    when the registration answers an invitation, which is accepted with the code."""
    email = accounts.normalise_email(email)
    password = check_new_password(password, confirmation, email=email)
    password_hash = password_credential.hash_password(password)  # both paths: same timing
    owner = accounts.find_by_email(email)
    if owner is not None:
        payload: dict[str, object] = {"existing": True}
        record_event(EventTag.REGISTRATION_DUPLICATE, user=owner)
    else:
        payload = {
            "given_name": given_name,
            "family_name": family_name,
            "password_hash": password_hash,
            "locale": locale,
            **(invitation or {}),
        }
        record_event(EventTag.REGISTRATION_STARTED, email=email)
    row, code = tokens.issue_code(Purpose.REGISTRATION, email=email, payload=payload)
    _send(row, code)
    return row


def create_user_from_hash(
    email: str,
    password_hash: str,
    *,
    given_name: str | None,
    family_name: str | None,
    locale: str | None,
) -> User:
    """A verified account whose password was hashed when the registration began;
    raises Conflict if the address has an account by now."""
    user = accounts.create_user(
        email,
        None,
        given_name=given_name,
        family_name=family_name,
        email_verified=True,
        locale=locale,
    )
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    return user


def complete_registration(token_id: int, code: str) -> User:
    """Check the code and create the account. Raises CodeInvalid, CodeExpired or
    TooManyAttempts; the caller commits either way so that wrong tries count."""
    row = _live_row(token_id, Purpose.REGISTRATION)
    # An attempt on an address that has an account runs the same checks and
    # counts the same wrong tries, but no code can ever match it.
    tokens.check_code(row, "" if row is None or row.payload.get("existing") else code)
    assert row is not None
    payload = row.payload
    try:
        user = create_user_from_hash(
            str(row.email),
            payload["password_hash"],
            given_name=payload.get("given_name"),
            family_name=payload.get("family_name"),
            locale=payload.get("locale"),
        )
    except Conflict as exc:  # registered meanwhile in another browser
        raise CodeInvalid() from exc
    record_event(EventTag.EMAIL_VERIFIED, user=user)
    if payload.get("invitation_id") is not None:
        from idp.orgs import invitations

        invitations.accept_after_registration(user, payload)
    return user


def begin_email_change(user: User, new_email: str, password: str, *, locale: str) -> OneTimeToken:
    """Send a code to the new address once the current password is proved.

    Raises InvalidCredentials (wrong password) or Conflict (the address is this
    or another account's; the signed-in owner may be told)."""
    password_credential.verify(user, password)
    new_email = accounts.normalise_email(new_email)
    if accounts.find_by_email(new_email) is not None:
        raise Conflict("address in use")
    row, code = tokens.issue_code(
        Purpose.EMAIL_CHANGE,
        email=new_email,
        user=user,
        payload={"new_email": new_email, "locale": locale},
    )
    mail.send_email_change_code(new_email, code, locale)
    return row


def complete_email_change(token_id: int, code: str, user: User) -> User:
    """Check the code and move the account to the new address, which counts as
    verified; the old address gets a notice. Raises the code errors or Conflict."""
    row = _live_row(token_id, Purpose.EMAIL_CHANGE)
    if row is not None and row.user_id != user.id:
        row = None
    tokens.check_code(row, code)
    assert row is not None
    new_email = str(row.payload["new_email"])
    if accounts.find_by_email(new_email) is not None:
        raise Conflict("address in use")
    old_email = user.email
    user.email = new_email
    user.email_verified = True
    user.updated_at = utcnow()
    db.session.flush()
    record_event(EventTag.EMAIL_CHANGED, user=user, actor=user, old=old_email, new=new_email)
    mail.send_email_changed_notice(old_email, new_email, user.locale)
    return user


def resend_code(token_id: int, purpose: Purpose) -> None:
    """ "Code erneut senden": a fresh code with a fresh lifetime in the same
    record, so wrong tries carry over. Raises CodeInvalid (gone), TooManyAttempts
    (dead), SendLimitReached or TooSoon."""
    config = current_app.config["IDP"].accounts
    row = _live_row(token_id, purpose)
    if row is None or row.used_at is not None:
        raise CodeInvalid()
    if row.attempts >= config.code_max_attempts:
        raise TooManyAttempts()
    if row.sends >= config.resend_max:
        raise SendLimitReached()
    now = utcnow()
    if row.last_sent_at + dt.timedelta(seconds=config.resend_interval) > now:
        raise TooSoon()
    code = tokens.renew_code(row)
    row.expires_at = now + dt.timedelta(seconds=config.code_lifetime)
    _send(row, code)


def abandon(token_id: int) -> None:
    """ "Abbrechen" on the code page: the code dies at once."""
    row = db.session.get(OneTimeToken, token_id)
    if row is not None and row.used_at is None:
        row.used_at = utcnow()


def _live_row(token_id: int, purpose: Purpose) -> OneTimeToken | None:
    row = db.session.get(OneTimeToken, token_id)
    return row if row is not None and row.purpose == str(purpose) else None


def _send(row: OneTimeToken, code: str) -> None:
    """The mail that goes with (re)issuing ``code`` for ``row``."""
    locale = row.payload.get("locale")
    if row.purpose == Purpose.EMAIL_CHANGE:
        mail.send_email_change_code(str(row.email), code, locale)
    elif row.payload.get("existing"):
        owner = accounts.find_by_email(str(row.email))
        if owner is not None:
            mail.send_registration_attempt(owner)
    else:
        mail.send_verification_code(str(row.email), code, locale)
