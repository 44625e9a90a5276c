"""References in runbook values: `${vars.NAME}` (a variable: the file's `vars:` or `--var NAME=VALUE`) and
`${STEP.FIELD...}` (a field of an earlier step's result; list items by index: `${people.items.0.id}`).

A value that is exactly one reference takes the referenced value as it is (a list stays a list); a reference
inside longer text is replaced by its text. `$${` writes a literal `${`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

REF = re.compile(r"\$\{([^${}]*)\}")
PART = re.compile(r"[A-Za-z0-9_-]+")
ESCAPE = "$${"


@dataclass(frozen=True)
class Ref:
    text: str  # as written, inside ${...}
    root: str  # "vars" or a step id
    path: tuple[str, ...]


class RefError(ValueError):
    """A malformed or unresolvable reference (the caller names the step and field)."""


def parse(inner: str) -> Ref:
    parts = inner.strip().split(".")
    if not inner.strip() or not all(PART.fullmatch(p) for p in parts):
        raise RefError(f"${{{inner}}} is not a reference: expected ${{vars.NAME}} or ${{STEP.FIELD}}")
    if parts[0] == "vars" and len(parts) != 2:
        raise RefError(f"${{{inner}}}: a variable is ${{vars.NAME}}")
    return Ref(inner, parts[0], tuple(parts[1:]))


def _scan(text: str):
    """(start, end, Ref) for every reference in `text`, skipping `$${` escapes."""
    for match in REF.finditer(text):
        if match.start() > 0 and text[match.start() - 1] == "$":
            continue
        yield match.start(), match.end(), parse(match.group(1))


def refs_in(value: Any) -> list[Ref]:
    """Every reference anywhere in a (nested) value."""
    if isinstance(value, str):
        return [r for _, _, r in _scan(value)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    return []


def lookup(ref: Ref, variables: dict, results: dict) -> Any:
    if ref.root == "vars":
        if ref.path[0] not in variables:
            raise RefError(f"${{{ref.text}}}: no variable {ref.path[0]!r} (set it under vars: or with --var)")
        return variables[ref.path[0]]
    if ref.root not in results:
        raise RefError(f"${{{ref.text}}}: step {ref.root!r} has no result yet")
    node = results[ref.root]
    for i, key in enumerate(ref.path):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            where = ".".join((ref.root, *ref.path[:i])) or ref.root
            have = f"; it has {', '.join(map(str, node))}" if isinstance(node, dict) and node else ""
            if node is None:
                have = f" (step {ref.root!r} gave no result)"
            raise RefError(f"${{{ref.text}}}: {where} has no {key!r}{have}")
    return node


def substitute(value: Any, variables: dict, results: dict) -> Any:
    """`value` with every reference replaced (raises RefError for one that cannot be resolved)."""
    if isinstance(value, dict):
        return {k: substitute(v, variables, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, results) for v in value]
    if not isinstance(value, str):
        return value
    found = list(_scan(value))
    if len(found) == 1 and found[0][0] == 0 and found[0][1] == len(value):
        return lookup(found[0][2], variables, results)
    out, last = [], 0
    for start, end, ref in found:
        out.append(value[last:start])
        got = lookup(ref, variables, results)
        out.append(got if isinstance(got, str) else json.dumps(got))
        last = end
    out.append(value[last:])
    return "".join(out).replace(ESCAPE, "${")


def show(text: str, variables: dict, results: dict) -> str:
    """Text for people: the references that can be resolved replaced, the others left as written."""
    out, last = [], 0
    for start, end, ref in _scan(text):
        out.append(text[last:start])
        try:
            got = lookup(ref, variables, results)
            out.append(got if isinstance(got, str) else json.dumps(got))
        except RefError:
            out.append(text[start:end])
        last = end
    out.append(text[last:])
    return "".join(out)


def pending(value: Any, variables: dict, results: dict) -> set[str]:
    """The step ids `value` references whose results are not known yet."""
    return {r.root for r in refs_in(value) if r.root != "vars" and r.root not in results}
