"""Domain exceptions raised by services and credentials, turned into responses by views."""


class DomainError(Exception):
    """Base of every expected, user-facing failure."""


class InvalidCredentials(DomainError):
    """Email or password wrong; deliberately does not say which."""


class AccountLocked(DomainError):
    """The account exists but may not sign in."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class CodeInvalid(DomainError):
    """A code or link is wrong, used, or superseded."""


class CodeExpired(DomainError):
    pass


class TooManyAttempts(DomainError):
    """Too many wrong codes: the code is dead, a new one must be requested."""


class TooSoon(DomainError):
    """Asked again too quickly (resend throttle)."""


class PasswordRejected(DomainError):
    """The new password breaks the policy; ``reason`` says which rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccountBlocked(DomainError):
    """Temporarily blocked after too many failed logins."""


class SendLimitReached(DomainError):
    """ "Code erneut senden" asked for more often than ``accounts.resend_max`` allows."""


class ChangeRejected(DomainError):
    """A form breaks a rule; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


class InvoicePrefix(DomainError):
    """A customer number typed with the "D" printed before it on invoices; the
    user is told to enter the 9 digits without it."""


class InvalidCustomerNumber(DomainError):
    """Not exactly 9 digits."""


class Forbidden(DomainError):
    """The user is known here but lacks the right (e.g. not an administrator)."""


class InvalidPermissions(DomainError):
    """Permission codes that the catalogue does not know."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"Unbekannte Berechtigungen: {', '.join(codes)}")
        self.codes = codes


class WrongAffiliation(DomainError):
    """A customer number whose account belongs to another "Zugehörigkeit" than
    the one chosen at onboarding (its product line is not in the group)."""
