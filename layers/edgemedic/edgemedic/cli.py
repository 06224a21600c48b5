"""The ``edgemedic`` command: scan, fix, rules, demo.

    edgemedic scan [--format table|json|sarif] [--output FILE] [--fail-on SEVERITY] [--region R ...]
                   [--distribution ID ...] [--probe]
    edgemedic fix [--class auto|approve] [--dry-run] [--yes] [--distribution ID ...] [--region R ...]
    edgemedic rules [--format table|markdown|json]
    edgemedic trace URL [-X METHOD] [-H 'Name: value' ...] [--distribution ID] [--format table|json] [--after-fix]
    edgemedic demo

scan, fix and trace also work across accounts: ``--account ID [--account ID ...]`` or ``--org`` (the
organization's ACTIVE accounts) with ``--role-name NAME [--external-id X]`` assume
``arn:PARTITION:iam::ID:role/NAME`` in each, ``--parallel N`` accounts at a time; an account whose role cannot be
assumed is one warning and the others go on.

Exit codes: 0 nothing to report (scan: nothing at or above ``--fail-on``; fix: every distribution applied, had
nothing to do, or was only previewed; trace: the request would succeed), 1 findings (scan), a distribution that
failed or was rolled back (fix), or a request that would fail (trace), 2 usage, credentials or any other error, said
in one line on stderr (``--debug`` adds the traceback).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TextIO

from . import accounts, jsontext
from .errors import CredentialsError, EdgemedicError, NotFoundError, ReadError
from .lazy import lazy_module

# Imported on first use: `--help` and usage errors need neither rich nor the model (issue 14: start-up).
report = lazy_module("edgemedic.report")

if TYPE_CHECKING:
    from rich.console import Console

    from .findings import Finding, FixClass

    from .act.apply import ApplyResult
    from .aws import Clients
    from .model import Distribution, Inventory
    from .plan import Plan

PROG = "edgemedic"
SECURITY_FORMATS = ("asff", "ocsf")
FAIL_ON_NEVER = "never"
FIX_CLASS_NAMES = ("auto", "approve")  # the FixClass values `fix --class` takes
SEVERITY_NAMES = ("critical", "high", "medium", "low")  # the Severity values, most severe first
# What a person at a terminal expects: a few seconds to connect, a bounded wait for an answer, three tries in all
# (botocore's standard retry mode: exponential backoff with jitter).
CONNECT_TIMEOUT, READ_TIMEOUT, MAX_ATTEMPTS = 3.0, 10.0, 3

STATUS_TEXT = {
    "applied": "applied",
    "nothing-to-do": "nothing to do",
    "dry-run": "dry run, nothing sent",
    "declined": "declined, nothing sent",
    "rolled-back": "rolled back",
    "failed": "failed",
}


class UsageError(EdgemedicError):
    """The command line is wrong."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line (UsageError) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


# --------------------------------------------------------------------------------------------- the parser


