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
