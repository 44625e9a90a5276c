"""One of each shared piece: one rule and message for "0 or more", endpoint ids written out literally."""

import csv
import re
from pathlib import Path

import pytest

from confctl.core import validate
from confctl.core.errors import ValidationError

ROOT = Path(__file__).resolve().parent.parent


def _rules_of(vendor: str):
    import importlib

    return {ep.id: ep for ep in importlib.import_module(f"confctl.vendors.{vendor}.endpoints").ENDPOINTS}


def test_one_non_negative_rule_with_one_message():
    with pytest.raises(ValidationError) as err:
        validate.non_negative("--n", -1)
    assert "must be 0 or more" in str(err.value.message if hasattr(err.value, "message") else err.value)
    assert validate.non_negative("--n", 0) == 0 and validate.non_negative("--n", None) is None
    used = set()
    for vendor in ("pexip", "auvious", "mind"):
        for ep in _rules_of(vendor).values():
            for p in ep.params:
                if getattr(p.rule, "describe", None) == ">= 0":
                    used.add(p.rule)
    assert used == {validate.non_negative}
    for path in (ROOT / "confctl/vendors").glob("*/rules.py"):
        assert "def non_negative" not in path.read_text() and "MIN_ZERO" not in path.read_text(), path
