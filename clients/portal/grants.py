"""The "Berechtigungen" page for an existing user and for a new one: the
catalogue as a checkbox table in the manual's order, with "Alle anhaken" /
"Alle abhaken" per group as plain submit buttons (no JavaScript needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request

GROUP_ACTION = "group_action"


@dataclass
class Group:
    label: str
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Row:
    """One line of the table: a permission, or a group with its permissions."""

    label: str
    item: dict[str, Any] | None = None
    group: Group | None = None


def rows(catalogue: list[dict[str, Any]]) -> list[Row]:
    """Permissions and groups sorted together by label, a group's permissions
    sorted inside it: the manual's order ("Meine Belege", "Meine Daten" with its
    four, "Meine Supportanfragen")."""
    groups: dict[str, Group] = {}
    result: list[Row] = []
    for item in catalogue:
        group = item.get("group")
        if group:
            if group not in groups:
                groups[group] = Group(group)
                result.append(Row(group, group=groups[group]))
            groups[group].items.append(item)
        else:
            result.append(Row(str(item.get("label", item.get("code", ""))), item=item))
    for group in groups.values():
        group.items.sort(key=lambda item: str(item.get("label", "")).casefold())
    return sorted(result, key=lambda row: row.label.casefold())


def chosen(catalogue: list[dict[str, Any]]) -> tuple[set[str], bool]:
    """The ticked codes from the form, after a group button if one was pressed;
    the flag says whether one was (then the page is shown again, not saved)."""
    known = {str(item["code"]) for item in catalogue}
    codes = {code for code in request.form.getlist("permissions") if code in known}
    action = request.form.get(GROUP_ACTION, "")
    verb, _, label = action.partition(":")
    if verb not in ("check", "uncheck"):
        return codes, False
    members = {str(item["code"]) for item in catalogue if item.get("group") == label}
    return (codes | members if verb == "check" else codes - members), True
