"""`python -m infra.openapi` writes docs/openapi.json; `--check` fails when it is stale."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.openapi.generator import build_document

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is stale")
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT} is stale: run `make openapi`.", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text)
    print(f"Wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
