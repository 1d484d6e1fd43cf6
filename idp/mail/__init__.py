"""Outgoing mail: one function per message, templates in templates/mail/<message>/.

The only code that talks SMTP lives here (registration, reset and notification
mails arrive with the self-service issue)."""
