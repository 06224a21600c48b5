"""Fuzz the deployed app's entry points with 5,000+ generated inputs and print the figures (issue #8).

    .venv/bin/python benchmarks/fuzz.py                 # the default counts below (6,000 inputs)
    .venv/bin/python benchmarks/fuzz.py --scale 0.1     # a quick look
    .venv/bin/python benchmarks/fuzz.py --only approve

Each input goes through functions/*/app.py on the emulator (moto); see tests/fuzzing.py for what is generated and
what each figure counts. Exits 1 when any figure that must be zero is not.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

COUNTS = {"evaluate": 2000, "approve": 2000, "apply": 1000, "store": 700, "sweep": 300}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", choices=sorted(COUNTS), action="append")
    args = parser.parse_args()
    os.environ["EDGEMEDIC_FUZZ_RANDOM"] = "1"  # fresh inputs on every run (the test suite replays fixed ones)
    logging.disable(logging.CRITICAL)  # the functions log every rejection; the figures are what matters here

    import contextlib
    import io

    from fuzzing import TARGETS, Tally

    tally = Tally()
    began = time.perf_counter()
    for name in args.only or list(COUNTS):
        count = max(1, int(COUNTS[name] * args.scale))
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' JSON log lines and EMF metrics
            TARGETS[name](tally, count)
        print(f"{name:9} {tally.inputs[name]:6} inputs in {time.perf_counter() - started:6.1f} s", file=sys.stderr)
    figures = tally.figures()
    figures["seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(figures, indent=2))
    return 0 if tally.clean() else 1


if __name__ == "__main__":
    sys.exit(main())
