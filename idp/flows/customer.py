"""Member pages of a customer account, linked from the portal's icon menu:
"Admin-Rechte beantragen", "Administrator kontaktieren", and the page where an
administrator consents to (or declines) another member's admin request.

``customer_number`` in the query string picks the membership; a number the
signed-in user is no member of looks like no page at all (404). The rules are
``idp.orgs.admin_requests``'s and ``idp.orgs.messages``'; this module only turns
their outcomes into pages."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import ChangeRejected, Conflict, Forbidden, NotFound
from idp.extensions import limiter
from idp.flows.account import login_required
from idp.orgs import admin_requests, messages, service
from idp.security.clientip import client_ip
from idp.security.limits import limit_from
from idp.sessions import current_user
from idp.store import AdminRequestStatus, Membership, MembershipRole, MembershipStatus, User, db

bp = Blueprint("customer", __name__, url_prefix="/customer")

CONTACT_LIMIT = "10 per hour"  # messages per member: enough to talk, too few to spam
MAX_FIELD_INPUT = 10_000  # what a rejected form shows again


def _member_key() -> str:
    user = current_user()
    return f"contact:{user.sub}" if user else f"contact-ip:{client_ip()}"


def _membership(user: User) -> Membership:
    """The signed-in user's membership in the customer account of the query string."""
    number = request.args.get("customer_number", "")
    account = service.find_customer(number) if service.CUSTOMER_NUMBER.fullmatch(number) else None
    membership = service.membership_in(user, account) if account else None
    if membership is None:
        abort(404)
    return membership


# -- "Admin-Rechte beantragen" ------------------------------------------------------------
@bp.route("/admin-request", methods=["GET", "POST"])
@login_required
def admin_request(user: User) -> BaseResponse:
    membership = _membership(user)
    if request.method == "GET":
        return _admin_request_page(membership)
    if request.form.get("accept_duties") != "y":
        errors = {"accept_duties": _("Bitte bestätigen Sie, dass Sie die Aufgaben übernehmen.")}
        return _admin_request_page(membership, errors, 400)
    try:
        admin_requests.request_admin(
            membership, reason=request.form.get("reason", "")[:MAX_FIELD_INPUT]
        )
    except ChangeRejected as exc:
        return _admin_request_page(membership, exc.errors, 400)
    except Conflict as exc:
        return _admin_request_page(membership, {"form": str(exc)}, 409)
    db.session.commit()
    flash(_("Ihr Antrag auf Admin-Rechte wurde gestellt."), "success")
    return redirect(_here("customer.admin_request", membership))


def _admin_request_page(
    membership: Membership, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    body = render_template(
        "flows/customer/admin_request.html",
        membership=membership,
        account=membership.customer_account,
        is_admin=membership.role == MembershipRole.ADMIN,
        is_active=membership.status == MembershipStatus.ACTIVE,
        open_request=admin_requests.open_request(membership),
        awaiting_consent=AdminRequestStatus.AWAITING_CONSENT,
        has_admin=service.has_active_admin(membership.customer_account),
        errors=errors or {},
        reason=request.form.get("reason", "")[:MAX_FIELD_INPUT] if errors else "",
    )
    return Response(body, status=status)


# -- "Administrator kontaktieren" ---------------------------------------------------------
@bp.route("/contact", methods=["GET", "POST"])
@limiter.limit(limit_from("login_limit_ip"), methods=["POST"])
@limiter.limit(CONTACT_LIMIT, key_func=_member_key, methods=["POST"])
@login_required
def contact(user: User) -> BaseResponse:
    membership = _membership(user)
    if request.method == "GET":
        return _contact_page(membership)
    try:
        sent = messages.contact_admins(
            membership,
            subject=request.form.get("subject", "")[:MAX_FIELD_INPUT],
            message=request.form.get("message", "")[:MAX_FIELD_INPUT],
        )
    except ChangeRejected as exc:
        return _contact_page(membership, exc.errors, 400)
    except Conflict as exc:
        return _contact_page(membership, {"form": str(exc)}, 409)
    db.session.commit()
    flash(
        ngettext(
            "Ihre Nachricht wurde an %(num)d Administrator gesendet.",
            "Ihre Nachricht wurde an %(num)d Administratoren gesendet.",
            sent,
        ),
        "success",
    )
    return redirect(_here("customer.contact", membership))


def _contact_page(
    membership: Membership, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    form = request.form if errors else {}
    body = render_template(
        "flows/customer/contact.html",
        account=membership.customer_account,
        can_contact=bool(messages.admins_to_contact(membership)),
        is_locked=membership.status == MembershipStatus.LOCKED,
        errors=errors or {},
        subject=form.get("subject", "")[: messages.MAX_SUBJECT_LENGTH * 2],
        message=form.get("message", "")[:MAX_FIELD_INPUT],
    )
    return Response(body, status=status)


# -- administrators: consent to admin requests -------------------------------------------
@bp.get("/admin-requests", endpoint="admin_requests")
@login_required
def admin_requests_page(user: User) -> BaseResponse:
    membership = _membership(user)
    account = membership.customer_account
    try:
        waiting = admin_requests.awaiting_consent(account, user)
    except Forbidden:
        return _forbidden()
    rows = [(r, admin_requests.requester_of(r)) for r in waiting]
    return Response(
        render_template("flows/customer/admin_requests.html", account=account, rows=rows)
    )


@bp.post("/admin-requests/<int:request_id>/<any(consent, decline):decision>")
@login_required
def decide(user: User, request_id: int, decision: str) -> BaseResponse:
    membership = _membership(user)
    try:
        DECISIONS[decision](request_id, membership.customer_account, actor=user)
    except Forbidden:
        return _forbidden()
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(_here("customer.admin_requests", membership))
    db.session.commit()
    if decision == "consent":
        flash(
            _("Sie haben zugestimmt. Der Antrag liegt jetzt Sage zur Freischaltung vor."), "success"
        )
    else:
        flash(_("Sie haben den Antrag abgelehnt."), "success")
    return redirect(_here("customer.admin_requests", membership))


DECISIONS = {"consent": admin_requests.consent, "decline": admin_requests.decline_consent}


def _here(endpoint: str, membership: Membership) -> str:
    return url_for(endpoint, customer_number=membership.customer_account.customer_number)


def _forbidden() -> Response:
    return Response(render_template("flows/customer/forbidden.html"), status=403)
