"""confctl: one command line for Pexip, Mind, Auvious and telephony-gateway conferences — and a Python library
(docs/library.md): `confctl.connect("prod-pexip")`, `await confctl.aconnect(...)`, `confctl.errors`.

Importing confctl stays cheap: the library (and httpx, keyring, typer behind it) loads on first use of one of
these names."""

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "aconnect", "Client", "AsyncClient", "errors"]

# name -> the module that holds it (None: the module itself)
_LAZY = {"connect": "confctl.client", "aconnect": "confctl.client", "Client": "confctl.client",
         "AsyncClient": "confctl.client", "errors": None}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        home = _LAZY[name]
        value = importlib.import_module(f"confctl.{name}") if home is None else getattr(
            importlib.import_module(home), name)
        globals()[name] = value
        return value
    if name.endswith("Client"):  # PexipClient, AsyncPexipClient, ... (one per vendor folder)
        return getattr(importlib.import_module("confctl.client"), name)
    raise AttributeError(f"module 'confctl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
