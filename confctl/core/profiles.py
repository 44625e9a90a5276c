"""`confctl profile add|list|show|edit|remove|use|test` (DESIGN §4)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from confctl.core import config, output
from confctl.core.errors import AuthError, ConfigError, UsageError
from confctl.core.registry import PROVIDERS, Field
from confctl.core.state import state
from confctl.core.validate import BASE_URL_RULE, is_base_url

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, epilog=config.PRECEDENCE)

NameArg = Annotated[str, typer.Argument(help="profile name", metavar="NAME")]
CaBundle = Annotated[Optional[str], typer.Option("--ca-bundle", help="extra CA certificates (PEM) for this profile",
                                                 show_default=False)]
def _or(words: list[str]) -> str:
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


ProviderOpt = Annotated[str, typer.Option("--provider", help=_or(list(PROVIDERS)))]
SecretStdin = Annotated[bool, typer.Option("--secret-stdin", help="read the secret (" + _or(list(dict.fromkeys(
    f.help.split(" (")[0] for spec in PROVIDERS.values() for f in spec.fields if f.secret))) + ") from stdin")]
SecretStore = Annotated[Optional[str], typer.Option(
    "--secret-store", help="keyring (default when usable), file (0600 secrets file, opt-in) or env (keep no "
    "secret; read CONFCTL_<PROVIDER>_<FIELD>)", show_default=False)]


def _fields(**given) -> dict:
    return {k: v for k, v in given.items() if v is not None}


def profile_fields() -> dict[str, tuple[Field, list[str]]]:
    """name -> (field, providers having it): every non-secret profile field of every vendor's spec, each a
    flag of `profile add` and `profile edit` (the secret comes from a prompt or --secret-stdin, never a flag)."""
    table: dict[str, tuple[Field, list[str]]] = {}
    for spec in PROVIDERS.values():
        for f in spec.fields:
            if not f.secret:
                table.setdefault(f.name, (f, []))[1].append(spec.name)
    return table


def _field_help(name: str, providers: list[str]) -> str:
    if name == "url":  # every provider has one; the core checks it (http:// or https://)
        return "base URL"
    helps = {p: next(f.help for f in PROVIDERS[p].fields if f.name == name) for p in providers}
    if len(set(helps.values())) == 1:
        return f"{'/'.join(providers)} {next(iter(helps.values()))}"
    return "; ".join(f"{p}: {h}" for p, h in helps.items())


def with_field_options(func):
    """`func(..., **fields)` as a Typer command: its **fields becomes one option per profile field (above)."""
    import inspect

    sig = inspect.signature(func, eval_str=True)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = next(i for i, p in enumerate(params) if p.kind is inspect.Parameter.KEYWORD_ONLY or p.default is not
              inspect.Parameter.empty)
    fields = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        Optional[str], typer.Option(f.cli_flag, help=_field_help(name, providers), show_default=False)])
        for name, (f, providers) in profile_fields().items()]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if i >= at else p for i, p in enumerate(params)]
    params = params[:at] + fields + params[at:]

    def command(*args, **kwargs):
        return func(*args, **kwargs)

    command.__name__, command.__doc__ = func.__name__, func.__doc__
    command.__signature__ = inspect.Signature(params)
    return command


def _flag(name: str) -> str:
    known = profile_fields().get(name)
    return known[0].cli_flag if known else "--" + name.replace("_", "-")


def _check_url(flag: str, url: str) -> None:
    if not is_base_url(url):
        raise UsageError(f"{flag}: {BASE_URL_RULE} (got {url!r})")


def _check_fields(provider: str, fields: dict) -> None:
    known = {f.name for f in PROVIDERS[provider].fields if not f.secret}
    for key in fields:
        if key not in known:
            raise UsageError(f"{_flag(key)}: not a field of {provider} profiles "
                             f"(fields: {', '.join(sorted(known))})")
    if fields.get("url") is not None:
        _check_url("--url", fields["url"])


def _ask_required(provider: str, fields: dict) -> None:
    """Every required field without a default must be given: asked for on a terminal, else exit 2."""
    missing = [f for f in PROVIDERS[provider].fields
               if not f.secret and f.required and f.default is None and not fields.get(f.name)]
    if missing and not state.interactive:
        flags = ", ".join(_flag(f.name) for f in missing)
        raise UsageError(f"a {provider} profile needs {flags}", hint=f"pass {flags} ({state.no_prompt_reason()})")
    for f in missing:
        while True:
            value = typer.prompt(f"{f.help}", err=True).strip()
            if f.name == "url" and not is_base_url(value):
                output.note(f"  {BASE_URL_RULE}")
                continue
            if value:
                fields[f.name] = value
                break


def _secret_label(field: Field) -> str:
    return field.help.split(" (")[0]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _read_secret(field: Field, from_stdin: bool, *, required: bool) -> str | None:
    """The secret from stdin (--secret-stdin) or a hidden prompt on a terminal; None when not given."""
    if from_stdin:
        line = sys.stdin.readline()
        value = line[:-1] if line.endswith("\n") else line  # the newline echo/printf adds is expected
        if not value.strip("\r"):
            raise UsageError("--secret-stdin: stdin was empty")
        from confctl.core.redact import clean_secret

        return clean_secret("--secret-stdin", value, warn=output.warn)  # a Windows file's CR: dropped, warned
    if not state.interactive:
        return None
    if required:
        value = typer.prompt(_cap(_secret_label(field)), default="", hide_input=True, show_default=False,
                             err=True)
        if not value:
            raise UsageError(f"no {_secret_label(field)} given; nothing was written",
                             hint="--secret-store env keeps no secret (set it in the environment instead)")
        return value
    value = typer.prompt(f"{_cap(_secret_label(field))} (leave empty for none)", default="",
                         hide_input=True, show_default=False, err=True)
    return value or None


def _ask_store(field: Field, var: str) -> str:
    """No usable keyring, and a secret to keep: the user chooses, explicitly (DESIGN §4)."""
    from confctl.core import secrets

    output.note(f"No usable OS keyring: the keyring {secrets.keyring_problem()}.\n"
                f"Where should the {_secret_label(field)} go?\n"
                f"  file  a plain-text file, {config.config_dir() / 'secrets.toml'}, mode 0600\n"
                f"  env   nowhere: confctl reads {var} from the environment when it runs")
    while True:
        answer = typer.prompt("Secret store [file/env]", err=True).strip().lower()
        if answer in ("file", "env"):
            return answer


def _check_store(requested: str | None) -> None:
    from confctl.core import secrets

    if requested is None:
        return
    if requested not in config.SECRET_STORES:
        raise UsageError(f"--secret-store: must be one of {', '.join(config.SECRET_STORES)} (got {requested!r})")
    if requested == "keyring" and not secrets.keyring_usable():
        raise ConfigError(f"--secret-store keyring: no usable OS keyring: the keyring {secrets.keyring_problem()}",
                          hint="choose --secret-store file (a 0600 file) or env")


def _new_secret(provider: str, secret_stdin: bool, requested: str | None) -> tuple[str, str | None]:
    """(secret store, secret or None) for a new profile; exit 2 rather than a profile that cannot work."""
    from confctl.core import secrets

    info = PROVIDERS[provider]
    field = info.secret_field
    var = info.env_var(field.name)
    _check_store(requested)
    if requested == "env":
        if secret_stdin:
            raise UsageError("--secret-stdin: --secret-store env keeps no secret",
                             hint=f"set {var} in the environment instead")
        return "env", None
    value = _read_secret(field, secret_stdin, required=field.required)
    if value is None:
        if field.required:
            if os.environ.get(var) and requested is None:
                output.note(f"no {_secret_label(field)} stored: it is read from {var}")
                return "env", None
            raise UsageError(f"a {provider} profile needs its {_secret_label(field)}",
                             hint=f"pipe it to --secret-stdin, or pass --secret-store env to read {var} at run time "
                                  f"({state.no_prompt_reason()})")
        return requested or ("keyring" if secrets.keyring_usable() else "env"), None
    if requested is not None:
        return requested, value
    if secrets.keyring_usable():
        return "keyring", value
    if state.interactive and not secret_stdin:
        store = _ask_store(field, var)
        if store == "env":
            output.note(f"the {_secret_label(field)} was not stored: set {var} before running confctl")
            return "env", None
        return store, value
    raise ConfigError(f"no usable OS keyring (the keyring {secrets.keyring_problem()}): choose where the secret "
                      "goes",
                      hint=f"--secret-store file (plain text, mode 0600) or --secret-store env (set {var} yourself)")


def _store_secret(provider: str, name: str, store: str, value: str) -> None:
    from confctl.core import secrets

    field = PROVIDERS[provider].secret_field
    secrets.put(store, name, field.name, value)
    if store == "file":
        output.warn(f"the {field.name} is stored in plain text in {config.config_dir() / 'secrets.toml'} "
                    "(mode 0600)")


def _drop_secret(name: str, entry: dict, *, what: str) -> None:
    """Delete a profile's stored secret; a store that cannot confirm it is reported (the secret may remain)."""
    from confctl.core import secrets

    field = PROVIDERS[entry["provider"]].secret_field
    if field is None:
        return
    try:
        secrets.delete(entry.get("secret_store", "keyring"), name, field.name)
    except (AuthError, ConfigError) as exc:
        exc.message = f"{what}, but {exc.message}"
        exc.args = (exc.message,)
        raise


