"""The portal's protected areas, one per permission code of the provider's
catalogue, each with a small demo dataset. Messages are German; templates
translate them with ``_()``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template

from clients.portal.auth import claims, current_session, is_active_member, login_required, may_use

bp = Blueprint("areas", __name__)


@dataclass(frozen=True)
class Area:
    code: str
    title: str
    summary: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # Cells of these columns are German words to translate; others are data.
    translated: tuple[int, ...] = ()


AREAS: dict[str, Area] = {
    a.code: a
    for a in (
        Area(
            "documents",
            "Meine Belege",
            "Rechnungen und Mahnungen einsehen",
            ("Belegnummer", "Datum", "Art", "Betrag", "Status"),
            (
                ("RE-2024-10487", "05.02.2024", "Rechnung", "1.190,00 €", "Bezahlt"),
                ("RE-2024-11230", "04.03.2024", "Rechnung", "238,00 €", "Offen"),
                ("MA-2024-00311", "18.03.2024", "Mahnung", "238,00 €", "Offen"),
            ),
            (2, 4),
        ),
        Area(
            "licenses",
            "Meine Lizenzen",
            "Einsicht in meine Lizenzen",
            ("Produkt", "Lizenznummer", "Arbeitsplätze", "Gültig bis"),
            (
                ("Sage 50 Handwerk", "L-50-774120", "3", "31.12.2024"),
                ("Sage HR Suite", "L-HR-118806", "10", "30.06.2025"),
            ),
        ),
        Area(
            "support_requests",
            "Meine Supportanfragen",
            "Einsicht und Bearbeitung von Support-Tickets",
            ("Ticket", "Betreff", "Status", "Geändert"),
            (
                (
                    "T-240311",
                    "Jahresabschluss lässt sich nicht buchen",
                    "In Bearbeitung",
                    "12.03.2024",
                ),
                ("T-240127", "Update auf Version 2024", "Erledigt", "29.01.2024"),
            ),
            (2,),
        ),
        Area(
            "products_contracts",
            "Produkte und Verträge",
            "Anzeige meiner Produkte und Verträge",
            ("Produkt", "Vertrag", "Laufzeit", "Status"),
            (
                ("Sage 50 Handwerk", "V-100234", "12 Monate", "Aktiv"),
                ("Sage HR Suite", "V-100877", "24 Monate", "Aktiv"),
            ),
            (2, 3),
        ),
        Area(
            "payment_methods",
            "Zahlungsmethoden",
            "Änderung der hinterlegten Zahlungsmethoden",
            ("Art", "Details", "Standard"),
            (
                ("SEPA-Lastschrift", "DE89 •••• •••• •••• 3000", "Ja"),
                ("Kreditkarte", "Visa •••• 4242", "Nein"),
            ),
            (0, 2),
        ),
        Area(
            "cloud_orders",
            "Bestell-Service Cloud",
            "Bestellungen für Cloud-Produkte aufgeben",
            ("Bestellung", "Produkt", "Menge", "Status"),
            (
                ("B-88120", "Sage Business Cloud Buchhaltung", "2", "Ausgeliefert"),
                ("B-88342", "Sage Business Cloud Payroll", "1", "In Bearbeitung"),
            ),
            (3,),
        ),
        Area(
            "cancellation",
            "Kündigen",
            "Produkte und Verträge kündigen",
            ("Vertrag", "Produkt", "Kündbar zum"),
            (
                ("V-100234", "Sage 50 Handwerk", "31.12.2024"),
                ("V-100877", "Sage HR Suite", "30.06.2025"),
            ),
        ),
        Area(
            "payroll_service",
            "Mein HR Lohnabrechnung Service",
            "Einsicht und Bearbeitung von BPO-Tickets (Payroll Service)",
            ("Ticket", "Abrechnungsmonat", "Thema", "Status"),
            (
                ("BPO-5512", "02/2024", "Neuer Mitarbeiter", "Erledigt"),
                ("BPO-5630", "03/2024", "Sonderzahlung", "In Bearbeitung"),
            ),
            (2, 3),
        ),
        Area(
            "master_data",
            "Namens- und Adressänderung",
            "Stammdatenänderung (Name, Adresse, Lizenzen)",
            ("Feld", "Hinterlegt"),
            (
                ("Straße", "Hauptstraße 12"),
                ("PLZ und Ort", "10115 Berlin"),
                ("Land", "DE"),
            ),
            (0,),
        ),
        Area(
            "shop",
            "Sage Shop",
            "Administration meines Sage Shops",
            ("Shop", "Status", "Bestellungen (30 Tage)"),
            (("shop.baeckerei-schmidt.example", "Online", "42"),),
            (1,),
        ),
    )
}


def permitted_areas() -> list[Area]:
    return [area for area in AREAS.values() if may_use(area.code)]


@bp.get("/")
def home() -> str:
    """Signed out: the invitation to sign in. Signed in: the areas this user's
    permissions open, or why there are none."""
    return render_template(
        "home.html",
        signed_in=current_session() is not None,
        areas=permitted_areas(),
        status=claims().get("membership_status"),
        has_customer=bool(claims().get("customer_number")),
        active=is_active_member(),
    )


@bp.get("/bereiche/<code>")
@login_required
def area(code: str) -> str:
    found = AREAS.get(code)
    if found is None:
        abort(404)
    if not may_use(code):
        abort(403)
    return render_template("area.html", area=found)
