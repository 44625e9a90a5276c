"""The exception classes of confctl (the library raises exactly what the CLI maps to exit codes), re-exported
from confctl.core.errors. `exit_code_for(exc)` gives the CLI's exit code of any of them."""

from confctl.core.errors import (EXIT_CODES, EXIT_MEANINGS, Aborted, AlreadyDone, ApiError, AuthError,  # noqa: F401
                                 ConfctlError, ConfigError, ConflictError, NotFoundError, PartialFailure,
                                 RateLimitedError, ServerError, StreamEnded, UsageError, ValidationError,
                                 exit_code_for)

__all__ = ["ConfctlError", "UsageError", "ValidationError", "ConfigError", "AuthError", "ApiError",
           "NotFoundError", "ConflictError", "RateLimitedError", "ServerError", "PartialFailure", "StreamEnded",
           "Aborted", "AlreadyDone", "EXIT_CODES", "EXIT_MEANINGS", "exit_code_for"]
