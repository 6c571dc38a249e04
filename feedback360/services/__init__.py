"""Domain operations. Services take plain values, enforce the rules, raise ``DomainError``s and
flush; the request (or CLI command) that called them commits once."""


class DomainError(Exception):
    """A rule of the domain refused the operation; the message is fit to show the user.

    ``field`` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know that it does)."""


class Forbidden(DomainError):
    """The caller may not do this."""
