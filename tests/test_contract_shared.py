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


def _inventory():
    for path in sorted((ROOT / "tests/data").glob("*.tsv")):
        rows = [line.split("\t")[0] for line in path.read_text().splitlines() if line and not line.startswith("#")]
        for endpoint_id in rows[1:]:  # the first row is the header
            yield path.stem, endpoint_id


INVENTORY = list(_inventory())


def test_the_inventory_is_read():
    assert ("pexip", "pexip.participant.mute") in INVENTORY and len(INVENTORY) > 100


@pytest.mark.parametrize("vendor", sorted({v for v, _ in INVENTORY}))
def test_every_inventory_id_is_written_out_in_its_endpoint_table(vendor):
    """`grep -rn '"pexip.participant.mute"' confctl/` finds where a command is declared."""
    text = (ROOT / "confctl/vendors" / vendor / "endpoints.py").read_text()
    missing = [i for v, i in INVENTORY if v == vendor and f'"{i}"' not in text]
    assert missing == []
