"""edgemedic side by side with the floor and Prowler, on one moto server, in one run.

    .venv/bin/python benchmarks/compare.py                      # N = 100, 500, 1000; 3 interleaved rounds each
    .venv/bin/python benchmarks/compare.py --sizes 500 --rounds 5
    .venv/bin/python benchmarks/compare.py --sizes 50 --rounds 1 --no-prowler   # a quick check

moto runs as its own process (``python -m moto.server`` on a free port of 127.0.0.1), so every tool pays the same
emulator and none shares its interpreter with it. Each size gets a fresh server and the account of
``benchmarks/scan.py`` (N distributions x 10 behaviors, N/5 APIs, managed policies only). Each tool then runs as a
subprocess with ``AWS_ENDPOINT_URL`` pointing at the server, round after round, the tools interleaved in every round
(so a burst of load on the shared machine hits them alike); the table gives medians. AWS calls per run are counted
from the server's request log (one line per HTTP request), the same way for every tool.

Tools:
- ``floor``: benchmarks/floor.py, only the reads no scanner can do without.
- ``floor + configs``: the same and GetDistributionConfig for every distribution: the least a scan that shows each
  fix's diff (``--format json``) can read. ``edgemedic json`` is compared with it.
- ``edgemedic table`` / ``edgemedic sarif``: ``edgemedic scan --format table|sarif --region us-east-1`` (no diffs, no
  config reads; ``--region`` as Prowler is given one, so custom domains are not looked for in every region).
- ``edgemedic json``: ``edgemedic scan --format json`` (each fixable finding's diff: reads the configs it shows).
- ``prowler``: ``prowler aws --services cloudfront apigateway apigatewayv2`` from its own virtualenv
  (benchmarks/.venv-prowler, see README.md), skipped when that is not installed or with ``--no-prowler``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import scan as account  # noqa: E402  (the benchmark account)

PROWLER = HERE / ".venv-prowler" / "bin" / "prowler"
EDGEMEDIC = ROOT / ".venv" / "bin" / "edgemedic"
REQUEST = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP/[\d.]+" (\d{3})')
# Path segments kept as they are when counting requests; any other segment is an id.
_WORDS = frozenset({"2020-05-31", "distribution", "config", "tagging", "restapis", "resources", "methods", "stages",
                    "authorizers", "domainnames", "basepathmappings", "v2", "apis", "routes", "apimappings",
                    "integrations", "deployments", "cache-policy", "origin-request-policy", ""})
_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE", "ANY"})


@dataclass
class Sample:
    seconds: float
    calls: Counter
    ok: bool
    note: str = ""


@dataclass
class Result:
    tool: str
    size: int
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def calls(self) -> int:
        return sum(self.samples[-1].calls.values()) if self.samples else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoProcess:
    def __init__(self, log: Path):
        self.port = free_port()
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "MotoProcess":
        self._log = self.log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._log.close()

    def mark(self) -> int:
        self._log.flush()
        return self.log.stat().st_size

    def calls_since(self, offset: int) -> Counter:
        time.sleep(0.2)  # let the server write its last lines
        with self.log.open() as handle:
            handle.seek(offset)
            text = handle.read()
        calls: Counter = Counter()
        for verb, path, _status in REQUEST.findall(text):
            path = path.split("?")[0]
            parts = [p if p in _WORDS or p in _METHODS else "{id}" for p in path.split("/")]
            calls[f"{verb} {'/'.join(parts)}"] += 1
        return calls


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION=account.REGION, AWS_REGION=account.REGION, NO_COLOR="1", COLUMNS="120")
    return env


def tools(prowler: bool, workdir: Path) -> dict[str, list[str]]:
    found = {
        "floor": [sys.executable, str(HERE / "floor.py")],
        "floor + configs": [sys.executable, str(HERE / "floor.py"), "--configs"],
        "edgemedic table": [str(EDGEMEDIC), "scan", "--format", "table", "--region", account.REGION, "--fail-on", "never",
                            "--output", str(workdir / "scan.txt")],
        "edgemedic sarif": [str(EDGEMEDIC), "scan", "--format", "sarif", "--region", account.REGION, "--fail-on", "never",
                            "--output", str(workdir / "scan.sarif")],
        "edgemedic json": [str(EDGEMEDIC), "scan", "--format", "json", "--region", account.REGION, "--fail-on", "never",
                           "--output", str(workdir / "scan.json")],
    }
    if prowler and PROWLER.exists():
        found["prowler"] = [str(PROWLER), "aws", "--services", "cloudfront", "apigateway", "apigatewayv2",
                            "--region", account.REGION, "--output-formats", "json-ocsf",
                            "--output-directory", str(workdir / "prowler"), "--no-banner", "--ignore-exit-code-3"]
    return found


def run_tool(server: MotoProcess, argv: list[str], workdir: Path) -> Sample:
    offset = server.mark()
    start = time.perf_counter()
    done = subprocess.run(argv, env=environment(server.url), cwd=workdir, capture_output=True, text=True,
                          timeout=1800)
    seconds = time.perf_counter() - start
    note = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    return Sample(seconds, server.calls_since(offset), done.returncode == 0, note)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def measure(size: int, rounds: int, prowler: bool, workdir: Path) -> tuple[list[Result], dict]:
    apis = max(size // 5, 1)
    with MotoProcess(workdir / f"moto-{size}.log") as server:
        os.environ.update(environment(server.url))
        start = time.perf_counter()
        account.populate(account.Clients(account.boto3.session.Session(region_name=account.REGION)), size, apis, 10)
        setup = time.perf_counter() - start
        results = {name: Result(name, size) for name in tools(prowler, workdir)}
        loads = [loadavg()]
        for _ in range(rounds):
            for name, argv in tools(prowler, workdir).items():
                sample = run_tool(server, argv, workdir)
                results[name].samples.append(sample)
                if not sample.ok:
                    print(f"  {name} failed: {sample.note}", file=sys.stderr)
            loads.append(loadavg())
            print(f"  N={size} round done: " + ", ".join(f"{n} {r.samples[-1].seconds:.1f}s"
                                                         for n, r in results.items()), file=sys.stderr)
    return list(results.values()), {"setup_s": round(setup, 1), "apis": apis, "load": loads}


def _api_calls(calls: dict) -> int:
    return sum(n for request, n in calls.items() if "/restapis" in request or "/v2/" in request
               or request.endswith("/domainnames"))


def table(record: dict) -> str:
    """The README's table from a compare.json record."""
    lines = ["| N (APIs) | tool | median s | ms / distribution | x floor (json: floor + configs) | AWS calls | calls / distribution | "
             "API Gateway calls / API | runs |", "|---|---|---|---|---|---|---|---|---|"]
    for size, entry in sorted(record.items(), key=lambda item: int(item[0])):
        n, apis = int(size), entry["meta"]["apis"]
        medians = {tool: statistics.median(r["seconds"]) for tool, r in entry["tools"].items() if r["seconds"]}
        for tool, r in entry["tools"].items():
            if tool not in medians:
                continue
            floor = medians.get("floor + configs" if tool == "edgemedic json" else "floor") or medians.get("floor")
            median, calls = medians[tool], sum(r["calls"].values())
            ratio = f"{median / floor:.2f}" if floor else "-"
            runs = f"{len(r['seconds'])}" + (f" ({len(r['failed'])} failed)" if r["failed"] else "")
            lines.append(f"| {n} ({apis}) | {tool} | {median:.2f} | {median / n * 1000:.1f} | {ratio} | {calls} | "
                         f"{calls / n:.2f} | {_api_calls(r['calls']) / apis:.2f} | {runs} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-prowler", action="store_true")
    parser.add_argument("--prowler-sizes", type=int, nargs="+", default=None,
                        help="run Prowler only at these sizes (default: every size)")
    parser.add_argument("--table-from", type=Path, metavar="JSON",
                        help="only print the table of an earlier run's compare.json")
    args = parser.parse_args(argv)
    if args.table_from:
        print(table(json.loads(args.table_from.read_text())))
        return 0
    out = HERE / ".results"
    out.mkdir(exist_ok=True)
    all_results: dict[int, list[Result]] = {}
    meta: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="edgemedic-bench-") as tmp:
        for size in args.sizes:
            prowler = not args.no_prowler and (args.prowler_sizes is None or size in args.prowler_sizes)
            workdir = Path(tmp) / str(size)
            workdir.mkdir()
            all_results[size], meta[size] = measure(size, args.rounds, prowler, workdir)
            for r in all_results[size]:
                print(f"N={size} {r.tool}: calls by request: {dict(sorted(r.samples[-1].calls.items()))}",
                      file=sys.stderr)
            shutil.rmtree(workdir / "prowler", ignore_errors=True)
    record = {str(size): {"meta": meta[size], "tools": {r.tool: {
        "seconds": [round(s.seconds, 3) for s in r.samples], "calls": dict(r.samples[-1].calls) if r.samples else {},
        "failed": [s.note for s in r.samples if not s.ok]} for r in results}} for size, results in all_results.items()}
    (out / "compare.json").write_text(json.dumps(record, indent=2))
    print(table(record))
    print("\nload average (1/5/15 min) before and after each round: " +
          "; ".join(f"N={s}: {' | '.join(m['load'])}" for s, m in meta.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
