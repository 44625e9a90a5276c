"""What comments cite must exist: every file path a comment or docstring names is in the repository, and every
"DESIGN §N" is a section of docs/DESIGN.md.

A cited path is looked up the way a reader would: from the repository root, from `confctl/`, `confctl/core/`
and `confctl/vendors/`, from the citing file's folder and from a vendor's folder (`pexip/workflows.py` in a
core comment, "its `sim/state.py`" for each vendor). `<name>`, `NAME` and `*` stand for any one path part. A
bare file name counts when it is a Python file (found anywhere in the tree); other bare names (`config.toml`)
and paths under a placeholder folder (`<user config dir>/confctl/config.toml`) are the user's files."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("confctl", "scripts", "tests", "benchmarks")
# A path: at least one folder part and a file name with a known extension, or a folder at the repository root.
EXT = r"(?:py|txt|md|toml|tsv|sh|json|jsonl|yaml|yml|cfg|ini|bash|zsh|fish|1|typed)"
PART = r"(?:[\w.*{}-]|<[\w-]+>)+"  # <name>: a placeholder part
PATH = re.compile(rf"(?<![\w/.:~$>-])((?:{PART}/)+{PART}\.{EXT}|(?:{PART}/)*[\w-]+\.{EXT}(?=[\s`'\").,;:]|$))")
DESIGN_REF = re.compile(r"DESIGN\s*§\s*(\d+)((?:\s*(?:,|/|and)\s*§\s*\d+)*)")


def comments(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring in a Python file; every '#' line of a data file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith("#")]
    out = [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(text).readline)
           if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                out.append((node.body[0].lineno, doc))
    return out


def files() -> list[Path]:
    found = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".py", ".tsv", ".sh") and "__pycache__" not in path.parts:
                found.append(path)
    return found


def exists(cited: str, citing: Path) -> bool:
    pattern = re.sub(r"<[^>]*>|\{[^}]*\}|\b[A-Z]+\b(?=[/.])", "*", cited)
    if "/" not in pattern:  # a bare Python file name: anywhere in the sources
        return any(any((ROOT / top).rglob(pattern)) for top in SOURCES)
    bases = [ROOT, ROOT / "confctl", ROOT / "confctl/core", ROOT / "confctl/vendors", citing.parent]
    return (any(any(base.glob(pattern)) if "*" in pattern else (base / pattern).exists() for base in bases)
            or any(ROOT.glob("confctl/vendors/*/" + pattern)))


def cited_paths():
    for path in files():
        for line, text in comments(path):
            for match in PATH.finditer(text):
                cited = match.group(1).rstrip(".")
                if "/" not in cited and not cited.endswith(".py"):
                    continue
                yield path, line + text[:match.start()].count("\n"), cited


def design_sections() -> set[str]:
    text = (ROOT / "docs/DESIGN.md").read_text(encoding="utf-8")
    return set(re.findall(r"^## (\d+)\. ", text, re.M))


def test_every_cited_path_exists():
    missing = [f"{path.relative_to(ROOT)}:{line}: {cited}" for path, line, cited in cited_paths()
               if not exists(cited, path)]
    assert not missing, "comments cite files that are not in the repository:\n" + "\n".join(missing)


def test_every_design_section_cited_exists():
    sections = design_sections()
    assert {"3", "5", "7"} <= sections  # the parser reads the headings
    bad = []
    for path in files():
        for line, text in comments(path):
            for match in DESIGN_REF.finditer(text):
                for number in [match.group(1), *re.findall(r"\d+", match.group(2))]:
                    if number not in sections:
                        bad.append(f"{path.relative_to(ROOT)}:{line}: DESIGN §{number}")
    assert not bad, "comments cite DESIGN sections that do not exist:\n" + "\n".join(bad)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The scanner finds a path and a section in a comment and a docstring (so an empty scan cannot pass)."""
    found = {cited for _, _, cited in cited_paths()}
    assert "tests/data/mind.tsv" in found and "scripts/gen_docs.py" in found
    citing = ROOT / "confctl/core/http.py"
    assert exists("pexip/workflows.py", citing) and exists("vendors/<name>/endpoints.py", citing)
    assert not exists("api-docs/mind-api.txt", citing)
    assert [m.group(1) for m in PATH.finditer("see `api-docs/mind-api.txt`, and docs/DESIGN.md.")] == [
        "api-docs/mind-api.txt", "docs/DESIGN.md"]
    assert DESIGN_REF.search("(DESIGN §3, §5)").group(2).strip() == ", §5"


# -- generated help says where a command is declared ------------------------------------------------------------
def test_every_endpoint_is_declared_where_its_help_says():
    """The file `--help` names exists and holds the entry's id literally (one grep finds the declaration)."""
    from confctl.core.builder import declared_in
    from confctl.core.registry import PROVIDERS

    for name in PROVIDERS:
        provider = PROVIDERS[name].load()
        where = declared_in(provider)
        for ep in provider.endpoints:
            assert id(ep) in where, ep.id
            assert f'"{ep.id}"' in (ROOT / where[id(ep)]).read_text(encoding="utf-8"), (ep.id, where[id(ep)])


def test_help_of_a_generated_command_says_where_it_is_declared(home, capsys, monkeypatch):
    from confctl.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    for argv, path in ((["pexip", "participant", "mute"], "confctl/vendors/pexip/endpoints.py"),
                       (["gateway", "room", "play"], "confctl/vendors/gateway/endpoints.py"),
                       (["pexip", "conference", "mute-all-guests"], "confctl/vendors/pexip/endpoints.py")):
        assert main([*argv, "--help"]) == 0
        assert f"Declared in {path}\n" in capsys.readouterr().out, argv
