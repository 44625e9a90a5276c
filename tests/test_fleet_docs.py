"""The documented model and capability matrix stay what the code says: docs/model.md is generated from each
vendor's VendorModel.mapping and VendorSpec.verbs, and README shows the same matrix as `confctl capabilities`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_model_doc_is_current():
    gen = _gen_docs()
    assert (ROOT / gen.MODEL_DOC).read_text() == gen.gen_model(), "stale docs/model.md: run scripts/gen_docs.py"


def test_model_doc_has_a_mapping_table_per_vendor_and_every_field():
    from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS, mapping_of
    from confctl.core.registry import PROVIDERS

    text = _gen_docs().gen_model()
    for name, spec in PROVIDERS.items():
        model = spec.load_model()
        assert model is not None, f"{name} has no common model"
        assert f"`{name}`" in text or f"### {spec.title}" in text
        for kind, fields in (("conference", CONFERENCE_FIELDS), ("participant", PARTICIPANT_FIELDS)):
            missing = [f for f in fields if not mapping_of(model.mapping, kind, f)]
            assert not missing, f"{name}: VendorModel.mapping says nothing about {kind} {missing}"


def test_readme_matrix_is_the_capabilities_command(capsys):
    from confctl.core.fleet.commands import matrix, matrix_markdown

    readme = (ROOT / "README.md").read_text()
    assert matrix_markdown() in readme, "README's capability matrix differs from `confctl capabilities`"
    vendors, rows = matrix()
    assert [r["verb"] for r in rows] == ["mute", "unmute", "kick", "spotlight", "unspotlight", "mute-all",
                                         "unmute-all", "lock", "unlock"]
    assert "[docs/model.md](docs/model.md)" in readme
