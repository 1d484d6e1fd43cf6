"""The default permission catalogue (from the customer manual), as data.

Codes are what tokens carry in ``permissions`` and relying parties check;
labels and descriptions are for the administrator's page."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

MY_DATA = _l("Meine Daten")


@dataclass(frozen=True)
class Permission:
    code: str
    label: LazyString
    description: LazyString
    group: LazyString | None = None


CATALOGUE: tuple[Permission, ...] = (
    Permission(
        "cloud_orders",
        _l("Bestell-Service Cloud"),
        _l("Bestellungen für Cloud-Produkte aufgeben"),
    ),
    Permission("cancellation", _l("Kündigen"), _l("Produkte und Verträge kündigen")),
    Permission(
        "payroll_service",
        _l("Mein HR Lohnabrechnung Service"),
        _l("Einsicht und Bearbeitung von BPO-Tickets (Payroll Service)"),
    ),
    Permission("documents", _l("Meine Belege"), _l("Rechnungen und Mahnungen einsehen")),
    Permission("licenses", _l("Meine Lizenzen"), _l("Einsicht in meine Lizenzen"), MY_DATA),
    Permission(
        "master_data",
        _l("Namens- und Adressänderung"),
        _l("Stammdatenänderung (Name, Adresse, Lizenzen)"),
        MY_DATA,
    ),
    Permission("shop", _l("Sage Shop"), _l("Administration meines Sage Shops"), MY_DATA),
    Permission(
        "payment_methods",
        _l("Zahlungsmethoden"),
        _l("Änderung der hinterlegten Zahlungsmethoden"),
        MY_DATA,
    ),
    Permission(
        "support_requests",
        _l("Meine Supportanfragen"),
        _l("Einsicht und Bearbeitung von Support-Tickets"),
    ),
    Permission(
        "products_contracts",
        _l("Produkte und Verträge"),
        _l("Anzeige meiner Produkte und Verträge"),
    ),
)

CODES: frozenset[str] = frozenset(p.code for p in CATALOGUE)


def by_code(code: str) -> Permission | None:
    return next((p for p in CATALOGUE if p.code == code), None)