@app.command("add")
@with_field_options
def add(name: NameArg,
        provider: ProviderOpt,
        ca_bundle: CaBundle = None,
        secret_stdin: SecretStdin = False, secret_store: SecretStore = None,
        protected: Annotated[bool, typer.Option("--protected", help="production: confirm every mutating "
                                                                    "command")] = False,
        default: Annotated[Optional[bool], typer.Option("--default/--no-default",
                                                        help="make it the provider's default profile "
                                                             "(the first one is)", show_default=False)] = None,
        force: Annotated[bool, typer.Option("--force", help="replace an existing profile")] = False,
        **given):
    """Add a profile.

    Required fields missing from the options are asked for on a terminal (exit 2 without one). The secret comes
    from a hidden prompt or --secret-stdin, never from the command line; without a usable keyring you choose
    where it goes (--secret-store file or env, or at the prompt)."""
    if provider not in PROVIDERS:
        raise UsageError(f"--provider: must be one of {', '.join(PROVIDERS)} (got {provider!r})")
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UsageError(f"NAME: letters, digits, '-', '_' and '.' only (got {name!r})")
    fields = _fields(**given)
    _check_fields(provider, fields)
    exists = f"use `confctl profile edit {name}` to change it, or --force to replace it"
    if name in config.load()["profiles"] and not force:
        raise UsageError(f"profile {name!r} exists", hint=exists)
    _ask_required(provider, fields)
    store, secret = _new_secret(provider, secret_stdin, secret_store)
    entry = {"provider": provider, **fields, "protected": protected, "secret_store": store}
    if ca_bundle:
        entry["ca_bundle"] = ca_bundle
    with config.update() as data:  # re-read under the lock: a concurrent add is kept
        old = data["profiles"].get(name)
        if old is not None and not force:
            raise UsageError(f"profile {name!r} exists", hint=exists)
        if secret is not None:
            _store_secret(provider, name, store, secret)
        data["profiles"][name] = entry
        if old is not None and old["provider"] != provider and data["defaults"].get(old["provider"]) == name:
            del data["defaults"][old["provider"]]  # it is no longer a profile of that provider
        if default or (default is None and provider not in data["defaults"]):
            data["defaults"][provider] = name
        is_default = data["defaults"].get(provider) == name
    if old is not None and old.get("secret_store", "keyring") != store:
        try:
            _drop_secret(name, old, what=f"replaced profile {name!r}")
        except (AuthError, ConfigError) as exc:
            output.warn(exc.message)
    output.note(f"added {provider} profile {name!r}" + (" (default)" if is_default else ""))


