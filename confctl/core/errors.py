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


# DESIGN §5: what each exit code means, the one source for the README's table (checked by a test) and the man
# page (scripts/gen_docs.py). EXIT_CODES above maps errors to these codes.
EXIT_MEANINGS: tuple[tuple[int, str], ...] = (
    (0, "success (an empty list is success)"),
    (1, "the API processed the request and reported failure (including a 400 from the server), or an "
        "unexpected error"),
    (2, "usage error or invalid input \u2014 nothing was sent"),
    (3, "authentication or authorization failed (401, 403, token refresh failed), or credentials missing or "
        "unreadable (a hung, failing or locked keyring; a secrets file others can read)"),
    (4, "not found (404)"),
    (5, "conflict (409)"),
    (6, "rate limited and the retry budget ran out (429)"),
    (7, "server error or unreachable after retries (5xx, timeouts, connection refused, TLS failure)"),
    (8, "partial failure of a batch: some items failed and some succeeded (when every item fails, the exit code "
        "is that failure's \u2014 the first item's if they differ; an item whose goal already held counts as "
        "success)"),
    (9, "an event stream ended and could not be resumed"),
    (10, "declined at a prompt; nothing was sent (without a terminal, or with `--no-input`, confctl does not "
         "ask: exit 2, pass `--yes`)"),
    (11, "a `confctl wait` condition did not hold before --timeout"),
    (130, "interrupted (Ctrl-C), after cleaning up"),
    (141, "stdout was a pipe whose reader went away (`| head`): nothing on stderr"),
)
