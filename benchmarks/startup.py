"""Start-up of the CLI: wall time of commands that call no AWS, hyperfine-style (repeated, interleaved, medians).

    .venv/bin/python benchmarks/startup.py            # 20 runs of each command
    .venv/bin/python benchmarks/startup.py --runs 50

Targets (issue 14): ``edgemedic --help`` < 0.1 s, ``edgemedic rules`` < 0.2 s, and neither imports boto3
(tests/unit/test_startup.py asserts the imports; this measures the time). ``python -c pass`` is the interpreter's
own start, the floor of any command. Then the slowest imports of each command, from ``python -X importtime``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
EDGEMEDIC = str(ROOT / ".venv" / "bin" / "edgemedic")  # the installed console script, as a user runs it
COMMANDS = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "edgemedic --help": [EDGEMEDIC, "--help"],
    "edgemedic rules": [EDGEMEDIC, "rules"],
    "edgemedic rules --format json": [EDGEMEDIC, "rules", "--format", "json"],
}


# As a user runs it: with bytecode written (a shell with PYTHONDONTWRITEBYTECODE set would otherwise compile
# edgemedic's sources on every run, ~40-50 ms of each `rules`, which no installed copy pays).
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "COLUMNS": "120"}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def slowest_imports(argv: list[str], top: int = 6) -> list[tuple[int, str]]:
    done = subprocess.run([PYTHON, "-X", "importtime", *argv], capture_output=True, text=True, env=ENV)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            if cumulative.isdigit() and not name.startswith(" "):
                rows.append((int(cumulative), name.strip()))
    top_level = [(us, name) for us, name in rows if "." not in name or name.startswith("edgemedic")]
    return sorted(top_level, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for name, command in COMMANDS.items():
        timed(command)  # warm the page cache and the .pyc files
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            samples[name].append(timed(command))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    print(f"| command | median ms | min ms | runs |   (load average {load})")
    print("|---|---|---|---|")
    for name, values in samples.items():
        print(f"| `{name}` | {statistics.median(values) * 1000:.0f} | {min(values) * 1000:.0f} | {len(values)} |")
    for name in ("edgemedic --help", "edgemedic rules"):
        print(f"\nslowest imports of `{name}` (cumulative us): " +
              ", ".join(f"{module} {us}" for us, module in slowest_imports(COMMANDS[name])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