@app.command("list")
def list_profiles():
    """List profiles."""
    data = config.load()
    rows = [{"name": n, "provider": e.get("provider"), "url": e.get("url", ""),
             "default": data["defaults"].get(e.get("provider")) == n, "protected": bool(e.get("protected")),
             "secret_store": e.get("secret_store", "keyring")} for n, e in sorted(data["profiles"].items())]
    output.emit(rows, id_field="name")


def _load_entry(name: str) -> tuple[dict, dict]:
    """The whole config and the named profile's entry."""
    data = config.load()
    entry = data["profiles"].get(name)
    if entry is None:
        raise config.no_profile(name)
    return data, entry


def _show(name: str) -> tuple[dict, dict]:
    """The profile with its effective values and their sources, and the same for a table: each value followed
    by where it comes from (a secret's value already says where it is stored)."""
    data, entry = _load_entry(name)
    profile = config.from_entry(name, entry, "show")  # sources are shown, so no override warning
    info = profile.provider
    shown = {"name": name, "provider": info.name, "default": data["defaults"].get(info.name) == name,
             "protected": profile.protected}
    sources: dict[str, str] = {}
    for f in info.fields:
        shown[f.name] = profile.secret_location(f.name) if f.secret else profile.get(f.name)
        sources[f.name] = profile.source(f.name)
    if state.ca_bundle:
        shown["ca_bundle"], sources["ca_bundle"] = state.ca_bundle, "flag (--ca-bundle)"
    elif profile.ca_bundle:
        shown["ca_bundle"], sources["ca_bundle"] = profile.ca_bundle, f"profile {name!r}"
    shown["sources"] = sources
    secret = {f.name for f in info.fields if f.secret}
    human = {}
    for key, value in shown.items():
        if key == "sources":
            continue
        source = sources.get(key)
        if value is None:
            human[key] = "(not set)"
        elif source is None or key in secret:
            human[key] = value
        else:
            if source.startswith("environment ("):
                source = source[len("environment ("):-1]  # the variable's name says it all
            human[key] = f"{value}   ({source if source == 'default' else 'from ' + source})"
    return shown, human


