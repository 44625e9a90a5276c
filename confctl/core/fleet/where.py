"""`--where EXPR` filters over the common model: `field==value`, `!=`, `>=`/`<=`/`>`/`<` (numbers), `~=` (a
regular expression searched in the value). Values `true`/`false`/`null` and numbers are parsed; anything else
(quotes optional) is a string, compared exactly. Several --where must all hold. A field that is null never
satisfies `>=`, `<=` or `~=`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from confctl.core.errors import ValidationError

_OPS = ("==", "!=", ">=", "<=", "~=", ">", "<")
_EXPR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|~=|>|<)\s*(.*?)\s*$", re.S)


def literal(text: str) -> Any:
    """`true`/`false`/`null` (also `yes`/`no`/`none`), numbers, or a string (one pair of quotes removed)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("null", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    value: Any
    text: str
    pattern: Any = None

    def __call__(self, item: Any) -> bool:
        have = item.get(self.field) if isinstance(item, dict) else getattr(item, self.field, None)
        if self.op == "==":
            return _same(have, self.value)
        if self.op == "!=":
            return not _same(have, self.value)
        if self.op == "~=":
            return have is not None and self.pattern.search(_text(have)) is not None
        if not isinstance(have, (int, float)) or isinstance(have, bool):
            return False
        return {">=": have >= self.value, "<=": have <= self.value,
                ">": have > self.value, "<": have < self.value}[self.op]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same(have: Any, want: Any) -> bool:
    if want is None or isinstance(want, bool) or have is None or isinstance(have, bool):
        return have is want  # True, False and None are singletons: muted_audio==false never matches null
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return have == want
    return _text(have) == _text(want)  # "id==1234" matches the string id "1234"


def parse(expr: str, fields: tuple[str, ...]) -> Cond:
    """One condition; exit 2 naming the problem (and the fields, when the field is unknown)."""
    match = _EXPR.match(expr or "")
    if not match:
        raise ValidationError("--where", f"{expr!r} is not FIELD OP VALUE (OP one of {' '.join(_OPS)})",
                              hint="e.g. --where 'role==guest' --where 'muted_audio==false' --where 'name~=^Bo'")
    name, op, raw = match.groups()
    if name not in fields:
        raise ValidationError("--where", f"unknown field {name!r}", hint="fields: " + ", ".join(fields))
    value = literal(raw)
    pattern = None
    if op == "~=":
        try:
            pattern = re.compile(raw)
        except re.error as exc:
            raise ValidationError("--where", f"{expr!r}: invalid regular expression: {exc}") from None
    elif op in (">=", "<=", ">", "<") and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise ValidationError("--where", f"{expr!r}: {op} compares numbers (got {raw!r})")
    return Cond(name, op, value, expr, pattern)


def compile_all(exprs: list[str] | None, fields: tuple[str, ...]) -> Callable[[Any], bool]:
    """One predicate: every --where holds (no --where: everything matches)."""
    conds = [parse(e, fields) for e in exprs or ()]
    return lambda item: all(c(item) for c in conds)
