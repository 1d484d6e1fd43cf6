"""The ``idp`` command: database, server, relying parties, users, customer
accounts, legacy accounts, keys."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import Flask
from sqlalchemy import select

from idp import create_app, resource_dir
from idp.config import SIGNING_ALGS, ConfigError, load_config

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
DEFAULT_SCOPES = "openid profile email address phone customer"


@click.group()
@click.option(
    "--config",
    "config_path",
    envvar="IDP_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML config file (default: $IDP_CONFIG, else built-in defaults).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Operate the identity provider."""
    try:
        ctx.obj = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def with_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command inside an app context, committing once at the end."""

    @click.pass_context
    @wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        from idp.store import db

        app = create_app(ctx.obj)
        with app.app_context():
            try:
                result = func(*args, **kwargs)
                db.session.commit()
                return result
            finally:
                db.session.remove()
                db.engine.dispose()

    return wrapper


# -- database ---------------------------------------------------------------
@main.group()
def db() -> None:
    """Create or upgrade the database schema."""


@db.command("upgrade")
@with_app
def db_upgrade() -> None:
    """Apply every migration and make sure signing keys exist."""
    upgrade_database()
    click.echo("database is up to date")


def upgrade_database() -> None:
    from flask_migrate import upgrade

    from idp.oidc.keys import ensure_keys

    upgrade(directory=str(resource_dir("migrations")))
    ensure_keys()


@db.command("prune")
@click.option(
    "--keep-days",
    default=7,
    show_default=True,
    help="Keep revoked or expired tokens and used codes this long (for audits).",
)
@with_app
def db_prune(keep_days: int) -> None:
    """Delete expired sessions, old codes and dead tokens (run daily from cron)."""
    from idp.housekeeping import prune

    counts = prune(dt.timedelta(days=keep_days))
    click.echo(", ".join(f"{count} {name}" for name, count in counts.items()))


# -- servers ----------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.pass_obj
def run(config: Any, host: str, port: int) -> None:
    """Development server (single process, auto-reload off)."""
    app = create_app(config)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True)
@click.pass_obj
def serve(config: Any, bind: str, workers: int) -> None:
    """Production server: gunicorn with N workers."""
    serve_with_gunicorn(lambda: create_app(config), bind=bind, workers=workers)


def serve_with_gunicorn(factory: Callable[[], Flask], **options: Any) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return factory()

    Application().run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--issuer", help="Default: http://HOST:PORT.")
@click.pass_obj
def demo(config: Any, host: str, port: int, issuer: str | None) -> None:
    """Set up the database with a demo client and user, print them, and serve."""
    from idp import demo as demo_data

    config.server.issuer = issuer or f"http://{host}:{port}"
    app = create_app(config)
    with app.app_context():
        upgrade_database()
        info = demo_data.seed()
    click.echo(demo_data.banner(info, config.issuer))
    app.run(host=host, port=port, threaded=True, use_reloader=False)


# -- clients ----------------------------------------------------------------
@main.group()
def clients() -> None:
    """Register and manage relying parties."""


def client_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--name"),
        click.option(
            "--redirect-uri",
            "redirect_uris",
            multiple=True,
            help="Exact redirect URI; repeat for several.",
        ),
        click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True),
        click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(GRANT_TYPES)),
        click.option("--scope", "scopes", help=f'Space-separated (default "{DEFAULT_SCOPES}").'),
        click.option("--auth-method", type=click.Choice(AUTH_METHODS)),
        click.option(
            "--first-party/--third-party",
            default=None,
            help="First-party clients skip the consent page.",
        ),
        click.option("--id-token-alg", type=click.Choice(SIGNING_ALGS)),
        click.option(
            "--backchannel-logout-uri",
            help='Where logout tokens are POSTed (Back-Channel Logout 1.0); "" removes it.',
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@clients.command("add")
@client_options
@click.option("--client-id", help="Default: random.")
@with_app
def clients_add(client_id: str | None, **values: Any) -> None:
    """Register a relying party; prints its secret once."""
    from idp.oidc import clients as client_service

    values = {k: v for k, v in values.items() if v not in (None, ())}
    if not values.get("name"):
        raise click.UsageError("--name is required")
    try:
        client, secret = client_service.register(client_id=client_id, **values)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(client_service.describe(client) | {"client_secret": secret}, indent=2))


@clients.command("list")
@with_app
def clients_list() -> None:
    from idp.oidc import clients as client_service

    for client in client_service.all_clients():
        kind = "first-party" if client.first_party else "third-party"
        click.echo(
            f"{client.client_id}\t{client.name}\t{client.token_endpoint_auth_method}\t{kind}"
        )


@clients.command("show")
@click.argument("client_id")
@with_app
def clients_show(client_id: str) -> None:
    from idp.oidc import clients as client_service

    click.echo(json.dumps(client_service.describe(_client(client_id)), indent=2))


@clients.command("update")
@click.argument("client_id")
@client_options
@with_app
def clients_update(client_id: str, **values: Any) -> None:
    """Change the given fields; repeated options replace the whole list."""
    from idp.oidc import clients as client_service

    values = {k: v for k, v in values.items() if v not in (None, ())}
    try:
        client_service.update(_client(client_id), **values)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(client_service.describe(_client(client_id)), indent=2))


@clients.command("rotate-secret")
@click.argument("client_id")
@with_app
def clients_rotate_secret(client_id: str) -> None:
    from idp.oidc import clients as client_service

    try:
        secret = client_service.rotate_secret(_client(client_id))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"client_id": client_id, "client_secret": secret}, indent=2))


@clients.command("remove")
@click.argument("client_id")
@with_app
def clients_remove(client_id: str) -> None:
    """Remove a client and revoke its tokens."""
    from idp.oidc import clients as client_service

    client_service.remove(_client(client_id))
    click.echo(f"removed {client_id}")


def _client(client_id: str) -> Any:
    from idp.oidc.server import query_client

    client = query_client(client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id!r}")
    return client


# -- users ------------------------------------------------------------------
@main.group()
def users() -> None:
    """Seed and inspect users."""


@users.command("add")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--given-name")
@click.option("--family-name")
@with_app
def users_add(email: str, password: str, given_name: str | None, family_name: str | None) -> None:
    """Create a verified user (operator seeding)."""
    from idp import accounts
    from idp.errors import Conflict

    try:
        user = accounts.create_user(
            email, password, given_name=given_name, family_name=family_name, email_verified=True
        )
    except Conflict as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.email} (sub {user.sub})")


@users.command("operator")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the operator role away again.")
@with_app
def users_operator(email: str, revoke: bool) -> None:
    """Make a user an operator (operator pages under /operator/), or no longer one."""
    from idp import accounts
    from idp.audit import EventTag, record_event

    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no user {email!r}")
    if user.is_operator != (not revoke):
        user.is_operator = not revoke
        record_event(EventTag.OPERATOR_REVOKED if revoke else EventTag.OPERATOR_GRANTED, user=user)
    click.echo(f"{user.email} is {'no longer ' if revoke else ''}an operator")


# -- customer accounts --------------------------------------------------------
@main.group()
def customers() -> None:
    """Import and inspect customer accounts (Kundenkonten)."""


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_app
def customers_import(file: str) -> None:
    """Create or update customer accounts from a UTF-8 CSV file with the header
    customer_number,name,country,product_line. Exit code 1 if a line failed."""
    from idp.orgs import service

    _report(service.import_customers(_csv_rows(file)), "customer accounts")


@customers.command("list")
@with_app
def customers_list() -> None:
    """Every customer account: number, country, product line, name."""
    from idp.store import CustomerAccount, db

    query = select(CustomerAccount).order_by(CustomerAccount.customer_number)
    for account in db.session.scalars(query):
        click.echo(
            f"{account.customer_number}\t{account.country}\t{account.product_line}\t{account.name}"
        )


@customers.command("show")
@click.argument("number")
@with_app
def customers_show(number: str) -> None:
    """One customer account with its memberships."""
    from idp.orgs import service
    from idp.store import Membership, User, db

    account = service.find_customer(number.strip())
    if account is None:
        raise click.ClickException(f"no customer account {number!r}")
    click.echo(f"{account.customer_number}  {account.name}")
    click.echo(f"country: {account.country}, product line: {account.product_line}")
    rows = db.session.execute(
        select(Membership, User)
        .join(User, Membership.user_id == User.id)
        .where(Membership.customer_account_id == account.id)
        .order_by(User.email)
    ).all()
    click.echo(f"memberships: {len(rows)}")
    for membership, user in rows:
        permissions = ",".join(sorted(membership.permissions or [])) or "-"
        click.echo(f"  {user.email}\t{membership.role}\t{membership.status}\t{permissions}")


@main.group()
def legacy() -> None:
    """Accounts of the old portal ("Servicewelt")."""


@legacy.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_app
def legacy_import(file: str) -> None:
    """Create or update legacy accounts from a UTF-8 CSV file with the header
    username,password_hash,hash_scheme,customer_number,email,given_name,family_name
    (hash_scheme optional). Exit code 1 if a line failed."""
    from idp.orgs import service

    _report(service.import_legacy_accounts(_csv_rows(file)), "legacy accounts")


def _csv_rows(file: str) -> list[dict[str, str]]:
    import csv

    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise click.ClickException(f"{file}: not a UTF-8 CSV file ({exc})") from exc


def _report(result: Any, what: str) -> None:
    """Print the summary and every refused line; fail (exit 1) if any was refused.
    The good lines are committed all the same."""
    from idp.store import db

    click.echo(
        f"{what}: {result.created} created, {result.updated} updated,"
        f" {result.unchanged} unchanged, {len(result.errors)} refused"
    )
    for line, message in result.errors:
        click.echo(f"line {line}: {message}", err=True)
    if result.errors:
        db.session.commit()
        raise click.exceptions.Exit(1)


# -- admin requests -----------------------------------------------------------
@main.group("admin-requests")
def admin_requests_group() -> None:
    """Applications for administrator rights ("Admin-Rechte beantragen")."""


@admin_requests_group.command("list")
@with_app
def admin_requests_list() -> None:
    """Requests waiting for the operator: id, date, customer number and name,
    requester, consenting administrator ("-" if none was needed), reason."""
    from idp.orgs import admin_requests

    for request in admin_requests.pending_requests():
        account = request.membership.customer_account
        consenter = admin_requests.consenter_of(request)
        reason = " ".join((request.reason or "").split())
        click.echo(
            f"{request.id}\t{request.created_at:%Y-%m-%d %H:%M}\t{account.customer_number}"
            f"\t{account.name}\t{admin_requests.requester_of(request).email}"
            f"\t{consenter.email if consenter else '-'}\t{reason}"
        )


@admin_requests_group.command("approve")
@click.argument("request_id", type=int)
@click.option("--note", help="Told to the requester in the decision mail.")
@with_app
def admin_requests_approve(request_id: int, note: str | None) -> None:
    """Make the requester an administrator of the customer account."""
    _decide_admin_request("approve", request_id, note)


@admin_requests_group.command("reject")
@click.argument("request_id", type=int)
@click.option("--note", help="Told to the requester in the decision mail.")
@with_app
def admin_requests_reject(request_id: int, note: str | None) -> None:
    """Refuse the request; the requester stays an employee."""
    _decide_admin_request("reject", request_id, note)


def _decide_admin_request(decision: str, request_id: int, note: str | None) -> None:
    from idp.errors import ChangeRejected, Conflict, NotFound
    from idp.mail.outbox import deliver_due
    from idp.orgs import admin_requests
    from idp.store import db

    decide = admin_requests.approve if decision == "approve" else admin_requests.reject
    try:
        request = decide(request_id, operator="cli", note=note)
    except NotFound as exc:
        raise click.ClickException(f"no admin request {request_id}") from exc
    except ChangeRejected as exc:
        raise click.ClickException(" ".join(exc.errors.values())) from exc
    except Conflict as exc:
        raise click.ClickException(str(exc)) from exc
    email, status = admin_requests.requester_of(request).email, request.status
    db.session.commit()
    deliver_due()  # the decision mail; the outbox keeps it if SMTP is down
    click.echo(f"request {request_id} of {email}: {status}")


# -- outbox -----------------------------------------------------------------
@main.group()
def outbox() -> None:
    """Mail waiting to be sent."""


@outbox.command("list")
@with_app
def outbox_list() -> None:
    """Unsent messages: id, kind, recipient, tries, next try, last error."""
    from idp.mail.outbox import pending

    for message in pending():
        state = "failed" if message.failed_at else f"next {message.next_attempt_at:%H:%M:%S}"
        click.echo(
            f"{message.id}\t{message.kind}\t{message.to_address}\t{message.attempts} tries"
            f"\t{state}\t{message.last_error or ''}"
        )


@outbox.command("flush")
@click.option("--retry-failed", is_flag=True, help="Also retry messages given up on.")
@with_app
def outbox_flush(retry_failed: bool) -> None:
    """Send everything now, ignoring the backoff."""
    from sqlalchemy import update

    from idp.mail.outbox import deliver_due, pending
    from idp.store import OutboxMessage, db, utcnow

    query = update(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    values: dict[str, Any] = {"next_attempt_at": utcnow(), "claimed_until": None}
    if retry_failed:
        values.update(failed_at=None, attempts=0)
    db.session.execute(query.values(**values))
    db.session.commit()
    sent = deliver_due(limit=1000)
    click.echo(f"sent {sent}, {len(pending())} waiting")


# -- keys -------------------------------------------------------------------
@main.group()
def keys() -> None:
    """Signing keys (next / active / retired)."""


@keys.command("list")
@with_app
def keys_list() -> None:
    from idp.store import SigningKey, db

    for key in db.session.scalars(select(SigningKey).order_by(SigningKey.alg, SigningKey.id)):
        click.echo(f"{key.kid}\t{key.alg}\t{key.state}\t{key.created_at:%Y-%m-%d %H:%M}")


@keys.command("rotate")
@click.option(
    "--alg",
    "algs",
    multiple=True,
    type=click.Choice(SIGNING_ALGS),
    help="Default: every algorithm.",
)
@click.pass_obj
def keys_rotate(config: Any, algs: tuple[str, ...]) -> None:
    """Promote the next key to active; the old active key stays published."""
    from idp.audit import EventTag, record_event
    from idp.oidc.keys import rotate
    from idp.store import db

    app = create_app(config)
    keep_for = max(config.oidc.id_token_lifetime, config.oidc.access_token_lifetime)
    with app.app_context():
        for alg in algs or SIGNING_ALGS:
            key = rotate(alg, retire_after=dt.timedelta(seconds=keep_for))
            record_event(EventTag.KEYS_ROTATED, alg=alg, kid=key.kid)
            click.echo(f"{alg}: active key is now {key.kid}")
        db.session.commit()
        db.engine.dispose()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
