"""Operator pages (Sage): pending admin requests to approve or reject with a note.

Only signed-in users with ``User.is_operator`` get in (``idp users operator
EMAIL`` grants it); other users get a 403 page, visitors go to the login.
Approving makes someone an administrator of a customer account, so an operator
signed in with the password alone is asked for a second factor first (or to set
one up), by the same step-up as a relying party's ``acr_values``
(``security.operator_requires_mfa``, on by default). The same decisions are
available as ``idp admin-requests approve|reject``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import mfa
from idp.errors import ChangeRejected, Conflict, NotFound
from idp.flows import mfa as mfa_flow
from idp.flows import state
from idp.oidc.authorize import ACR_MFA
from idp.orgs import admin_requests
from idp.sessions import current_session, current_user
from idp.store import User, db

bp = Blueprint("operator", __name__, url_prefix="/operator")

MAX_NOTE_INPUT = 10_000


def operator_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Visitors go to the login; signed-in users who are not operators get a 403
    page; operators without a second factor in this session are asked for one;
    the view gets the operator as its first argument."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("login.login"))
        if not user.is_operator:
            return Response(render_template("orgs/operator/forbidden.html"), status=403)
        if _needs_second_factor():
            return _step_up(user)
        return view(user, *args, **kwargs)

    return wrapper


def _needs_second_factor() -> bool:
    if not current_app.config["IDP"].security.operator_requires_mfa:
        return False
    record = current_session().record
    return record is None or record.acr != ACR_MFA


def _step_up(user: User) -> BaseResponse:
    """The second factor (or its enrolment, for an operator without one), then
    back to the operator page; a form sent meanwhile is not carried out."""
    record = current_session().record
    amr = list(record.amr or ["pwd"]) if record is not None else ["pwd"]
    state.set_landing(url_for(".index"))
    flash(
        _(
            "Die Seiten für Betreiber erfordern eine Anmeldung mit zweitem Faktor. "
            "Bitte bestätigen Sie Ihre Identität."
        ),
        "info",
    )
    purpose = "login" if mfa.has_second_factor(user) else "enrol"
    return mfa_flow.begin(user, "", amr, purpose)


@bp.get("/")
@operator_required
def index(operator: User) -> BaseResponse:
    return _index_page()


@bp.post("/admin-requests/<int:request_id>")
@operator_required
def decide(operator: User, request_id: int) -> BaseResponse:
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    decide_with = admin_requests.approve if decision == "approve" else admin_requests.reject
    note = request.form.get("note", "")[:MAX_NOTE_INPUT]
    try:
        decided = decide_with(request_id, operator=operator.email, note=note)
    except NotFound:
        abort(404)
    except ChangeRejected as exc:
        return _index_page({request_id: exc.errors.get("note", "")}, 400)
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    requester = admin_requests.requester_of(decided).email
    if decision == "approve":
        flash(_("%(email)s ist jetzt Administrator.", email=requester), "success")
    else:
        flash(_("Der Antrag von %(email)s wurde abgelehnt.", email=requester), "success")
    return redirect(url_for(".index"))


def _index_page(errors: dict[int, str] | None = None, status: int = 200) -> Response:
    rows = [
        (r, admin_requests.requester_of(r), admin_requests.consenter_of(r))
        for r in admin_requests.pending_requests()
    ]
    body = render_template("orgs/operator/index.html", rows=rows, errors=errors or {})
    return Response(body, status=status)
