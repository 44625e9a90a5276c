"""confctl as a Python library (docs/library.md): `confctl.connect("prod-pexip")` returns a client whose
methods are the vendor's commands (`client.participant.mute("Bob")`), generated from the same endpoint
tables, with the same validation, name resolvers, `already` results and exception classes
(confctl.errors). `confctl.aconnect()` is the asyncio twin."""

from __future__ import annotations

from confctl.client._aio import AsyncClient, AsyncEventStream, AsyncNamespace
from confctl.client._core import Client, EventStream, Namespace, resolve_profile
from confctl.client.vendors import aconnect, connect  # typed per vendor (vendors.pyi)

__all__ = ["connect", "aconnect", "Client", "AsyncClient", "EventStream", "AsyncEventStream", "Namespace",
           "AsyncNamespace", "resolve_profile"]


def __getattr__(name: str):
    """The per-vendor classes (PexipClient, AsyncPexipClient, ...), made on first use."""
    from confctl.client import vendors

    return getattr(vendors, name)
