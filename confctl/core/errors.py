"""Exceptions and the one ordered table that maps them to exit codes (DESIGN §5).

Nothing below the CLI layer calls sys.exit: code raises one of these and `cli.main` turns it into an exit
code and one error message on stderr.
"""

from __future__ import annotations


class ConfctlError(Exception):
    """Base class. `hint` is a short suggestion shown under the message; `status` the HTTP status if any.
    `exit_code`, when set, overrides the table below (a batch whose items all failed exits with theirs)."""

    exit_code: int | None = None

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None, detail=None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status
        self.detail = detail


class UsageError(ConfctlError):
    """Bad arguments or invalid input: nothing was sent."""


class ValidationError(UsageError):
    """A documented constraint was violated; names the field and the rule."""

    def __init__(self, field: str, rule: str, value=None, **kw):
        shown = "" if value is None else f" (got {value!r})"
        super().__init__(f"{field}: {rule}{shown}", **kw)
        self.field = field
        self.rule = rule


class ConfigError(UsageError):
    """The profile or configuration is unusable."""


class AuthError(ConfctlError):
    """401/403, token refresh failed, or credentials missing."""


class ApiError(ConfctlError):
    """The API processed the request and reported failure (Pexip result:false, 4xx not listed below)."""


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class RateLimitedError(ApiError):
    """429 and the retry budget (--max-wait) ran out."""


class ServerError(ConfctlError):
    """5xx, timeouts, connection refused, TLS failure — after retries."""


class PartialFailure(ConfctlError):
    """Some items of a batch failed."""


class StreamEnded(ConfctlError):
    """An event stream ended and could not be resumed."""


class Aborted(ConfctlError):
    """The user declined a confirmation prompt: nothing was sent (exit 10)."""


class AlreadyDone(Exception):
    """Not an error: the server refused because the goal already holds (an endpoint's `already` rule, e.g.
    409 "already muted"). Raised by `Call.send`, turned into a success result by the builder."""

    def __init__(self, note: str, status: int | None, detail=None):
        super().__init__(note)
        self.note = note
        self.status = status
        self.detail = detail


# Ordered: the first matching class wins, so subclasses come before their bases.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (KeyboardInterrupt, 130),
    (UsageError, 2),
    (Aborted, 10),
    (AuthError, 3),
    (NotFoundError, 4),
    (ConflictError, 5),
    (RateLimitedError, 6),
    (ServerError, 7),
    (PartialFailure, 8),
    (StreamEnded, 9),
    (ApiError, 1),
    (ConfctlError, 1),
)


def exit_code_for(exc: BaseException) -> int:
    if getattr(exc, "exit_code", None) is not None and isinstance(exc, ConfctlError):
        return exc.exit_code
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return 1


def error_for_status(status: int, message: str, *, hint: str | None = None, detail=None) -> ConfctlError:
    """The exception class for an HTTP error status (retries already exhausted)."""
    if status in (401, 403):
        cls = AuthError
    elif status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = ConflictError
    elif status == 429:
        cls = RateLimitedError
    elif status >= 500:
        cls = ServerError
    else:
        cls = ApiError
    return cls(message, hint=hint, status=status, detail=detail)
