"""`confctl wait` (being built)."""

from confctl.core.fleet.commands import _todo as wait  # noqa: F401
