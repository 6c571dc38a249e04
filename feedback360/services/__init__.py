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


class DomainErrors(DomainError):
    """Several rules refused at once, each ``DomainError`` naming its own field: a form shows
    them all together rather than one per attempt."""

    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors

    @staticmethod
    def raise_any(errors: list[DomainError]) -> None:
        """Nothing if ``errors`` is empty, the one error alone, else all of them."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise DomainErrors(errors)


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know that it does)."""


class Forbidden(DomainError):
    """The caller may not do this."""
