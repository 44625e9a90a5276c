"""The vendor registry: every package under `confctl.vendors` is a vendor, found by pkgutil; its `__init__`
holds only its `VendorSpec` (cheap), so `confctl --help` imports no vendor implementation. Adding a vendor is
adding a folder: no list of vendor names lives in the core."""

from __future__ import annotations

import importlib
import pkgutil

from confctl.core.vendor import EnvVar, Field, FollowOption, FollowOptions, VendorSpec

ProviderInfo = VendorSpec  # the name the provider base and older code use

__all__ = ["EnvVar", "Field", "FollowOption", "FollowOptions", "ProviderInfo", "VendorSpec", "PROVIDERS",
           "get", "env_vars", "GLOBAL_ENV"]

def discover() -> dict[str, VendorSpec]:
    """name -> spec for every package in confctl.vendors that declares a SPEC."""
    import confctl.vendors as vendors

    found: dict[str, VendorSpec] = {}
    for info in pkgutil.iter_modules(vendors.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{vendors.__name__}.{info.name}"), "SPEC", None)
        if isinstance(spec, VendorSpec):
            if spec.name != info.name:
                raise RuntimeError(f"confctl.vendors.{info.name}: its SPEC is named {spec.name!r}")
            found[spec.name] = spec
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


PROVIDERS: dict[str, VendorSpec] = discover()


def get(name: str) -> VendorSpec:
    return PROVIDERS[name]


# DESIGN §3 / §4: environment variables that belong to no vendor.
GLOBAL_ENV = (
    ("CONFCTL_PROFILE", "profile to use when --profile is not given"),
    ("CONFCTL_OUTPUT", "output format when --output is not given: table, wide, json, jsonl, yaml or id"),
    ("CONFCTL_DEBUG", "log every request and response to stderr, secrets elided (like --debug)"),
    ("CONFCTL_NO_INPUT", "never prompt (like --no-input); also implied when stdin is not a terminal"),
    ("NO_COLOR", "disable colors (honoured unless --color always)"),
    ("CONFCTL_CONFIG_DIR", "relocate the configuration folder (default: the platform's user config "
                           "directory + /confctl)"),
    ("CONFCTL_KEYRING_TIMEOUT", "seconds to wait for the OS keyring before treating it as unusable"),
)


def env_vars() -> list[tuple[str, str]]:
    """(variable, help) for every environment variable confctl reads: the global ones, then each vendor's
    profile fields and extra variables (for the docs)."""
    out = list(GLOBAL_ENV)
    for spec in PROVIDERS.values():
        out += spec.env_vars()
    return out