class _Version(argparse.Action):
    """``--version``: the installed version is looked up only when asked for (importlib.metadata is not free)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"{PROG} {report.version()}", file=sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile (default: the credential chain)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log AWS calls and show tracebacks")
    common.add_argument("--connect-timeout", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                        help=f"give up connecting to an AWS endpoint after this long (default {CONNECT_TIMEOUT:g})")
    common.add_argument("--read-timeout", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                        help=f"give up waiting for an answer after this long (default {READ_TIMEOUT:g}); each call "
                             f"is tried {MAX_ATTEMPTS} times in all")
    common.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress on the terminal")

    parser = _Parser(prog=PROG, parents=[common], description=(
        "Finds and heals misconfigurations of CloudFront in front of API Gateway."))
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show program's version number and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scope = argparse.ArgumentParser(add_help=False)
    scope.add_argument("--region", dest="regions", action="extend", nargs="+", default=[], metavar="R",
                       help="only these regions for API Gateway custom domains (default: the configured region "
                            "and every region with custom domains; execute-api origins are read in their own "
                            "region); repeatable")
    scope.add_argument("--distribution", dest="distributions", action="extend", nargs="+", default=[],
                       metavar="ID", help="only these distributions (default: every one in the account)")

    many = argparse.ArgumentParser(add_help=False)
    org = many.add_argument_group("several accounts")
    # append, not extend: nargs="+" would swallow trace's URL.
    org.add_argument("--account", dest="accounts", action="append", default=[], metavar="ID",
                     help="scan this account through --role-name; repeatable")
    org.add_argument("--org", action="store_true",
                     help="every ACTIVE account of the organization (from the management account or a delegated "
                          "administrator)")
    org.add_argument("--role-name", metavar="NAME",
                     help="the role to assume in each account: arn:PARTITION:iam::ID:role/NAME")
    org.add_argument("--external-id", metavar="X", help="the external id the role's trust policy requires")
    org.add_argument("--parallel", type=_pool_size, default=accounts.DEFAULT_POOL, metavar="N",
                     help=f"accounts worked on at once (default {accounts.DEFAULT_POOL})")

    scan = commands.add_parser("scan", parents=[common, scope, many], help="report misconfigurations (read-only)",
                               description="Read every distribution and the APIs behind it; change nothing.")
    scan.add_argument("--format", choices=("table", "json", "sarif", "gitlab", "junit", "html", *SECURITY_FORMATS),
                      default="table",
                      help="sarif: GitHub code scanning; gitlab: GitLab code quality; junit: CI test reports; "
                           "html: one self-contained page with a diagram per distribution (use with --output); "
                           "asff: Security Hub's BatchImportFindings shape; ocsf: OCSF 1.3 Detection Findings")
    scan.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report here instead of stdout")
    scan.add_argument("--fail-on", choices=(*SEVERITY_NAMES, FAIL_ON_NEVER), default="low",
                      help="exit 1 when a finding is at least this severe (default: low; 'never' always exits 0)")
    scan.add_argument("--probe", action="store_true",
                      help="also open a TLS connection to custom origins to check their certificates")
    scan.add_argument("--probe-timeout", type=float, default=3.0, metavar="SECONDS", help=argparse.SUPPRESS)
    before = scan.add_argument_group("before deploying (no AWS call)")
    before.add_argument("--template", dest="templates", action="extend", nargs="+", type=Path, default=[],
                        metavar="PATH",
                        help="a CloudFormation or SAM template, or a CDK cloud assembly (cdk.out); repeatable")
    before.add_argument("--parameter", dest="parameters", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter value (AWS::Region=... sets the region); repeatable")
    before.add_argument("--terraform-plan", dest="plans", action="extend", nargs="+", type=Path, default=[],
                        metavar="PATH",
                        help="the JSON of `terraform show -json PLANFILE`; repeatable")

    fix = commands.add_parser("fix", parents=[common, scope, many], help="plan and apply fixes",
                              description="Plan the fixes of one class, show them as diffs and apply them "
                                          "(asks first unless --yes).")
    fix.add_argument("--class", dest="fix_class", choices=FIX_CLASS_NAMES, default="auto",
                     help="auto: safe fixes (default); approve: patches a person should say yes to")
    fix.add_argument("--dry-run", action="store_true", help="show the plans, send nothing")
    fix.add_argument("--yes", "-y", action="store_true", help="apply without asking")

    rules = commands.add_parser("rules", parents=[common], help="list the rule catalog")
    rules.add_argument("--format", choices=("table", "markdown", "json"), default="table")

    trace = commands.add_parser(
        "trace", parents=[common, many], help="explain what happens to one request, edge to API",
        description="Follow one request through CloudFront to API Gateway: behavior, methods and caching, the "
                    "origin request, routing at the API, and the verdict with the rule that explains it.")
    trace.add_argument("url", help="https://, http://, wss:// or ws:// URL, as a client would call it")
    trace.add_argument("-X", "--request", dest="method", metavar="METHOD", help="HTTP method (default GET)")
    trace.add_argument("-H", "--header", dest="headers", action="append", default=[], metavar="'Name: value'",
                       help="a request header; repeatable")
    trace.add_argument("--distribution", dest="trace_distribution", metavar="ID",
                       help="the distribution to trace through (needed when the URL's host is not one of its "
                            "aliases or its default domain)")
    trace.add_argument("--format", choices=("table", "json"), default="table")
    trace.add_argument("--after-fix", action="store_true",
                       help="also trace the request on the config the auto and approve fixes would leave")
    # One value per flag: nargs="+" would swallow the URL after it.
    trace.add_argument("--region", dest="regions", action="append", default=[], metavar="R",
                       help="a region to search for API Gateway custom domains; repeatable")

    demo = commands.add_parser("demo", parents=[common], help="the seed stories on the embedded AWS emulator",
                               description="Build six broken setups and a healthy one on an in-process emulator, "
                                           "find what is wrong, fix what is safe, and show what is left.")
    demo.add_argument("--verbose", "-v", action="store_true",
                      help="everything: diffs, CloudTrail events, audit records, the Slack messages")
    return parser


# --------------------------------------------------------------------------------------------- shared steps


@dataclasses.dataclass
class ScanResult:
    inventory: "Inventory"
    findings: list[Finding]
    warnings: list[str]

    _by_id: "dict[str, Distribution] | None" = dataclasses.field(default=None, init=False, repr=False,
                                                                 compare=False)

    def distribution(self, distribution_id: str) -> "Distribution | None":
        if self._by_id is None:  # an index, built on first use: one look-up per finding, not a search
            self._by_id = {}
            for dist in self.inventory.distributions:
                self._by_id.setdefault(dist.id, dist)
        return self._by_id.get(distribution_id)


def make_clients(args: argparse.Namespace) -> "Clients":
    from botocore.exceptions import ProfileNotFound

    from .aws import Clients

    profile = getattr(args, "profile", None)
    try:
        clients = Clients.from_environment(
            profile=profile, connect_timeout=getattr(args, "connect_timeout", CONNECT_TIMEOUT),
            read_timeout=getattr(args, "read_timeout", READ_TIMEOUT),
            max_attempts=MAX_ATTEMPTS - 1)  # botocore's max_attempts counts the retries only
    except ProfileNotFound as exc:
        raise CredentialsError(f"{exc}; check --profile / AWS_PROFILE against ~/.aws/config") from exc
    if clients.session.get_credentials() is None:
        raise CredentialsError("no AWS credentials found: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID, "
                               "or run where an instance or task role is available")
    return clients


def check_regions(regions: Sequence[str]) -> None:
    """Unknown region names stop the command before any call (a typo would otherwise be read as "no APIs")."""
    if not regions:
        return
    from .aws import unknown_regions

    wrong = unknown_regions(list(regions))
    if wrong:
        import botocore

        raise UsageError(f"unknown region {wrong[0]!r}: not a region of any AWS partition that botocore "
                         f"{botocore.__version__} knows (e.g. us-east-1, eu-west-1); check --region, or upgrade "
                         "boto3 if the region is new")


class ScanProgress:
    """``distributions 3/40 · APIs 7`` on stderr while a scan reads, once it has taken more than a second; nothing
    when stderr is not a terminal or with ``--quiet``. Transient: the line is gone when the scan ends."""

    DELAY = 1.0

    def __init__(self, enabled: bool):
        import time

        self.enabled = enabled
        self.started = time.monotonic()
        self.counts: dict[str, str] = {}
        self.live: Any = None

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> "ScanProgress":
        return cls(_isatty(sys.stderr) and not getattr(args, "quiet", False))

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        import time

        self.counts[what] = f"{done}/{total}" if total is not None else str(done)
        if self.live is None:
            if time.monotonic() - self.started < self.DELAY:
                return
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), transient=True, auto_refresh=False)
            self.live.start()
        from rich.text import Text

        line = "reading: " + " · ".join(f"{name} {count}" for name, count in self.counts.items())
        self.live.update(Text(line, style="dim"), refresh=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def run_scan(clients: "Clients", *, regions: Sequence[str] = (), distribution_ids: Sequence[str] = (),
             probe: bool = False, probe_timeout: float = 3.0, progress: "ScanProgress | None" = None,
             summaries: bool = True, account: str = "") -> ScanResult:
    """Collect and evaluate; a rule that crashes becomes a warning instead of hiding the other findings.

    A scan of the whole account takes the distributions from the ListDistributions pages (no config read per
    distribution): what writes (``fix``) reads the config and ETag again before planning, and the json output
    reads the configs of the distributions it shows diffs for (:func:`finding_diffs`). ``summaries=False`` reads
    every config (for callers that plan on the scanned distributions themselves, like the demo). ``account`` is
    written on every finding (a scan of several accounts)."""
    from . import collect, engine

    # Without --region: every region where the account has API Gateway custom domains (--region narrows it).
    try:
        inv = collect.collect(clients, regions=regions, distribution_ids=distribution_ids, probe=probe,
                              probe_timeout=probe_timeout, discover_regions=not regions, from_summaries=summaries,
                              **({"progress": progress} if progress else {}))
    finally:
        if progress is not None:
            progress.close()
    found = {dist.id for dist in inv.distributions}
    missing = [dist_id for dist_id in dict.fromkeys(distribution_ids) if dist_id not in found]
    if missing:
        # A distribution the person named and we could not read is an error, not a clean bill of health.
        why = next((w for w in inv.warnings if missing[0] in w), "not found")
        raise NotFoundError(f"distribution {missing[0]} was not scanned ({why}); check the id with "
                            "`aws cloudfront list-distributions`")
    errors = engine.RuleErrors()
    findings = engine.scan(inv, errors=errors)
    if account:
        findings = [dataclasses.replace(f, account=account) for f in findings]
    return ScanResult(inv, findings, [*inv.warnings, *engine.warnings(inv), *errors.messages])


def regions_read(result: ScanResult, asked: Sequence[str] = ()) -> set[str]:
    """The API Gateway regions a scan looked in: those asked for, and those of the APIs and domains it read."""
    from .collect.origins import execute_api_region

    inv = result.inventory
    found = {region for region, _ in inv.apis} | {d.region for d in inv.custom_domains.values()}
    found |= {r for d in inv.distributions for o in d.origins if (r := execute_api_region(o.domain_name))}
    return set(asked) | found


# --------------------------------------------------------------------------------------------- several accounts


@dataclasses.dataclass
class AccountScans:
    """A scan of several accounts: one outcome per account, in the order asked."""

    outcomes: list["accounts.Outcome[ScanResult]"]

    @property
    def scanned(self) -> list["accounts.Outcome[ScanResult]"]:
        return [o for o in self.outcomes if o.value is not None]

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.scanned for f in o.value.findings]  # type: ignore[union-attr]

    def warnings(self) -> list[str]:
        """Each account's warnings, prefixed with its id, and one line for each account not scanned."""
        lines: list[str] = []
        for outcome in self.outcomes:
            if outcome.value is None:
                lines.append(f"account {outcome.account.label} not scanned: {outcome.error}")
            else:
                lines.extend(f"account {outcome.account.id}: {w}" for w in outcome.value.warnings)
        return lines

    def summary(self) -> list[dict[str, Any]]:
        return [{"id": o.account.id, "name": o.account.name or None, "scanned": o.value is not None,
                 "distributions": len(o.value.inventory.distributions) if o.value is not None else 0,
                 "error": o.error} for o in self.outcomes]