@app.command("show")
def show(name: NameArg):
    """Show a profile and where each value comes from.

    Each value's source is a flag, the environment (naming the variable), the profile or the built-in default;
    the secret shows where it is stored (with the secrets file's real mode), never the secret itself."""
    shown, human = _show(name)
    output.emit(human if output.fmt() in ("table", "wide") and state.query is None else shown)


@app.command("edit")
@with_field_options
def edit(name: NameArg,
         ca_bundle: CaBundle = None, secret_stdin: SecretStdin = False, secret_store: SecretStore = None,
         protected: Annotated[Optional[bool], typer.Option("--protected/--unprotected",
                                                           help="mark or unmark as production",
                                                           show_default=False)] = None, **given):
    """Change fields of a profile.

    --secret-stdin replaces its secret, --secret-store moves it; with nothing to change it exits 2 and writes
    nothing."""
    from confctl.core import secrets

    _, current = _load_entry(name)
    provider = current["provider"]
    fields = _fields(**given)
    _check_fields(provider, fields)
    if not fields and ca_bundle is None and protected is None and secret_store is None and not secret_stdin:
        raise UsageError(f"nothing to change in profile {name!r}: nothing was written",
                         hint="give the fields to change (e.g. --url URL), --protected/--unprotected, "
                              "--secret-stdin or --secret-store; `confctl profile edit --help` lists them")
    field = PROVIDERS[provider].secret_field
    old_store = current.get("secret_store", "keyring")
    store, secret = old_store, None
    if secret_store is not None or secret_stdin:
        _check_store(secret_store)
        store = secret_store or old_store
        if store == "env" and secret_stdin:
            raise UsageError(f"--secret-stdin: profile {name!r} keeps its secret in the environment, not in a store",
                             hint=f"add --secret-store keyring or --secret-store file to keep it, or set "
                                  f"{PROVIDERS[provider].env_var(field.name)}")
        if store != "env":
            if store == "keyring":
                _check_store("keyring")
            secret = _read_secret(field, secret_stdin, required=False)
            if secret is None and store != old_store:  # move the existing secret to the new store
                secret = secrets.get(old_store, name, field.name)
    with config.update() as data:
        entry = data["profiles"].get(name)
        if entry is None:
            raise config.no_profile(name)
        before = dict(entry)
        entry.update(fields)
        if ca_bundle is not None:
            if ca_bundle:
                entry["ca_bundle"] = ca_bundle
            else:
                entry.pop("ca_bundle", None)
        if protected is not None:
            entry["protected"] = protected
        if secret is not None:
            _store_secret(provider, name, store, secret)
        entry["secret_store"] = store
        unchanged = entry == before and secret is None
    if store != old_store:
        try:
            _drop_secret(name, {**current, "secret_store": old_store}, what=f"moved the {field.name} of {name!r}")
        except (AuthError, ConfigError) as exc:
            output.warn(exc.message + (f" ({exc.hint})" if exc.hint else ""))
    if store == "env" and old_store != "env":
        output.note(f"the {field.name} is no longer stored: set {PROVIDERS[provider].env_var(field.name)}")
    output.note(f"profile {name!r} already had these values" if unchanged else f"updated profile {name!r}")


@app.command("remove")
def remove(name: NameArg):
    """Remove a profile and its stored secret."""
    from confctl.core.builder import confirm

    _load_entry(name)
    confirm(f"remove profile {name}")
    with config.update() as data:
        entry = data["profiles"].pop(name, None)
        if entry is None:
            raise config.no_profile(name)
        if data["defaults"].get(entry["provider"]) == name:
            del data["defaults"][entry["provider"]]
    _drop_secret(name, entry, what=f"removed profile {name!r}")
    output.note(f"removed profile {name!r}")


@app.command("use")
def use(name: NameArg):
    """Make NAME the default profile of its provider."""
    _load_entry(name)
    with config.update() as data:
        entry = data["profiles"].get(name)
        if entry is None:
            raise config.no_profile(name)
        data["defaults"][entry["provider"]] = name
    output.note(f"{name!r} is now the default {entry['provider']} profile")


@app.command("test")
def test(name: Annotated[Optional[str], typer.Argument(help="profile name (default: --profile, CONFCTL_PROFILE "
                                                            "or the only default)", metavar="NAME")] = None,
         provider: Annotated[Optional[str], typer.Option("--provider", help="test the environment-only profile "
                                                                            "of this provider",
                                                         show_default=False)] = None):
    """Make one cheap authenticated call with a profile."""
    name = name or state.profile or (None if provider else os.environ.get("CONFCTL_PROFILE") or None)
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
