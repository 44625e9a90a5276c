#!/usr/bin/env python3
"""Write confctl/client/vendors.pyi, the typed face of the library's per-vendor clients (every command group
and method with its real signature), from the vendors' endpoint tables.

    python scripts/gen_stubs.py          # write it
    python scripts/gen_stubs.py --check  # exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

TARGET = ROOT / "confctl" / "client" / "vendors.pyi"


def main(argv: list[str] | None = None) -> int:
    from confctl.client._stubs import render

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file on disk is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/gen_stubs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
