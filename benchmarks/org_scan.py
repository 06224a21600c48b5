"""Organization scan benchmark: `edgemedic scan --account ... --role-name` over 50 accounts x 20 distributions,
against the same 1000 distributions (and the same APIs) in one account.

    .venv/bin/python benchmarks/org_scan.py                      # 50 x 20, pools 1 4 8 16
    .venv/bin/python benchmarks/org_scan.py --accounts 10 --pools 4 8   # a quick check
    .venv/bin/python benchmarks/org_scan.py --discover-regions          # scans without --region

Scans run with ``--region us-east-1`` (where the APIs are) unless ``--discover-regions``: without it, each account
probes every API Gateway region for custom domains (about 30 GetDomainNames per account).

moto runs as a separate process (``python -m moto.server`` on 127.0.0.1), so the CLI's threads and the server do not
share a GIL; clients reach it through AWS_ENDPOINT_URL. moto keeps each account's resources apart: the setup
writes into account N with moto's ``x-moto-account-id`` header, and the scan reaches it through AssumeRole
credentials (moto maps them to the account in the role ARN). Managed policies only, so no policy API is called.

Figures: wall time of the whole CLI run (``cli.main``, SARIF to a file: the JSON format's per-finding diffs cost
the same in both runs and would only hide the difference), AWS calls counted with a
``before-call`` hook on every session (the caller's and each assumed role's), and the wall time of assuming the
roles alone with the same pool (``accounts.fan_out`` with nothing to do), so that the org scan's overhead beyond
the assume-role calls is ``(org scan - assume alone) / single-account scan - 1``.
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "edgemedic"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scan import create_http_api, create_rest_api, distribution_config  # noqa: E402

from edgemedic import accounts, cli  # noqa: E402
from edgemedic.aws import Clients  # noqa: E402
from edgemedic.local import environment  # noqa: E402

REGION = "us-east-1"
HUB = "123456789012"
ROLE = "edgemedic-bench-read"
BEHAVIORS = 10


@dataclass
class Run:
    label: str
    seconds: float
    calls: Counter = field(default_factory=Counter)
    findings: int = 0
    distributions: int = 0


class Server:
    """``python -m moto.server`` in its own process on a free loopback port."""

    def __enter__(self) -> "Server":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        self._environment = environment({"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "testing",
                                         "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION})
        self._environment.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._environment.__exit__(None, None, None)


def account_clients(account_id: str) -> Clients:
    session = boto3.session.Session(region_name=REGION)
    session.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", account_id))
    return Clients(session)


def counted_clients(counter: Counter) -> Clients:
    def count(model: object, **_: object) -> None:
        counter.update([(model.service_model.service_name, model.name)])  # type: ignore[attr-defined]

    def factory(**kwargs: object) -> boto3.session.Session:
        session = boto3.session.Session(**kwargs)  # type: ignore[arg-type]
        session.events.register("before-call", count)
        return session

    return Clients(factory(region_name=REGION), session_factory=factory)


def populate(clients: Clients, first: int, distributions: int, api_domains: list[tuple[str, str]]) -> None:
    cloudfront = clients.cloudfront()
    for n in range(first, first + distributions):
        config = distribution_config(n, api_domains, BEHAVIORS)
        cloudfront.create_distribution(DistributionConfig=config)


def apis(clients: Clients, seed: int) -> list[tuple[str, str]]:
    rest = create_rest_api(clients, seed)
    http = create_http_api(clients, seed + 1)
    return [(f"{rest}.execute-api.{REGION}.amazonaws.com", "/prod"), (f"{http}.execute-api.{REGION}.amazonaws.com", "")]


def setup(n_accounts: int, per_account: int) -> list[str]:
    """Account 123456789012 gets every distribution; member account k gets its 20 (the same configs, APIs of its
    own with the same shape)."""
    members = [f"{200000000000 + k:012d}" for k in range(n_accounts)]
    single = account_clients(HUB)
    for k, member in enumerate(members):
        populate(single, k * per_account, per_account, apis(single, 2 * k))
        mine = account_clients(member)
        populate(mine, k * per_account, per_account, apis(mine, 2 * k))
    return members


def scan(label: str, argv: list[str]) -> Run:
    calls: Counter = Counter()
    clients = counted_clients(calls)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        start = time.perf_counter()
        code = cli.main(["scan", "--format", "sarif", "--output", out.name, "--fail-on", "never", *argv],
                        clients=clients)
        seconds = time.perf_counter() - start
        assert code == 0, f"{label}: exit {code}"
        document = json.loads(Path(out.name).read_text())
    [run] = document["runs"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert not notes, notes[:2]  # every account scanned, nothing unreadable
    distributions = {r["properties"]["distribution"] for r in run["results"]}
    return Run(label, seconds, calls, len(run["results"]), len(distributions))


def assume_alone(members: list[str], pool: int) -> float:
    clients = counted_clients(Counter())
    targets = accounts.targets(clients, account_ids=members, role_name=ROLE)
    start = time.perf_counter()
    outcomes = accounts.fan_out(clients, targets, lambda target, member: None, pool=pool)
    seconds = time.perf_counter() - start
    assert all(o.error is None for o in outcomes)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--per-account", type=int, default=20)
    parser.add_argument("--pools", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--discover-regions", action="store_true",
                        help="scan without --region: each account probes every region for custom domains")
    args = parser.parse_args(argv)
    region = [] if args.discover_regions else ["--region", REGION]
    total = args.accounts * args.per_account
    with Server():
        start = time.perf_counter()
        members = setup(args.accounts, args.per_account)
        print(f"setup: {args.accounts} accounts x {args.per_account} distributions (+ the same {total} in one "
              f"account) in {time.perf_counter() - start:.1f} s", flush=True)
        single = scan("one account", region)
        print(f"one account: {single.seconds:.2f} s, {sum(single.calls.values())} calls, "
              f"{single.findings} findings", flush=True)
        rows = []
        for pool in args.pools:
            run = scan(f"pool {pool}", [*sum((["--account", m] for m in members), []), "--role-name", ROLE,
                                        "--parallel", str(pool), *region])
            assumed = assume_alone(members, pool)
            assert run.findings == single.findings and run.distributions == single.distributions, \
                (run.findings, single.findings)
            overhead = (run.seconds - assumed) / single.seconds - 1
            rows.append((pool, run, assumed, overhead))
            print(f"pool {pool:>2}: {run.seconds:.2f} s, assume alone {assumed:.2f} s, overhead beyond assume-role "
                  f"{overhead * 100:+.1f} %, {run.seconds / args.accounts * 1000:.0f} ms per account (wall), "
                  f"{sum(run.calls.values())} calls", flush=True)
    print()
    print("| | one account | " + " | ".join(f"{args.accounts} accounts, --parallel {p}" for p, *_ in rows) + " |")
    print("|---|---|" + "---|" * len(rows))

    def row(label: str, single_value: str, values: list[str]) -> None:
        print(f"| {label} | {single_value} | " + " | ".join(values) + " |")

    row("wall time (s)", f"{single.seconds:.2f}", [f"{r.seconds:.2f}" for _, r, _, _ in rows])
    row("assume-role alone, same pool (s)", "-", [f"{a:.2f}" for _, _, a, _ in rows])
    row("overhead beyond assume-role", "-", [f"{o * 100:+.1f} %" for *_, o in rows])
    row("wall time per account (ms)", "-", [f"{r.seconds / args.accounts * 1000:.0f}" for _, r, _, _ in rows])
    calls = [sum(r.calls.values()) for _, r, _, _ in rows]
    row("AWS calls", str(sum(single.calls.values())), [str(c) for c in calls])
    row("AWS calls per distribution", f"{sum(single.calls.values()) / total:.2f}", [f"{c / total:.2f}" for c in calls])
    row("findings", str(single.findings), [str(r.findings) for _, r, _, _ in rows])
    print()
    extra = Counter(rows[0][1].calls)
    extra.subtract(single.calls)
    print("calls the org scan makes beyond the single-account scan:",
          ", ".join(f"{s}:{o} {n:+d}" for (s, o), n in sorted(extra.items()) if n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
