"""Regenerate the example catalog that ships with fashrec: catalog.example.jsonl, examples/images/ and
the README's anchor photos in examples/anchors/.

Usage: python examples/make_catalog.py [--root DIR]

Everything is drawn by fashrec.demo (seeded), so running this twice gives identical files; a test checks
that the committed files are exactly what this script writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fashrec.demo.catalog import build_example

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT,
                        help="folder to write into (default: the repository root)")
    args = parser.parse_args(argv)
    files = build_example(args.root)
    print(f"wrote {files.catalog} ({len(files.images)} products) and {len(files.anchors)} anchor images"
          + (f"; removed {len(files.removed)} stale images" if files.removed else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