def several_accounts(args: argparse.Namespace) -> bool:
    """Whether the command works through assumed roles; UsageError when those options do not fit together."""
    try:
        accounts.check_options(args.accounts, args.org, args.role_name, args.external_id)
    except ValueError as exc:
        raise UsageError(f"{exc} (see {PROG} {args.command} --help)") from exc
    return bool(args.accounts or args.org)


def scan_accounts(clients: "Clients", args: argparse.Namespace, *, regions: Sequence[str] = (),
                  distribution_ids: Sequence[str] = (), probe: bool = False,
                  probe_timeout: float = 3.0) -> AccountScans:
    """Scan each account of ``--account``/``--org`` through its role, ``--parallel`` at a time, with progress on
    a terminal. Distributions named with ``--distribution`` are looked for in every account; one that no account
    has is an error, as in a single account. So is an organization in which no account could be scanned."""
    targets = accounts.targets(clients, account_ids=args.accounts, org=args.org, role_name=args.role_name)
    progress = accounts.Progress(sys.stderr, len(targets))
    progress.enabled = progress.enabled and not getattr(args, "quiet", False)

    def work(target: "accounts.Target", member: "Clients") -> ScanResult:
        wanted = list(distribution_ids)
        if wanted:
            present = _distribution_ids(member.cloudfront())
            wanted = [d for d in wanted if d in present]
            if not wanted:
                from .model import Inventory

                return ScanResult(Inventory(), [], [])
        return run_scan(member, regions=regions, distribution_ids=wanted, probe=probe, probe_timeout=probe_timeout,
                        account=target.account.id)

    def done(outcome: "accounts.Outcome[ScanResult]") -> None:
        read = len(outcome.value.inventory.distributions) if outcome.value is not None else 0
        progress.advance(read, failed=outcome.error is not None)

    try:
        outcomes = accounts.fan_out(clients, targets, work, external_id=args.external_id, pool=args.parallel,
                                    on_done=done, aliases=True)
    finally:
        progress.close()
    scans = AccountScans(outcomes)
    if not scans.scanned:
        raise accounts.AccountError(f"no account could be scanned; {outcomes[0].account.id}: {outcomes[0].error}")
    found = {d.id for o in scans.scanned for d in o.value.inventory.distributions}  # type: ignore[union-attr]
    missing = [d for d in dict.fromkeys(distribution_ids) if d not in found]
    if missing:
        unscanned = len(outcomes) - len(scans.scanned)
        where = f"the {len(scans.scanned)} account(s) scanned" + (f" ({unscanned} not reachable)" if unscanned else "")
        raise NotFoundError(f"distribution {missing[0]} is in none of {where}")
    return scans


