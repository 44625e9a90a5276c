"""How to read a Pexip answer — shared by the session (provider.py), the name resolver, the roster, the
workflows and the event stream, so none of them imports another only for these."""

from __future__ import annotations

from confctl.core import output
from confctl.core.errors import ApiError

SELF_MARK = "confctl-self-participant"  # `self` in a dry run's path, printed as $CONFCTL_PEXIP_SELF
SELF_ENV = "CONFCTL_PEXIP_SELF"


def invalid_token(response) -> bool:
    """Did the node refuse the token itself (401, or a result that names the token)?"""
    try:
        response.read()
        body = response.json()
    except Exception:  # noqa: BLE001 - any unreadable body is not a token complaint
        return response.status_code == 401
    result = body.get("result") if isinstance(body, dict) else body
    return response.status_code == 401 or (isinstance(result, str) and "token" in result.lower())


def unwrap(body, what: str = "request"):
    """Pexip answers {"status", "result"}: status "failure" or result false is a failure (exit 1)."""
    if not (isinstance(body, dict) and "status" in body and "result" in body):
        return body
    status, result = body["status"], body["result"]
    if status != "success":
        raise ApiError(f"{what}: {result}" if isinstance(result, str) else f"{what}: failed ({status})",
                       detail=body)
    if result is False:
        raise ApiError(f"{what}: the node did not apply it (result: false)", detail=body,
                       hint="check the target exists in this room and that confctl has Host rights")
    if result is True:
        output.note(f"{what}: ok")
        return None
    return result
