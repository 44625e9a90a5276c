"""`confctl profile add|list|show|edit|remove|use|test` (DESIGN §4)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from confctl import config, output
from confctl.errors import ConfigError, UsageError
from confctl.providers import PROVIDERS
from confctl.state import state

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

NameArg = Annotated[str, typer.Argument(help="profile name", metavar="NAME")]
Url = Annotated[Optional[str], typer.Option("--url", help="base URL", show_default=False)]
AppId = Annotated[Optional[str], typer.Option("--app-id", help="gateway/mind application id", show_default=False)]
Conference = Annotated[Optional[str], typer.Option("--conference", help="pexip alias / mind default conference id",
                                                   show_default=False)]
DisplayName = Annotated[Optional[str], typer.Option("--display-name", help="pexip display name",
                                                    show_default=False)]
ClientId = Annotated[Optional[str], typer.Option("--client-id", help="auvious OAuth client id", show_default=False)]
TokenUrl = Annotated[Optional[str], typer.Option("--token-url", help="auvious OAuth token URL", show_default=False)]
CaBundle = Annotated[Optional[str], typer.Option("--ca-bundle", help="extra CA certificates (PEM) for this profile",
                                                 show_default=False)]
SecretStdin = Annotated[bool, typer.Option(
    "--secret-stdin", help="read the secret (API key, PIN, token or client secret) from stdin")]
SecretStore = Annotated[Optional[str], typer.Option(
    "--secret-store", help="keyring (default when usable), file (0600 secrets file, opt-in) or env (keep no "
    "secret; read CONFCTL_<PROVIDER>_<FIELD>)", show_default=False)]


def _fields(**given) -> dict:
    return {k: v for k, v in given.items() if v is not None}


def _check_fields(provider: str, fields: dict) -> None:
    known = {f.name for f in PROVIDERS[provider].fields if not f.secret}
    for key in fields:
        if key not in known:
            raise UsageError(f"--{key.replace('_', '-')}: not a field of {provider} profiles "
                             f"(fields: {', '.join(sorted(known))})")
    url = fields.get("url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError(f"--url: must start with http:// or https:// (got {url!r})")


def _read_secret(provider: str, from_stdin: bool, store: str) -> str | None:
    field = PROVIDERS[provider].secret_field
    if field is None or store == "env":
        return None
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise UsageError("--secret-stdin: stdin was empty")
        return value
    if state.interactive:
        value = typer.prompt(f"{field.help} (leave empty to skip)", default="", hide_input=True,
                             show_default=False, err=True)
        return value or None
    return None


def _choose_store(requested: str | None, have_secret: bool) -> str:
    from confctl import secrets

    if requested is not None:
        if requested not in config.SECRET_STORES:
            raise UsageError(f"--secret-store: must be one of {', '.join(config.SECRET_STORES)}")
        if requested == "keyring" and not secrets.keyring_usable():
            raise ConfigError("no usable OS keyring on this host",
                              hint="choose --secret-store file (a 0600 file) or env")
        return requested
    if secrets.keyring_usable():
        return "keyring"
    if have_secret:
        raise ConfigError("no usable OS keyring on this host; choose where the secret goes",
                          hint="--secret-store file (plain text, mode 0600) or --secret-store env "
                               "(set CONFCTL_<PROVIDER>_<FIELD> yourself)")
    return "env"


def _store_secret(provider: str, name: str, store: str, value: str) -> None:
    from confctl import secrets

    field = PROVIDERS[provider].secret_field
    secrets.put(store, name, field.name, value)
    if store == "file":
        output.warn(f"the {field.name} is stored in plain text in {config.config_dir() / 'secrets.toml'} "
                    "(mode 0600)")


@app.command("add")
def add(name: NameArg,
        provider: Annotated[str, typer.Option("--provider", help="gateway, pexip, mind or auvious")],
        url: Url = None, app_id: AppId = None, conference: Conference = None, display_name: DisplayName = None,
        client_id: ClientId = None, token_url: TokenUrl = None, ca_bundle: CaBundle = None,
        secret_stdin: SecretStdin = False, secret_store: SecretStore = None,
        protected: Annotated[bool, typer.Option("--protected", help="production: confirm every mutating "
                                                                    "command")] = False,
        default: Annotated[Optional[bool], typer.Option("--default/--no-default",
                                                        help="make it the provider's default profile "
                                                             "(the first one is)", show_default=False)] = None,
        force: Annotated[bool, typer.Option("--force", help="replace an existing profile")] = False):
    """Add a profile. The secret comes from a hidden prompt or --secret-stdin, never from the command line."""
    if provider not in PROVIDERS:
        raise UsageError(f"--provider: must be one of {', '.join(PROVIDERS)} (got {provider!r})")
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UsageError(f"NAME: letters, digits, '-', '_' and '.' only (got {name!r})")
    fields = _fields(url=url, app_id=app_id, conference=conference, display_name=display_name,
                     client_id=client_id, token_url=token_url)
    _check_fields(provider, fields)
    data = config.load()
    if name in data["profiles"] and not force:
        raise UsageError(f"profile {name!r} exists", hint="use `confctl profile edit`, or --force to replace it")
    store = _choose_store(secret_store, secret_stdin)
    secret = _read_secret(provider, secret_stdin, store)
    entry = {"provider": provider, **fields, "protected": protected, "secret_store": store}
    if ca_bundle:
        entry["ca_bundle"] = ca_bundle
    if secret is not None:
        _store_secret(provider, name, store, secret)
    data["profiles"][name] = entry
    if default or (default is None and provider not in data["defaults"]):
        data["defaults"][provider] = name
    config.save(data)
    output.note(f"added {provider} profile {name!r}" + (" (default)" if data["defaults"].get(provider) == name else ""))


@app.command("list")
def list_profiles():
    """List profiles."""
    data = config.load()
    rows = [{"name": n, "provider": e.get("provider"), "url": e.get("url", ""),
             "default": data["defaults"].get(e.get("provider")) == n, "protected": bool(e.get("protected")),
             "secret_store": e.get("secret_store", "keyring")} for n, e in sorted(data["profiles"].items())]
    output.emit(rows, id_field="name")


def _load_entry(name: str) -> tuple[dict, dict]:
    """The whole config and the named profile's entry (which the caller may change and save)."""
    data = config.load()
    entry = data["profiles"].get(name)
    if entry is None:
        raise ConfigError(f"no profile named {name!r}", hint="`confctl profile list` shows the profiles")
    return data, entry


