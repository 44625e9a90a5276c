"""`confctl top` (being built)."""

from confctl.core.fleet.commands import _todo as top  # noqa: F401