def finding_diffs(result: ScanResult, clients: "Clients | None" = None,
                  ) -> tuple[dict[report.FindingKey, str | None], list[str]]:
    """Each auto/approve finding's own plan diff (what fixing only it would change).

    One planner per distribution: its config is shaped, hashed and rendered once and shared by its findings. A
    distribution taken from its ListDistributions summary has no CallerReference, DefaultRootObject or Logging:
    its whole config is read first (only for distributions with such findings), so the diff is the one ``fix``
    shows. The diffs of one distribution are built while the next configs are being read."""
    from . import collect, plan
    from .findings import FixClass

    every_class = frozenset(FixClass)
    by_dist: dict[str, list[Finding]] = {}
    for finding in result.findings:
        if finding.fix.changes:
            by_dist.setdefault(finding.distribution, []).append(finding)
    diffs: dict[report.FindingKey, str | None] = {}
    problems: dict[str, list[str]] = {}

    def diff_all(dist_id: str, planner: "plan.Planner | str") -> None:
        problems[dist_id] = mine = []
        for finding in by_dist[dist_id]:
            if isinstance(planner, str):
                mine.append(f"no diff for {finding.rule} on {dist_id}: {planner}")
                continue
            try:
                diffs[finding.key] = planner.diff([finding], classes=every_class)
            except EdgemedicError as exc:
                mine.append(f"no diff for {finding.rule} on {dist_id}: {_one_line(exc)}")

    partial: dict[str, "Distribution"] = {}  # taken from a summary: the whole config is read below
    for dist_id in by_dist:
        dist = result.distribution(dist_id)
        if dist is None:
            continue
        if collect.has_full_config(dist):
            diff_all(dist_id, plan.Planner.for_distribution(dist))
        elif clients is None:
            diff_all(dist_id, "its config was not read")
        else:
            partial[dist_id] = dist
    for dist_id, full in (collect.iter_configs(clients, sorted(partial)) if partial else ()):
        if isinstance(full, str):
            diff_all(dist_id, f"its config could not be read: {full}")
        else:
            diff_all(dist_id, plan.Planner(dist_id, full[0], full[1], plan.custom_policy_names(partial[dist_id])))
    return diffs, [line for dist_id in by_dist for line in problems.get(dist_id, ())]


def html_report(clients: "Clients", result: ScanResult, warnings: list[str], regions: Sequence[str]) -> str:
    """The page of ``--format html``: findings, their diffs, and each one's before/after trace."""
    from . import collect, report_html
    from . import trace as tracing
    from .rules import RULES

    diffs, problems = finding_diffs(result, clients)
    traces: dict[report.FindingKey, str] = {}
    resolver = collect.PolicyResolver(clients.cloudfront())
    for dist in result.inventory.distributions:
        own = [f for f in result.findings if f.distribution == dist.id]
        if not own:
            continue
        try:
            after = tracing.after_fix(dist, result.inventory, own, resolver=resolver).distribution
            traces.update(tracing.traces_for(dist, result.inventory, own, after=after, evaluated=own))
        except EdgemedicError as exc:
            problems.append(f"no traces for {dist.id}: {_one_line(exc)}")
    metadata = report.scan_metadata(result.inventory.distributions, regions_read(result, regions))
    return report_html.render_html(result.inventory, result.findings, [*warnings, *problems], diffs=diffs,
                                   traces=traces, urls={rule.id: rule.url for rule in RULES}, metadata=metadata)


