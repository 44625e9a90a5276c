"""Participant tokens: where they come from (never argv) and where they go (only when asked).

`--as-participant SOURCE` reads the token from `-` (stdin, or a hidden prompt on a terminal), `env:VAR`, or a
file. A value that is none of these is refused without being echoed: it may be a token pasted by mistake.
Participant-only operations (`self`) fall back to CONFCTL_MIND_PARTICIPANT_TOKEN.
"""

from __future__ import annotations

import os
import stat
import sys

from confctl.core import output
from confctl.core.errors import ValidationError
from confctl.core.spec import LOCAL, Param
from confctl.core.state import state

ENV_VAR = "CONFCTL_MIND_PARTICIPANT_TOKEN"
FLAG = "--as-participant"

AS_PARTICIPANT = Param(
    "as_participant", LOCAL, flag=FLAG, metavar="SOURCE",
    help="act as a participant, with its token read from SOURCE: - (stdin), env:VAR, or a file "
         f"(never the token itself; participant-only commands default to ${ENV_VAR})",
)


def read(source: str) -> str:
    """The participant token from SOURCE. Raises ValidationError (exit 2, nothing sent) when unusable."""
    if source == "-":
        if sys.stdin.isatty():
            if not state.interactive:
                raise ValidationError(FLAG, "- reads the token from stdin, but stdin is a terminal and prompting "
                                            "is off")
            import getpass

            token = getpass.getpass("participant token: ")
        else:
            token = sys.stdin.readline()
        where = "stdin"
    elif source.startswith("env:"):
        var = source[4:]
        if not var:
            raise ValidationError(FLAG, "env:VAR needs a variable name")
        token = os.environ.get(var, "")
        if not token:
            raise ValidationError(FLAG, f"environment variable {var} is not set or empty")
        where = f"${var}"
    else:
        try:
            info = os.stat(source)
            with open(source, encoding="utf-8") as fh:
                token = fh.readline()
        except OSError:
            raise ValidationError(FLAG, "must be -, env:VAR or a readable file holding the token (a token "
                                        "itself is never accepted on the command line)") from None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            output.warn(f"{source} is readable by other users; `chmod 600 {source}`")
        where = source
    token = token.strip()
    if not token:
        raise ValidationError(FLAG, f"no token found in {where}")
    return token


def dry_run_reference(source: str | None) -> tuple[str, list[str]]:
    """(variable, setup lines) for a dry run acting as a participant: the printed request reads the token
    from the variable; the setup lines fill it in from SOURCE where a shell can (a file), or say to set it.
    Nothing is read: a dry run never needs the token itself."""
    import shlex

    if source and source.startswith("env:") and source[4:].isidentifier():
        return source[4:], []
    if source and source != "-" and not source.startswith("env:"):
        if not os.path.isfile(source):
            raise ValidationError(FLAG, "must be -, env:VAR or a readable file holding the token (a token "
                                        "itself is never accepted on the command line)")
        return ENV_VAR, [f"{ENV_VAR}=$(head -n 1 {shlex.quote(source)})"]
    if source == "-" or not os.environ.get(ENV_VAR):
        return ENV_VAR, [f"# set {ENV_VAR} to the participant's token first (the one `mind participant "
                         f"create` returned), e.g.: read -rs {ENV_VAR}"]
    return ENV_VAR, []


def from_environment() -> str | None:
    return os.environ.get(ENV_VAR, "").strip() or None
