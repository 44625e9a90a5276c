"""Per-vendor client classes (`PexipClient`, `AsyncPexipClient`, ...), made at run time from the registry, so
`isinstance(client, PexipClient)` works and adding a vendor folder adds its client. Their typed face for
editors and type checkers is `vendors.pyi` beside this file (every group and method with its real signature,
and `connect(..., provider="pexip") -> PexipClient`), generated from the same endpoint tables by
scripts/gen_stubs.py; tests/test_library.py fails when it is stale."""

from __future__ import annotations

from confctl.client._aio import aconnect, async_client_class  # noqa: F401  (typed per vendor in the .pyi)
from confctl.client._core import client_class, connect  # noqa: F401


def vendor_classes() -> dict[str, type]:
    """Every vendor's client classes by name."""
    from confctl.core.registry import PROVIDERS

    found = {}
    for vendor in PROVIDERS:
        for cls in (client_class(vendor), async_client_class(vendor)):
            found[cls.__name__] = cls
    return found


def __getattr__(name: str):
    if name.endswith("Client") and name not in ("Client", "AsyncClient"):
        found = vendor_classes().get(name)
        if found is not None:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