class Fixer:
    """Applies the fixes of some classes, distribution by distribution, through ``act.apply.apply_fixes``.

    ``plan_for`` re-reads the distribution from the config apply_fixes just fetched (so a person's concurrent edit
    is planned on, not overwritten) and ``verify`` says which targeted findings survived the update.
    """

    def __init__(self, clients: "Clients", inv: "Inventory", classes: frozenset[FixClass]):
        from . import collect

        self.clients = clients
        self.inv = inv
        self.classes = classes
        self.resolver = collect.PolicyResolver(clients.cloudfront())

    def apply(self, dist: "Distribution", *, dry_run: bool, confirm: Callable[["Plan"], bool] | None,
              ) -> "ApplyResult":
        from . import plan
        from .act.apply import apply_fixes

        from .act.replan import evaluate_read
        from .handlers.reads import describe, read_failures

        targeted: dict[str, set] = {"keys": set()}
        unverified: dict[str, str] = {}

        def plan_for(config: dict, etag: str) -> "Plan | None":
            fresh, findings = evaluate_read(dist, config, etag, self.inv, self.resolver)
            unread = read_failures(fresh, self.inv)
            if unread:  # never planned on half a read (as the deployed apply function)
                raise ReadError(f"{describe(unread)}: nothing applied; run `{PROG} fix` again once it can be read")
            # Converge: what the planned config would still show (a fix can uncover the next layer) joins the plan.
            built = plan.converged_plan(
                fresh, findings, classes=self.classes,
                evaluate=lambda planned: evaluate_read(dist, planned, etag, self.inv, self.resolver)[1])
            targeted["keys"] = {f.key for f in built.findings} if built is not None else set()
            return built

        def verify(config: dict, etag: str) -> list[Finding]:
            fresh, findings = evaluate_read(dist, config, etag, self.inv, self.resolver)
            unverified.update(read_failures(fresh, self.inv))
            return [f for f in findings if f.key in targeted["keys"]]

        result = apply_fixes(self.clients.cloudfront(), dist.id, plan_for, verify=verify, dry_run=dry_run,
                             confirm=confirm)
        if unverified and result.status == "applied":
            # What could not be read again could not be checked: print_outcome says so beside "fixed".
            return dataclasses.replace(result, unverified=describe(unverified))
        return result


def run_fixes(clients: "Clients", scan: ScanResult, classes: frozenset[FixClass], *, dry_run: bool,
              confirm: Callable[["Plan"], bool] | None, console: "Console",
              show_plans: bool = True) -> list["ApplyResult"]:
    """Apply (or preview) the fixes of ``classes`` on every scanned distribution; print diffs and outcomes.

    ``confirm=None`` applies without asking (``fix --yes``, the demo)."""
    from .act.apply import ApplyResult

    fixer = Fixer(clients, scan.inventory, classes)
    shown: set[str] = set()

    def show_then_confirm(built: "Plan") -> bool:
        if show_plans:
            show_plan(console, built)
        shown.add(built.config_hash)
        return confirm(built) if confirm is not None else True

    results: list[ApplyResult] = []
    for dist in scan.inventory.distributions:
        wanted = [f for f in scan.findings
                  if f.distribution == dist.id and f.fix.fix_class in classes and f.fix.changes]
        if not wanted:
            result = ApplyResult(dist.id, "nothing-to-do", None, 0, dist.etag, "no findings of this class")
        else:
            try:
                refused = scope_refusal(clients, dist, asked=confirm is not None, dry_run=dry_run)
                result = refused or fixer.apply(dist, dry_run=dry_run, confirm=show_then_confirm)
            except EdgemedicError as exc:
                result = ApplyResult(dist.id, "failed", None, 0, None, _one_line(exc))
        if show_plans and result.plan is not None and result.plan.config_hash not in shown:
            show_plan(console, result.plan)
        print_outcome(console, result)
        results.append(result)
    return results


def scope_refusal(clients: "Clients", dist: "Distribution", *, asked: bool, dry_run: bool) -> "ApplyResult | None":
    """The distribution's ``edgemedic:mode`` tag caps ``fix`` as it caps the deployed app (``act.scope``): ``off`` and
    ``notify`` are never changed; ``approve`` only with a person saying yes (not ``--yes``). None: go ahead."""
    from .act.apply import ApplyResult
    from .act.scope import read_scope
    from .handlers.settings import Mode

    scope = read_scope(clients.cloudfront(), dist.arn)
    if scope.allows(Mode.AUTO) or dry_run or (asked and scope.allows(Mode.APPROVE)):
        return None
    why = (f"{scope.reason}: a person must confirm each plan (run without --yes)" if scope.allows(Mode.APPROVE)
           else f"{scope.reason}: edgemedic does not change this distribution")
    return ApplyResult(dist.id, "declined", None, 0, dist.etag, why)


def show_plan(console: "Console", built: "Plan") -> None:
    from rich.syntax import Syntax
    from rich.text import Text

    console.print(Text(f"Plan for {built.distribution_id} ({built.fix_class.value}):", style="bold"))
    for line in built.summary:
        console.print(Text(f"  - {line}"))
    console.print(Syntax(built.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default",
                         word_wrap=True))  # at 80 columns a long line wraps, never cut


def print_outcome(console: "Console", result: "ApplyResult") -> None:
    from rich.text import Text

    style = {"applied": "green", "nothing-to-do": "dim", "rolled-back": "red", "failed": "bold red"}
    line = Text(f"{result.distribution_id}: {STATUS_TEXT.get(result.status, result.status)}",
                style=style.get(result.status, "yellow"))
    detail = result.message
    if result.plan is not None and result.status in {"applied", "dry-run", "declined"}:
        # One unit everywhere: a change is one line of the plan's summary, as shown above the diff.
        fixed = ", ".join(sorted({f.rule for f in result.plan.findings}))
        count = changes_phrase(len(result.plan.summary))
        detail = {
            "applied": f"{count} in {plural(result.attempts, 'attempt')}, fixed {fixed}" + (
                f" (not verified where {result.unverified})" if result.unverified else ""),
            "dry-run": f"{count} planned for {fixed}",
            "declined": f"{count} planned for {fixed}",
        }[result.status]
    if detail:
        line.append(f" - {detail}", style="default")
    console.print(line)
    if result.status == "applied":
        console.print(Text(
            f"  CloudFront takes some minutes to deploy the change to its edge locations. Check with "
            f"`edgemedic scan --distribution {result.distribution_id}`, or wait for Status Deployed: `aws cloudfront "
            f"get-distribution --id {result.distribution_id} --query Distribution.Status`", style="dim"))


