"""The administration JSON API under ``/api/v1`` (manual, chapter 3): the
portal calls it with the signed-in administrator's access token (scope
``customer_admin``). Views are thin: ``@operation`` (``api_core``) has checked
the caller and validated the input; a view calls one service, commits once and
returns a response model. ``GET /api/v1/openapi.json`` describes them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, jsonify
from flask_babel import gettext as _

from idp.errors import Forbidden
from idp.orgs import admin_requests as requests_service
from idp.orgs import invitations, members
from idp.orgs.api_core import OPERATIONS, Call, bp, operation
from idp.orgs.api_schema import (
    AdminRequestList,
    AdminRequestOut,
    CustomerOut,
    InvitationBody,
    InvitationOut,
    LogEntryOut,
    LogPage,
    NoBody,
    PageQuery,
    PermissionList,
    PermissionOut,
    PermissionsBody,
    UserOut,
    UserPage,
    document,
)
from idp.orgs.permissions import CATALOGUE
from idp.store import Membership, db

__all__ = ["bp"]


# -- serialisation ---------------------------------------------------------------------
def user_out(membership: Membership) -> UserOut:
    user = members.user_of(membership)
    return UserOut(
        id=user.sub,
        salutation=user.salutation,
        given_name=user.given_name,
        family_name=user.family_name,
        name=user.display_name,
        email=user.email,
        last_login_at=user.last_login_at,
        status=membership.status,  # type: ignore[arg-type]
        role=membership.role,  # type: ignore[arg-type]
        permissions=sorted(membership.permissions or []),
    )


def _page_of(model: Any, page: members.Page[Any], items: list[Any]) -> Any:
    return model(items=items, total=page.total, page=page.page, per_page=page.per_page)


# -- operations ------------------------------------------------------------------------
@operation("GET", "/openapi.json", summary="This OpenAPI document", tag="meta", public=True)
def openapi(call: Call) -> Response:
    cached = current_app.extensions.get("idp.api.openapi")
    if cached is None:
        doc = document(OPERATIONS, issuer=current_app.config["IDP"].issuer)
        cached = current_app.extensions["idp.api.openapi"] = doc
    response = jsonify(cached)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@operation(
    "GET",
    "/permissions",
    summary="The permission catalogue",
    description="Labels in the language of Accept-Language (de, en).",
    tag="customer accounts",
    response=PermissionList,
)
def permissions(call: Call) -> PermissionList:
    return PermissionList(
        [
            PermissionOut(
                code=p.code,
                label=str(p.label),
                description=str(p.description),
                group=str(p.group) if p.group else None,
            )
            for p in CATALOGUE
        ]
    )


@operation(
    "GET",
    "/customers/{customer_number}",
    summary="The customer account",
    tag="customer accounts",
    response=CustomerOut,
)
def customer(call: Call) -> CustomerOut:
    return CustomerOut.model_validate(call.account)


@operation(
    "GET",
    "/customers/{customer_number}/users",
    summary="Users of the customer account, searched and paged",
    description="`search` matches name and email; ordered by family and given name.",
    tag="users",
    query=PageQuery,
    response=UserPage,
)
def list_users(call: Call) -> UserPage:
    q: PageQuery = call.query
    page = members.list_members(
        call.account, search=q.search, page=q.page, per_page=int(q.per_page)
    )
    return _page_of(UserPage, page, [user_out(m) for m in page.items])


@operation(
    "GET",
    "/customers/{customer_number}/users/{user_id}",
    summary="One user",
    tag="users",
    response=UserOut,
)
def get_user(call: Call) -> UserOut:
    return user_out(call.member)


@operation(
    "PUT",
    "/customers/{customer_number}/users/{user_id}/permissions",
    summary="Replace the user's permissions",
    description="The whole set is saved; unknown codes are refused (422).",
    tag="users",
    body=PermissionsBody,
    response=UserOut,
)
def set_permissions(call: Call) -> UserOut:
    members.set_permissions(call.member, call.body.permissions, actor=call.user)
    db.session.commit()
    return user_out(call.member)


def _action(name: str, service: Callable[..., None], summary: str, description: str) -> None:
    def view(call: Call) -> UserOut:
        service(call.member, actor=call.user)
        db.session.commit()
        return user_out(call.member)

    view.__name__ = f"{name}_user"
    operation(
        "POST",
        f"/customers/{{customer_number}}/users/{{user_id}}/{name}",
        summary=summary,
        description=description,
        tag="users",
        body=NoBody,
        response=UserOut,
        errors=(409,),
    )(view)


_action(
    "lock",
    members.lock,
    "Lock the user",
    "The user's sessions end and their tokens are revoked at once; clients with a "
    "back-channel logout URI are told. Administrators cannot lock themselves (409).",
)
_action("unlock", members.unlock, "Unlock the user", "409 unless the user is locked.")
_action("activate", members.activate, "Activate a pending user", "409 unless pending.")


@operation(
    "POST",
    "/customers/{customer_number}/users/{user_id}/resign",
    summary="Give up one's own administrator role",
    description="Only for the token's own user (403 otherwise); the last active "
    "administrator cannot resign (409).",
    tag="users",
    body=NoBody,
    response=UserOut,
    errors=(409,),
)
def resign(call: Call) -> UserOut:
    if call.member.user_id != call.user.id:
        raise Forbidden(_("Administratoren können nur ihre eigenen Rechte abgeben."))
    members.resign(call.member, actor=call.user)
    db.session.commit()
    return user_out(call.member)


@operation(
    "DELETE",
    "/customers/{customer_number}/users/{user_id}",
    summary="Remove the user from the customer account",
    description="The user's account goes too when it has no other membership. "
    "Administrators cannot remove themselves (409).",
    tag="users",
    status=204,
    errors=(409,),
)
def delete_user(call: Call) -> None:
    members.remove(call.member, actor=call.user)
    db.session.commit()


@operation(
    "GET",
    "/customers/{customer_number}/users/{user_id}/changelog",
    summary="The user's change log, newest first",
    description="`search` matches category, details and who made the change.",
    tag="users",
    query=PageQuery,
    response=LogPage,
)
def changelog(call: Call) -> LogPage:
    q: PageQuery = call.query
    page = members.change_log(call.member, search=q.search, page=q.page, per_page=int(q.per_page))
    items = [
        LogEntryOut(at=e.at, category=e.category, details=e.details, actor=e.actor_name)
        for e in page.items
    ]
    return _page_of(LogPage, page, items)


@operation(
    "POST",
    "/customers/{customer_number}/invitations",
    summary="Invite a user by email",
    description="The invitation mail carries a single-use, expiring registration link.",
    tag="invitations",
    body=InvitationBody,
    response=InvitationOut,
    status=201,
    errors=(409,),
)
def invite(call: Call) -> InvitationOut:
    b: InvitationBody = call.body
    invitation = invitations.create_invitation(
        call.account,
        actor=call.user,
        salutation=b.salutation,
        given_name=b.given_name,
        family_name=b.family_name,
        email=b.email,
        permissions=b.permissions,
    )
    db.session.commit()
    return InvitationOut(email=invitation.email or b.email, expires_at=invitation.expires_at)


@operation(
    "GET",
    "/customers/{customer_number}/admin-requests",
    summary="Requests for administrator rights awaiting this administrator's consent",
    tag="admin requests",
    response=AdminRequestList,
)
def admin_requests(call: Call) -> AdminRequestList:
    return AdminRequestList(
        [
            AdminRequestOut(
                id=r.id, user=user_out(r.membership), created_at=r.created_at, reason=r.reason
            )
            for r in requests_service.awaiting_consent(call.account, call.user)
        ]
    )


@operation(
    "POST",
    "/customers/{customer_number}/admin-requests/{request_id}/consent",
    summary="Consent to a request for administrator rights",
    description="The request then waits for the operator's decision.",
    tag="admin requests",
    body=NoBody,
    status=204,
    errors=(409,),
)
def consent(call: Call) -> None:
    requests_service.consent(call.path["request_id"], call.account, actor=call.user)
    db.session.commit()


@operation(
    "POST",
    "/customers/{customer_number}/admin-requests/{request_id}/decline",
    summary="Refuse consent to a request for administrator rights",
    description="The request ends here; the requester is told by mail.",
    tag="admin requests",
    body=NoBody,
    status=204,
    errors=(409,),
)
def decline(call: Call) -> None:
    requests_service.decline_consent(call.path["request_id"], call.account, actor=call.user)
    db.session.commit()
