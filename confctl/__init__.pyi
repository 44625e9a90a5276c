# The typed face of the package's lazy names (confctl/__init__.py loads them on first use).
from typing import Any

from confctl import errors as errors
from confctl.client import AsyncClient as AsyncClient
from confctl.client import Client as Client
from confctl.client.vendors import aconnect as aconnect
from confctl.client.vendors import connect as connect

__version__: str
__all__: list[str]

def __getattr__(name: str) -> Any: ...