def plural(count: int, noun: str) -> str:
    """``1 change``, ``2 changes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def changes_phrase(count: int) -> str:
    return plural(count, "change")


# --------------------------------------------------------------------------------------------- commands


def cmd_scan(args: argparse.Namespace, clients: "Clients | None") -> int:
    if args.templates or args.plans:
        from .sources.command import scan_files

        if args.accounts or args.org or args.role_name:
            raise UsageError("--account, --org and --role-name scan live accounts; --template and --terraform-plan "
                             "scan files: pass one or the other")
        if args.format in SECURITY_FORMATS:
            raise UsageError(f"--format {args.format} describes resources deployed in an account; for --template and "
                             "--terraform-plan use json, sarif, gitlab or junit")

        return scan_files(args)
    if several_accounts(args):
        if args.format == "html":
            raise UsageError("--format html shows one account; with --account or --org use table, json, sarif, "
                             "gitlab, junit, asff or ocsf")
        return cmd_scan_accounts(args, clients or make_clients(args))
    clients = clients or make_clients(args)
    result = run_scan(clients, regions=args.regions, distribution_ids=args.distributions, probe=args.probe,
                      probe_timeout=args.probe_timeout, progress=ScanProgress.for_args(args))
    warnings = list(result.warnings)
    out: TextIO
    with _output(args.output) as out:
        if args.format == "json":
            diffs, problems = finding_diffs(result, clients)
            out.write(report.render_json(result.findings, [*warnings, *problems], diffs,
                                         metadata=report.scan_metadata(result.inventory.distributions,
                                                                       regions_read(result, args.regions))))
        elif args.format == "html":
            out.write(html_report(clients, result, [*warnings], args.regions))
        elif args.format in ("sarif", "gitlab", "junit"):
            from . import formats

            out.write(formats.render(args.format, result.findings, warnings,
                                     distributions=[d.id for d in result.inventory.distributions]))
        elif args.format in SECURITY_FORMATS:
            account, partition = caller_account(clients)
            write_security_format(out, args.format, result.findings, warnings, account=account, partition=partition,
                                  region=clients.default_region)
        else:
            console = report.make_console(out, plain=args.output is not None)
            report.render_table(console, result.findings, warnings, result.inventory.distributions)
    return scan_exit_code(args, result.findings)


def scan_exit_code(args: argparse.Namespace, findings: Sequence[Finding]) -> int:
    if args.fail_on == FAIL_ON_NEVER:
        return 0
    from .findings import Severity

    threshold = Severity(args.fail_on)
    return 1 if any(f.severity.at_least(threshold) for f in findings) else 0


def caller_account(clients: "Clients") -> tuple[str, str]:
    """(account id, partition) of the credentials in use."""
    identity = clients.client("sts").get_caller_identity()
    return identity["Account"], identity["Arn"].split(":")[1]


def write_security_format(out: TextIO, fmt: str, findings: Sequence[Finding], warnings: Sequence[str], *,
                          account: str, partition: str, region: str) -> None:
    """ASFF (``{"Findings": [...]}``) or OCSF (a JSON array of events) on ``out``; these formats have no place for
    warnings, so they go to stderr, one line each."""
    import json
    from datetime import datetime, timezone

    from .rules import RULES

    now = datetime.now(timezone.utc)
    if fmt == "asff":
        from . import asff

        document: Any = asff.document(findings, RULES, account=account, partition=partition, region=region, now=now)
    else:
        from . import ocsf

        document = ocsf.events(findings, RULES, account=account, partition=partition, region=region, now=now,
                               version=report.version())
    out.write(jsontext.dumps(document, ensure_ascii=False) + "\n")
    for warning in warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)


def cmd_scan_accounts(args: argparse.Namespace, clients: "Clients") -> int:
    """``scan --account``/``--org``: every format, each finding with its ``account``; the table groups by account."""
    scans = scan_accounts(clients, args, regions=args.regions, distribution_ids=args.distributions,
                          probe=args.probe, probe_timeout=args.probe_timeout)
    findings, warnings = scans.findings, scans.warnings()
    out: TextIO
    with _output(args.output) as out:
        if args.format == "json":
            diffs: dict[report.FindingKey, str | None] = {}
            problems: list[str] = []
            for outcome in scans.scanned:
                own_diffs, own_problems = finding_diffs(outcome.value, outcome.clients)  # type: ignore[arg-type]
                diffs.update(own_diffs)
                problems.extend(f"account {outcome.account.id}: {p}" for p in own_problems)
            read = [d for o in scans.scanned for d in o.value.inventory.distributions]  # type: ignore[union-attr]
            regions = set(args.regions).union(*(regions_read(o.value, args.regions) for o in scans.scanned))
            out.write(report.render_json(findings, [*warnings, *problems], diffs,
                                         metadata=report.scan_metadata(read, regions), accounts=scans.summary()))
        elif args.format in ("sarif", "gitlab", "junit"):
            from . import formats

            out.write(formats.render(args.format, findings, warnings,
                                     distributions=[d.id for o in scans.scanned
                                                    for d in o.value.inventory.distributions]))  # type: ignore
        elif args.format in SECURITY_FORMATS:
            # Every finding carries its account; the partition is the one the roles were assumed in.
            partition = scans.outcomes[0].target.role_arn.split(":")[1]
            write_security_format(out, args.format, findings, warnings, account="", partition=partition,
                                  region=clients.default_region)
        else:
            console = report.make_console(out, plain=args.output is not None)
            report.render_accounts_table(console, [
                report.AccountSection(o.account.label, error=o.error) if o.value is None else
                report.AccountSection(o.account.label, o.value.findings, o.value.warnings,
                                      o.value.inventory.distributions)
                for o in scans.outcomes])
    return scan_exit_code(args, findings)


def cmd_fix(args: argparse.Namespace, clients: "Clients | None", stdin: TextIO) -> int:
    interactive = not args.yes and not args.dry_run
    if interactive and not _isatty(stdin):
        raise UsageError("not asking for confirmation without a terminal: pass --yes to apply, "
                         "or --dry-run to only show the plans")
    many = several_accounts(args)
    clients = clients or make_clients(args)
    from .findings import FixClass

    classes = frozenset({FixClass(args.fix_class)})
    console = report.make_console()
    if many:
        scans = scan_accounts(clients, args, regions=args.regions, distribution_ids=args.distributions)
        work = [(o.account.label, o.clients, o.value) for o in scans.scanned]
        warnings = scans.warnings()
    else:
        scan = run_scan(clients, regions=args.regions, distribution_ids=args.distributions,
                        progress=ScanProgress.for_args(args))
        work, warnings = [("", clients, scan)], scan.warnings
    for warning in warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)

    def ask(built: "Plan") -> bool:
        console.print(f"Apply these changes to {built.distribution_id}? [y/N] ", end="", markup=False)
        answer = stdin.readline().strip().lower()
        return answer in {"y", "yes"}

    # Accounts one after the other: a person answers one question at a time, and the output stays in order.
    results: list["ApplyResult"] = []
    for label, member, scan in work:
        if label:
            console.print(f"Account {label}", style="bold underline", markup=False)
        results += run_fixes(member, scan, classes, dry_run=args.dry_run,
                             confirm=None if not interactive else ask, console=console)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    console.print(", ".join(f"{n} {STATUS_TEXT.get(s, s)}" for s, n in counts.items()) or "no distributions",
                  markup=False)
    others = [f for _, _, scan in work for f in scan.findings if f.fix.fix_class not in classes]
    if others:
        console.print(f"{len(others)} finding(s) of other fix classes remain; `edgemedic scan` lists them.",
                      markup=False)
    return 1 if any(r.status in {"failed", "rolled-back"} for r in results) else 0


def cmd_rules(args: argparse.Namespace) -> int:
    from .rules import RULES

    if args.format == "markdown":
        sys.stdout.write(report.rules_markdown(RULES))
    elif args.format == "json":
        sys.stdout.write(report.rules_json(RULES))
    else:
        report.render_rules_table(report.make_console(), RULES)
    return 0


def cmd_trace(args: argparse.Namespace, clients: "Clients | None") -> int:
    """Exit 0 when the request would succeed, 1 when it would fail (or cannot be told), 2 on errors."""
    import json

    from . import collect, engine
    from . import trace as tracing

    request = tracing.parse_request(args.url, args.method, args.headers)
    many = several_accounts(args)
    clients = clients or make_clients(args)
    if many:
        clients, dist_id = locate_in_accounts(clients, args, request.host)
    else:
        dist_id = args.trace_distribution or tracing.locate_distribution(clients.cloudfront(), request.host)
    result = run_scan(clients, regions=args.regions, distribution_ids=[dist_id])
    dist = result.distribution(dist_id)
    assert dist is not None  # run_scan raises NotFoundError otherwise
    errors = engine.RuleErrors()
    findings = engine.evaluate(dist, result.inventory, errors=errors)
    current = tracing.trace(dist, result.inventory, request, findings=findings)
    after = planned = None
    if args.after_fix:
        planned = tracing.after_fix(dist, result.inventory, findings,
                                    resolver=collect.PolicyResolver(clients.cloudfront()))
        if planned.plan is not None:  # nothing planned: the same config, the same trace; say so, do not repeat it
            after = tracing.trace(planned.distribution, planned.inventory, request, config="after-fix")
    if args.format == "json":
        doc = tracing.document(current, after, planned.plan if planned else None)
        if planned is not None and planned.plan is None:
            doc["after_fix"] = {"plan": None, "trace": None}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        console = report.make_console()
        for warning in [*result.inventory.warnings, *errors.messages]:
            console.print(f"warning: {warning}", style="yellow", markup=False)
        if not tracing.serves_host(dist, request.host):
            console.print(f"note: {request.host} is not an alias of {dist.id}; traced as if it reached it",
                          style="yellow", markup=False)
        tracing.render(console, current)
        if planned is not None and planned.plan is None:
            console.print()
            console.print(f"After the fix: no fix planned for {dist.id} (no auto or approve fix applies), so "
                          "this request would go as above.", markup=False)
        elif after is not None and planned is not None and planned.plan is not None:
            console.print()
            console.print(f"After the fix ({planned.plan.fix_class.value}):", style="bold", markup=False)
            for line in planned.plan.summary:
                console.print(f"  - {line}", markup=False)
            tracing.render(console, after)
    final = after if after is not None else current
    return 0 if final.ok else 1


def locate_in_accounts(clients: "Clients", args: argparse.Namespace, host: str) -> tuple["Clients", str]:
    """The account (its clients) and distribution that serve ``host`` (or hold ``--distribution``), looked for in
    every account of ``--account``/``--org`` in parallel."""
    from . import trace as tracing

    targets = accounts.targets(clients, account_ids=args.accounts, org=args.org, role_name=args.role_name)

    def find(target: "accounts.Target", member: "Clients") -> str | None:
        cloudfront = member.cloudfront()
        if args.trace_distribution:
            return args.trace_distribution if args.trace_distribution in _distribution_ids(cloudfront) \
                else None
        try:
            return tracing.locate_distribution(cloudfront, host)
        except tracing.TraceError:
            return None

    outcomes = accounts.fan_out(clients, targets, find, external_id=args.external_id, pool=args.parallel)
    for outcome in outcomes:
        if outcome.value is not None and outcome.clients is not None:
            return outcome.clients, outcome.value
    what = f"distribution {args.trace_distribution}" if args.trace_distribution else \
        f"a distribution with {host} as an alias or domain name"
    unreachable = "; ".join(f"{o.account.id}: {o.error}" for o in outcomes if o.error is not None)
    raise NotFoundError(f"{what} is in none of the {len(outcomes)} account(s)"
                        + (f"; not reachable: {unreachable}" if unreachable else ""))


DEMO_NEEDS = ("moto", "aws_lambda_powertools", "slack_sdk")


def cmd_demo(args: argparse.Namespace) -> int:
    import importlib.util

    missing = [name for name in DEMO_NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"the demo needs its emulator and the Lambda libraries ({', '.join(missing)} missing): "
                         "pip install 'edgemedic[demo]'")
    from . import demo

    return demo.run(report.make_console(), verbose=args.verbose)


# --------------------------------------------------------------------------------------------- plumbing


class _output:
    """stdout, or FILE opened for writing (created only once there is something to write)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.file: TextIO | None = None

    def __enter__(self) -> TextIO:
        if self.path is None:
            return sys.stdout
        try:
            self.file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror}") from exc
        return self.file

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _distribution_ids(cloudfront: Any) -> set[str]:
    """The ids of an account's distributions (ListDistributions)."""
    from .collect.calls import ResourceUnreadable, paginate
    from .errors import ReadError

    try:
        return {s["Id"] for s in paginate("distributions", cloudfront, "list_distributions",
                                          "DistributionList.Items")}
    except ResourceUnreadable as problem:
        raise ReadError(f"cannot list CloudFront distributions: {problem.code}: {problem.message}") from problem


