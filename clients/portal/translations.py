"""English for every German message of the portal (German is the source)."""

ENGLISH: dict[str, str] = {
    # Layout, menu, home
    "Zum Inhalt springen": "Skip to content",
    "Menü": "Menu",
    "Sage-ID verwalten": "Manage Sage ID",
    "Benutzerverwaltung": "User management",
    "Administrator kontaktieren": "Contact administrator",
    "Admin-Rechte beantragen": "Request admin rights",
    "Abmelden": "Sign out",
    "Anmelden": "Sign in",
    "Hilfe": "Help",
    "Sprache": "Language",
    "Startseite": "Home",
    "Zur Startseite": "Go to the home page",
    "Willkommen im %(name)s": "Welcome to %(name)s",
    "Willkommen, %(name)s!": "Welcome, %(name)s!",
    "Melden Sie sich mit Ihrer Sage ID an, um Ihre Belege, Lizenzen, Verträge und "
    "Supportanfragen zu sehen.": (
        "Sign in with your Sage ID to see your invoices, licences, contracts and support requests."
    ),
    "Noch keine Sage ID? Auf der Anmeldeseite können Sie ein Konto erstellen.": (
        "No Sage ID yet? You can create an account on the sign-in page."
    ),
    "Kundennummer": "Customer number",
    "Ihre Sage ID ist noch keinem Kundenkonto zugeordnet.": (
        "Your Sage ID is not linked to a customer account yet."
    ),
    "Kundenkonto verbinden": "Link a customer account",
    "Ihr Zugang wartet auf die Freischaltung durch Ihren Administrator.": (
        "Your access is waiting for approval by your administrator."
    ),
    "Ihr Zugang zu diesem Kundenkonto ist gesperrt. Wenden Sie sich an Ihren Administrator.": (
        "Your access to this customer account is locked. Please contact your administrator."
    ),
    "Ihre Bereiche": "Your areas",
    "Ihnen sind noch keine Bereiche freigegeben. Ihr Administrator kann Ihnen Berechtigungen "
    "erteilen.": "No areas have been opened to you yet. Your administrator can grant you "
    "permissions.",
    "Berechtigungen aktualisieren": "Refresh permissions",
    "Ihre Berechtigungen wurden aktualisiert.": "Your permissions have been refreshed.",
    "Beispieldaten zur Demonstration.": "Sample data for demonstration.",
    "Möchten Sie sich vom Portal und von Ihrer Sage ID abmelden?": (
        "Do you want to sign out of the portal and your Sage ID?"
    ),
    # Sign-in and error pages
    "Anmeldung": "Sign-in",
    "Die Anmeldung wurde abgebrochen.": "Sign-in was cancelled.",
    "Die Anmeldung ist fehlgeschlagen. Bitte versuchen Sie es erneut.": (
        "Sign-in failed. Please try again."
    ),
    "Ungültige Anfrage": "Bad request",
    "Die Anfrage konnte nicht verarbeitet werden.": "The request could not be processed.",
    "Kein Zugriff": "Access denied",
    "Sie haben keine Berechtigung für diese Seite. Wenden Sie sich an Ihren Administrator, "
    "wenn Sie Zugang benötigen.": "You are not permitted to open this page. Please contact "
    "your administrator if you need access.",
    "Seite nicht gefunden": "Page not found",
    "Diese Seite gibt es nicht.": "This page does not exist.",
    "Fehler": "Error",
    "Etwas ist schiefgegangen. Bitte versuchen Sie es später erneut.": (
        "Something went wrong. Please try again later."
    ),
    "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.": (
        "The form has expired. Please reload the page."
    ),
    # Areas
    "Meine Belege": "My invoices",
    "Rechnungen und Mahnungen einsehen": "View invoices and reminders",
    "Meine Lizenzen": "My licences",
    "Einsicht in meine Lizenzen": "View my licences",
    "Meine Supportanfragen": "My support requests",
    "Einsicht und Bearbeitung von Support-Tickets": "View and edit support tickets",
    "Produkte und Verträge": "Products and contracts",
    "Anzeige meiner Produkte und Verträge": "View my products and contracts",
    "Zahlungsmethoden": "Payment methods",
    "Änderung der hinterlegten Zahlungsmethoden": "Change the stored payment methods",
    "Bestell-Service Cloud": "Cloud ordering service",
    "Bestellungen für Cloud-Produkte aufgeben": "Order cloud products",
    "Kündigen": "Cancel",
    "Produkte und Verträge kündigen": "Cancel products and contracts",
    "Mein HR Lohnabrechnung Service": "My HR payroll service",
    "Einsicht und Bearbeitung von BPO-Tickets (Payroll Service)": (
        "View and edit BPO tickets (payroll service)"
    ),
    "Namens- und Adressänderung": "Name and address change",
    "Stammdatenänderung (Name, Adresse, Lizenzen)": "Change master data (name, address, licences)",
    "Sage Shop": "Sage Shop",
    "Administration meines Sage Shops": "Administer my Sage Shop",
    "Belegnummer": "Document number",
    "Datum": "Date",
    "Art": "Type",
    "Betrag": "Amount",
    "Status": "Status",
    "Rechnung": "Invoice",
    "Mahnung": "Reminder",
    "Bezahlt": "Paid",
    "Offen": "Open",
    "Produkt": "Product",
    "Lizenznummer": "Licence number",
    "Arbeitsplätze": "Seats",
    "Gültig bis": "Valid until",
    "Ticket": "Ticket",
    "Betreff": "Subject",
    "Geändert": "Changed",
    "In Bearbeitung": "In progress",
    "Erledigt": "Done",
    "Vertrag": "Contract",
    "Laufzeit": "Term",
    "12 Monate": "12 months",
    "24 Monate": "24 months",
    "Aktiv": "Active",
    "Details": "Details",
    "Standard": "Default",
    "SEPA-Lastschrift": "SEPA direct debit",
    "Kreditkarte": "Credit card",
    "Ja": "Yes",
    "Nein": "No",
    "Bestellung": "Order",
    "Menge": "Quantity",
    "Ausgeliefert": "Delivered",
    "Kündbar zum": "Can be cancelled by",
    "Abrechnungsmonat": "Payroll month",
    "Thema": "Topic",
    "Neuer Mitarbeiter": "New employee",
    "Sonderzahlung": "Bonus payment",
    "Feld": "Field",
    "Hinterlegt": "On file",
    "Straße": "Street",
    "PLZ und Ort": "Postcode and town",
    "Land": "Country",
    "Shop": "Shop",
    "Online": "Online",
    "Bestellungen (30 Tage)": "Orders (30 days)",
    # User management
    "Benutzer hinzufügen": "Add user",
    "Einträge anzeigen": "entries per page",
    "Suchen": "Search",
    "Seiten": "Pages",
    "Name": "Name",
    "E-Mail": "Email",
    "E-Mail-Adresse": "Email address",
    "Letzte Anmeldung": "Last sign-in",
    "Rolle": "Role",
    "Verwaltung": "Manage",
    "Berechtigungen": "Permissions",
    "Freischalten": "Approve",
    "Benutzer sperren": "Lock user",
    "Benutzer entsperren": "Unlock user",
    "Benutzer löschen": "Delete user",
    "Benutzer freischalten": "Approve user",
    "Admin-Rechte abgeben": "Give up admin rights",
    "Änderungsprotokoll": "Change log",
    "Keine Einträge gefunden.": "No entries found.",
    "%(first)s bis %(last)s von %(total)s Einträgen": "%(first)s to %(last)s of %(total)s entries",
    "Zurück": "Back",
    "Nächste": "Next",
    "Mitarbeiter": "Employee",
    "Administrator": "Administrator",
    "Gesperrt": "Locked",
    "Ausstehend": "Pending",
    "Eingeladen": "Invited",
    "Berechtigung": "Permission",
    "Beschreibung": "Description",
    "Alle anhaken": "Select all",
    "Alle abhaken": "Clear all",
    "Alle Rechte im Bereich „%(group)s“ vergeben": "Grant every permission in “%(group)s”",
    "Speichern": "Save",
    "Die Berechtigungen wurden gespeichert.": "The permissions have been saved.",
    "kein Login mehr möglich": "no more sign-in",
    "Durch Sperren des Benutzers verhindern Sie, dass der Benutzer sich anmelden kann. Er "
    "bekommt somit keinen Zugang mehr zu geschützten Bereichen. Die Sperre gilt sofort: Ist "
    "der Benutzer gerade angemeldet, wird er abgemeldet.": "Locking the user prevents them "
    "from signing in, so they lose access to all protected areas. The lock takes effect at "
    "once: if the user is signed in right now, they are signed out.",
    "Der Benutzer wurde gesperrt.": "The user has been locked.",
    "Login wieder möglich": "sign-in possible again",
    "Durch Entsperren kann sich der Benutzer wieder anmelden und erhält wieder Zugang zu den "
    "Bereichen, für die er berechtigt ist.": "Unlocking lets the user sign in again, with "
    "access to the areas they are permitted to use.",
    "Der Benutzer wurde entsperrt.": "The user has been unlocked.",
    "Zugang zum Portal gewähren": "grant access to the portal",
    "Der Benutzer hat sich mit Ihrer Kundennummer registriert und wartet auf die "
    "Freischaltung. Nach der Freischaltung erteilen Sie ihm die Berechtigungen für die "
    "Bereiche, die er nutzen soll.": "The user registered with your customer number and is "
    "waiting for approval. After approving, grant the permissions for the areas they should "
    "use.",
    "Der Benutzer wurde freigeschaltet. Erteilen Sie jetzt die Berechtigungen.": (
        "The user has been approved. Now grant the permissions."
    ),
    "z.B. bei Mitarbeiteraustritt": "e.g. when an employee leaves",
    "Wenn dieser Benutzer aus Ihrem Unternehmen ausgetreten ist oder aber keinen Zugang mehr "
    "zum Portal haben soll, dann klicken Sie unten bitte auf den Button „Benutzer löschen“.": (
        "If this user has left your company or should no longer have access to the portal, "
        "click “Delete user” below."
    ),
    "Der Benutzer wurde gelöscht.": "The user has been deleted.",
    "Sie werden Mitarbeiter": "you become an employee",
    "Sie geben Ihre Administrator-Rolle für dieses Kundenkonto ab und behalten Ihren Zugang als "
    "Mitarbeiter. Die Benutzerverwaltung steht Ihnen danach nicht mehr zur Verfügung. Der "
    "letzte Administrator kann seine Rechte nicht abgeben.": "You give up your administrator "
    "role for this customer account and keep your access as an employee. User management "
    "will no longer be available to you. The last administrator cannot give up their rights.",
    "Sie haben Ihre Admin-Rechte abgegeben.": "You have given up your admin rights.",
    "Der Benutzer wurde nicht gefunden.": "The user was not found.",
    "Die Aktion ist fehlgeschlagen.": "The action failed.",
    "Die Benutzerliste konnte nicht geladen werden.": "The user list could not be loaded.",
    "Die Benutzerverwaltung ist gerade nicht erreichbar.": (
        "User management cannot be reached at the moment."
    ),
    "Protokoll": "Log",
    "Benutzerdaten": "User details",
    "Kategorie": "Category",
    "Benutzer": "User",
    # Add user
    "Der neue Benutzer erhält eine E-Mail mit einem Link, über den er die Registrierung "
    "abschließt.": "The new user receives an email with a link to complete the registration.",
    "Anrede": "Salutation",
    "Keine Angabe": "Not specified",
    "Frau": "Ms",
    "Herr": "Mr",
    "Divers": "Mx",
    "Vorname": "First name",
    "Nachname": "Last name",
    "Ich akzeptiere die Nutzungsbedingungen.": "I accept the terms of use.",
    "Abbrechen": "Cancel",
    "Benutzer anlegen": "Create user",
    "Bitte wählen Sie eine Anrede aus der Liste.": "Please choose a salutation from the list.",
    "Bitte füllen Sie dieses Feld aus.": "Please fill in this field.",
    "Höchstens %(count)s Zeichen.": "At most %(count)s characters.",
    "Bitte geben Sie eine gültige E-Mail-Adresse ein.": "Please enter a valid email address.",
    "Bitte akzeptieren Sie die Nutzungsbedingungen.": "Please accept the terms of use.",
    "Die Einladung wurde an %(email)s gesendet.": "The invitation has been sent to %(email)s.",
}
