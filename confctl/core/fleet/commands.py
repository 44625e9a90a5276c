"""The cross-vendor commands (being built: see issue "One view across vendors")."""

from __future__ import annotations


def _todo(*_a, **_k):
    from confctl.core.errors import ConfctlError

    raise ConfctlError("not built yet")


conferences = participants = mute = unmute = kick = spotlight = unspotlight = _todo
mute_all = unmute_all = lock = unlock = capabilities = _todo