def _pool_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= 64:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of accounts from 1 to 64")
    return size


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """One line saying what failed and what to do."""
    from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                     NoRegionError, PartialCredentialsError)

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return f"no usable AWS credentials ({_one_line(exc)}): pass --profile or set AWS_PROFILE / AWS_ACCESS_KEY_ID"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        operation = getattr(exc, "operation_name", "an AWS call")
        from .collect.calls import not_aws_answer

        odd = not_aws_answer(str(code), message, os.environ.get("AWS_ENDPOINT_URL"), operation)
        if odd is not None:
            return odd
        hint = ""
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            hint = "; grant the permission to the identity edgemedic runs as"
        elif code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
                      "SignatureDoesNotMatch"}:
            hint = "; refresh the credentials (aws sso login, or new keys)"
        return _one_line(f"AWS answered {code} to {operation}: {message}{hint}")
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS: {_one_line(exc)} (check the network, AWS_ENDPOINT_URL and the region)"
    if isinstance(exc, NoRegionError):
        return "no AWS region configured: set AWS_REGION or a region in the profile"
    if isinstance(exc, BotoCoreError):
        return _one_line(exc)
    if isinstance(exc, EdgemedicError):
        return _one_line(exc)
    return f"unexpected {type(exc).__name__}: {_one_line(exc)} (run with --debug for the traceback)"


