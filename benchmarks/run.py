"""Run the benchmarks and print one table.

    .venv/bin/python benchmarks/run.py [--small]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scan  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="edgemedic benchmarks")
    parser.add_argument("--small", action="store_true", help="a quick run: 50 distributions, 10 APIs")
    args = parser.parse_args(argv)
    print("== scan (collect on moto server + engine) ==")
    print(scan.report(scan.run(small=args.small)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