def _show(name: str) -> dict:
    data, entry = _load_entry(name)
    profile = config.from_entry(name, entry)
    info = profile.provider
    shown = {"name": name, "provider": info.name, "default": data["defaults"].get(info.name) == name,
             "protected": profile.protected}
    for f in info.fields:
        if f.secret:
            shown[f.name] = profile.secret_location(f.name)
        else:
            shown[f.name] = profile.get(f.name)
    if profile.ca_bundle:
        shown["ca_bundle"] = profile.ca_bundle
    return shown


@app.command("show")
def show(name: NameArg):
    """Show a profile and where each secret is stored (never the secret itself)."""
    output.emit(_show(name))


@app.command("edit")
def edit(name: NameArg, url: Url = None, app_id: AppId = None, conference: Conference = None,
         display_name: DisplayName = None, client_id: ClientId = None, token_url: TokenUrl = None,
         ca_bundle: CaBundle = None, secret_stdin: SecretStdin = False, secret_store: SecretStore = None,
         protected: Annotated[Optional[bool], typer.Option("--protected/--unprotected",
                                                           help="mark or unmark as production",
                                                           show_default=False)] = None):
    """Change fields of a profile; --secret-stdin replaces its secret."""
    data, entry = _load_entry(name)
    provider = entry["provider"]
    fields = _fields(url=url, app_id=app_id, conference=conference, display_name=display_name,
                     client_id=client_id, token_url=token_url)
    _check_fields(provider, fields)
    entry.update(fields)
    if ca_bundle is not None:
        entry["ca_bundle"] = ca_bundle
    if protected is not None:
        entry["protected"] = protected
    if secret_store is not None or secret_stdin:
        store = _choose_store(secret_store or entry.get("secret_store"), secret_stdin)
        secret = _read_secret(provider, secret_stdin, store)
        old = entry.get("secret_store", "keyring")
        field = PROVIDERS[provider].secret_field
        if secret is None and store != old and field is not None:
            from confctl import secrets

            secret = secrets.get(old, name, field.name)  # move the existing secret to the new store
        if secret is not None:
            _store_secret(provider, name, store, secret)
        if store != old and field is not None:
            from confctl import secrets

            secrets.delete(old, name, field.name)
        entry["secret_store"] = store
    config.save(data)
    output.note(f"updated profile {name!r}")


@app.command("remove")
def remove(name: NameArg):
    """Remove a profile and its stored secret."""
    from confctl import secrets
    from confctl.builder import confirm

    data, entry = _load_entry(name)
    confirm(f"remove profile {name}")
    field = PROVIDERS[entry["provider"]].secret_field
    if field is not None:
        secrets.delete(entry.get("secret_store", "keyring"), name, field.name)
    del data["profiles"][name]
    if data["defaults"].get(entry["provider"]) == name:
        del data["defaults"][entry["provider"]]
    config.save(data)
    output.note(f"removed profile {name!r}")


@app.command("use")
def use(name: NameArg):
    """Make NAME the default profile of its provider."""
    data, entry = _load_entry(name)
    data["defaults"][entry["provider"]] = name
    config.save(data)
    output.note(f"{name!r} is now the default {entry['provider']} profile")


@app.command("test")
def test(name: Annotated[Optional[str], typer.Argument(help="profile name (default: --profile or the only "
                                                            "default)", metavar="NAME")] = None,
         provider: Annotated[Optional[str], typer.Option("--provider", help="test the environment-only profile "
                                                                            "of this provider",
                                                         show_default=False)] = None):
    """Make one cheap authenticated call with a profile."""
    name = name or state.profile
    if name is None and provider is None:
        raise UsageError("name a profile, or --provider for the environment-only profile")
    if name is not None:
        provider = _load_entry(name)[1]["provider"]
    if provider not in PROVIDERS:
        raise UsageError(f"--provider: must be one of {', '.join(PROVIDERS)}")
    profile = config.resolve(provider, name)
    impl = PROVIDERS[provider].load()
    with impl.session(profile) as session:
        result = impl.check(session, profile)
    output.emit({"profile": profile.name, "provider": provider, **(result or {})})