def main(argv: Sequence[str] | None = None, *, clients: "Clients | None" = None,
         stdin: TextIO | None = None) -> int:
    """Run the command line; returns the exit code. ``clients`` lets tests and the demo pass emulator clients."""
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        if getattr(args, "debug", False):
            import logging  # only for --debug: logging costs ~5 ms of every start

            logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
            logging.getLogger("botocore").setLevel(logging.INFO)
        if args.command is None:
            raise UsageError(f"choose a command: scan, fix, rules, trace or demo (see {PROG} --help)")
        check_regions(getattr(args, "regions", ()))
        if args.command == "scan":
            return cmd_scan(args, clients)
        if args.command == "fix":
            return cmd_fix(args, clients, stdin or sys.stdin)
        if args.command == "rules":
            return cmd_rules(args)
        if args.command == "trace":
            return cmd_trace(args, clients)
        return cmd_demo(args)
    except SystemExit as exc:  # --help and --version end here
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `edgemedic scan | head`: the reader left, nothing more to say
        return 0
    except Exception as exc:  # noqa: BLE001 - every error becomes one line and exit 2
        if args is not None and getattr(args, "debug", False):
            import traceback

            traceback.print_exc(file=sys.stderr)
        prefix = f"{PROG}: error: " if isinstance(exc, UsageError) else f"{PROG}: "
        print(prefix + describe_error(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
