"""``scan``, ``fix`` and ``trace`` across the accounts of an organization, on moto with several accounts.

moto keeps resources per account: credentials from AssumeRole reach the account named in the role ARN. moto hands
out credentials for any role, even a missing one; the emulator answers AccessDenied there as AWS does (see
edgemedic.emulator). The organization: the management account (the hub, 123456789012, where edgemedic runs, with
no read role), ``prod`` and ``staging`` with the read role (trusting the hub with an external id) and seed
stories, ``sandbox`` without the role, and ``closed``, a SUSPENDED account that --org must not list.
"""
from __future__ import annotations

import io
import json
import threading
import time
from typing import Iterator

import pytest
from test_cli import EXPECTED, EXPECTED_AFTER_AUTO
from test_report import check_sarif

from edgemedic import accounts, cli, scenarios
from edgemedic.aws import Clients
from edgemedic.emulator import Emulator
from edgemedic.handlers import iam

HUB = "123456789012"
ROLE = "edgemedic-read"
EXTERNAL_ID = "edgemedic-7f3a"
STORIES = {"prod": ["forbidden", "iam-signature"], "staging": ["websocket", "clean"]}


HUB_ACTIONS = {"sts:GetCallerIdentity", "sts:AssumeRole", "organizations:ListAccounts"}


def member_actions(emu: Emulator) -> set[str]:
    """The IAM actions of the calls made since the emulator's counts were cleared, but for the hub's own."""
    return {iam.action_for(service, operation) for service, operation in emu.calls} - HUB_ACTIONS


def trust_policy(external_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]})


class Organization:
    def __init__(self, emu: Emulator):
        self.emu = emu
        self.hub = emu.clients()
        org = self.hub.client("organizations")
        org.create_organization(FeatureSet="ALL")
        self.ids: dict[str, str] = {}
        for name in ("prod", "staging", "sandbox", "closed"):
            status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
            self.ids[name] = status["AccountId"]
        org.close_account(AccountId=self.ids["closed"])
        self.stories: dict[str, dict[str, str]] = {}  # account name -> story -> distribution id
        self.story_account: dict[str, str] = {}  # distribution id -> account id
        for name, stories in STORIES.items():
            member = emu.account_clients(self.ids[name])
            member.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust_policy(EXTERNAL_ID))
            self.stories[name] = scenarios.build(member, stories)
            if name == "staging":
                member.client("iam").create_account_alias(AccountAlias="acme-staging")
            self.story_account.update({d: self.ids[name] for d in self.stories[name].values()})
        emu.calls.clear()

    def run(self, capsys: pytest.CaptureFixture, *argv: str, stdin: io.StringIO | None = None
            ) -> tuple[int, str, str]:
        code = cli.main(list(argv), clients=self.hub, stdin=stdin)
        out, err = capsys.readouterr()
        return code, out, err

    def rules_by_story(self, findings: list[dict]) -> dict[str, list[str]]:
        story_of = {d: s for stories in self.stories.values() for s, d in stories.items()}
        found: dict[str, list[str]] = {s: [] for s in story_of.values()}
        for finding in findings:
            assert finding["account"] == self.story_account[finding["distribution"]]
            found[story_of[finding["distribution"]]].append(finding["rule"])
        return {s: sorted(rules) for s, rules in found.items()}


@pytest.fixture(scope="module")
def organization() -> Iterator[Organization]:
    with Emulator() as emu:
        yield Organization(emu)


ORG_ARGS = ("--org", "--role-name", ROLE, "--external-id", EXTERNAL_ID)


def test_org_scan_reads_each_active_account_through_its_role(organization: Organization, capsys) -> None:
    code, out, err = organization.run(capsys, "scan", *ORG_ARGS, "--format", "json")
    assert code == 1 and err == ""
    document = json.loads(out)
    ids = organization.ids
    # ListAccounts order; the closed (SUSPENDED) account is not listed at all.
    assert document["accounts"] == [
        {"id": HUB, "name": "master", "scanned": False, "distributions": 0,
         "error": f"cannot assume arn:aws:iam::{HUB}:role/{ROLE} (AccessDenied: User: arn:aws:sts::{HUB}:user/moto "
                  f"is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{HUB}:role/{ROLE}); "
                  "check that the role exists there and trusts this identity with this external id"},
        {"id": ids["prod"], "name": "prod", "scanned": True, "distributions": 2, "error": None},
        {"id": ids["staging"], "name": "staging", "scanned": True, "distributions": 2, "error": None},
        {"id": ids["sandbox"], "name": "sandbox", "scanned": False, "distributions": 0,
         "error": document["accounts"][3]["error"]},
    ]
    assert document["accounts"][3]["error"].startswith(f"cannot assume arn:aws:iam::{ids['sandbox']}:role/{ROLE} "
                                                        "(AccessDenied")
    # One warning per account that could not be scanned, nothing else.
    assert [w.split(" not scanned:")[0] for w in document["warnings"]] == [
        f"account {HUB} (master)", f"account {ids['sandbox']} (sandbox)"]
    expected = {story: EXPECTED[story] for stories in STORIES.values() for story in stories}
    assert organization.rules_by_story(document["findings"]) == expected
    # Auto fixes carry their diff, account by account.
    assert all(f["fix"]["diff"] for f in document["findings"] if f["fix"]["class"] == "auto")
    # The hub's own identity called STS once per account (plus GetCallerIdentity) and listed the organization once.
    assert organization.emu.calls[("sts", "AssumeRole")] == 4
    assert organization.emu.calls[("sts", "GetCallerIdentity")] == 1
    assert organization.emu.calls[("organizations", "ListAccounts")] == 1
    # Everything else went through the members' read roles: within what templates/org-member.yaml grants them.
    assert member_actions(organization.emu) <= set(iam.MEMBER_READ_ACTIONS)
    organization.emu.calls.clear()


def test_table_groups_findings_by_account(organization: Organization, capsys) -> None:
    ids = organization.ids
    code, out, err = organization.run(capsys, "scan", "--account", ids["staging"], "--account", ids["sandbox"],
                                      "--role-name", ROLE, "--external-id", EXTERNAL_ID, "--parallel", "2")
    assert code == 1 and err == ""
    # --account gives no names: the alias where the role may read it (staging has one, sandbox is not reachable).
    staging = out.index(f"Account {ids['staging']} (acme-staging)\n")
    sandbox = out.index(f"Account {ids['sandbox']}\n")
    assert staging < sandbox
    staging_part = out[staging:sandbox]
    for story in STORIES["staging"]:
        assert f"Distribution {organization.stories['staging'][story]}" in staging_part
    assert "websocket-handshake-dropped" in staging_part
    assert "2 distributions scanned, 4 findings" in staging_part
    assert " ".join(out[sandbox:].split()).startswith(
        f"Account {ids['sandbox']} not scanned: cannot assume arn:aws:iam::{ids['sandbox']}:role/{ROLE} "
        "(AccessDenied")
    assert "1 of 2 accounts scanned, 2 distributions, 4 findings: 4 high." in out
    assert f"1 account not scanned: {ids['sandbox']}" in out


def test_sarif_names_the_account_of_each_result(organization: Organization, capsys) -> None:
    code, out, err = organization.run(capsys, "scan", *ORG_ARGS, "--format", "sarif", "--fail-on", "never")
    assert code == 0 and err == ""
    log = json.loads(out)
    check_sarif(log)
    results = log["runs"][0]["results"]
    assert len(results) == sum(len(EXPECTED[s]) for stories in STORIES.values() for s in stories)
    for result in results:
        account = result["properties"]["account"]
        assert account == organization.story_account[result["properties"]["distribution"]]
        name = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        assert name.startswith(f"account/{account}/distribution/{result['properties']['distribution']}")
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 2 and all("not scanned" in n["message"]["text"] for n in notes)


def test_distribution_is_looked_for_in_every_account(organization: Organization, capsys) -> None:
    websocket = organization.stories["staging"]["websocket"]
    code, out, err = organization.run(capsys, "scan", *ORG_ARGS, "--distribution", websocket, "--format", "json")
    assert code == 1 and err == ""
    document = json.loads(out)
    assert {f["distribution"] for f in document["findings"]} == {websocket}
    assert sorted(f["rule"] for f in document["findings"]) == EXPECTED["websocket"]
    assert [a["distributions"] for a in document["accounts"]] == [0, 0, 1, 0]

    code, out, err = organization.run(capsys, "scan", *ORG_ARGS, "--distribution", "E000000000000")
    assert code == 2 and out == ""
    assert err == "edgemedic: distribution E000000000000 is in none of the 2 account(s) scanned (2 not reachable)\n"


def test_wrong_external_id_reaches_no_account(organization: Organization, capsys) -> None:
    ids = organization.ids
    code, out, err = organization.run(capsys, "scan", "--account", ids["prod"], "--role-name", ROLE,
                                      "--external-id", "not-the-one")
    assert code == 2 and out == ""
    assert err.startswith(f"edgemedic: no account could be scanned; {ids['prod']}: cannot assume "
                          f"arn:aws:iam::{ids['prod']}:role/{ROLE} (AccessDenied")


@pytest.mark.parametrize(("argv", "message"), [
    (("--account", "111122223333"), "--account and --org need --role-name, the role edgemedic assumes in each "
                                    "account"),
    (("--role-name", ROLE), "--role-name needs --account ID or --org"),
    (("--org", "--account", "111122223333", "--role-name", ROLE), "--account and --org name the accounts in two "
                                                                  "ways: pass one of them"),
    (("--account", "1234", "--role-name", ROLE), "--account '1234' is not an AWS account id (12 digits)"),
    (("--org", "--role-name", "a role"), "--role-name 'a role' is not an IAM role name (letters, digits and "
                                         "+=,.@_-)"),
    (("--org", "--role-name", ROLE, "--external-id", "x"), "--external-id must be 2 to 1224 characters of "
                                                             "letters, digits and +=,.@:/_-"),
])
def test_account_options_that_do_not_fit_are_usage_errors(organization: Organization, capsys, argv, message
                                                           ) -> None:
    organization.emu.calls.clear()
    code, out, err = organization.run(capsys, "scan", *argv)
    assert (code, out) == (2, "")
    assert err == f"edgemedic: error: {message} (see edgemedic scan --help)\n"
    assert organization.emu.calls == {}


@pytest.mark.parametrize(("argv", "message"), [
    (("--template", "template.yaml", "--org", "--role-name", ROLE),
     "--account, --org and --role-name scan live accounts; --template and --terraform-plan scan files: pass one "
     "or the other"),
    (("--template", "template.yaml", "--format", "asff"),
     "--format asff describes resources deployed in an account; for --template and --terraform-plan use json, "
     "sarif, gitlab or junit"),
])
def test_account_options_and_security_formats_are_not_for_template_scans(organization: Organization, capsys,
                                                                         argv, message) -> None:
    code, out, err = organization.run(capsys, "scan", *argv)
    assert (code, out, err) == (2, "", f"edgemedic: error: {message}\n")


def test_parallel_must_be_a_small_positive_number(organization: Organization, capsys) -> None:
    code, _, err = organization.run(capsys, "scan", *ORG_ARGS, "--parallel", "0")
    assert code == 2
    assert "argument --parallel: '0' is not a number of accounts from 1 to 64" in err


def test_org_listing_refused_says_what_to_do(organization: Organization, capsys) -> None:
    # moto lets any account list the organization; botocore's Stubber answers as AWS does for a member account.
    from botocore.stub import Stubber

    hub = Clients(organization.emu.session)
    with Stubber(hub.client("organizations")) as stub:
        stub.add_client_error("list_accounts", "AccessDeniedException", "You don't have permissions to access this "
                              "resource.", 400)
        code = cli.main(["scan", "--org", "--role-name", ROLE], clients=hub)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err == ("edgemedic: cannot list the organization's accounts (AccessDeniedException: You don't have "
                   "permissions to access this resource.): --org needs the management account or a delegated "
                   "administrator with organizations:ListAccounts; or name the accounts with --account\n")


def test_trace_finds_the_account_that_serves_the_host(organization: Organization, capsys) -> None:
    websocket = organization.stories["staging"]["websocket"]
    member = organization.emu.account_clients(organization.ids["staging"])
    domain = member.cloudfront().get_distribution(Id=websocket)["Distribution"]["DomainName"]
    code, out, err = organization.run(capsys, "trace", f"wss://{domain}/ws", *ORG_ARGS, "--format", "json")
    assert err == ""
    document = json.loads(out)
    assert document["trace"]["distribution"]["id"] == websocket
    assert code == 1  # the handshake fails (websocket-handshake-dropped)

    code, out, err = organization.run(capsys, "trace", "https://nowhere.example.com/", *ORG_ARGS)
    assert code == 2 and out == ""
    assert err.startswith("edgemedic: a distribution with nowhere.example.com as an alias or domain name is in none "
                          "of the 4 account(s); not reachable: 123456789012: cannot assume")


def test_single_account_findings_have_no_account(organization: Organization, capsys) -> None:
    member = organization.emu.account_clients(organization.ids["prod"])
    code = cli.main(["scan", "--format", "json"], clients=member)
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and "accounts" not in document
    assert document["findings"] and not any("account" in f for f in document["findings"])


# --------------------------------------------------------------------------------------------- the pool


def test_pool_never_runs_more_accounts_at_once_than_asked(organization: Organization) -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def work(target: accounts.Target, member: Clients) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return member.client("sts").get_caller_identity()["Account"]

    targets = accounts.targets(organization.hub, org=True, role_name=ROLE)
    targets = [t for t in targets if t.account.name in STORIES] * 3
    outcomes = accounts.fan_out(organization.hub, targets, work, external_id=EXTERNAL_ID, pool=2)
    assert peak[0] == 2
    assert [o.value for o in outcomes] == [t.account.id for t in targets]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only() -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = accounts.Progress(stream, 3)
        progress.advance(20)
        progress.advance(0, failed=True)
        progress.advance(5)
        progress.close()
    assert pipe.getvalue() == ""
    assert terminal.getvalue().split("\r") == [
        "", "accounts 1/3 done, 20 distributions read\x1b[K",
        "accounts 2/3 done, 20 distributions read, 1 not reachable\x1b[K",
        "accounts 3/3 done, 25 distributions read, 1 not reachable\x1b[K", "\x1b[K"]


@pytest.mark.parametrize("fmt", ["asff", "ocsf"])
def test_security_formats_name_each_findings_account(organization: Organization, capsys, fmt: str) -> None:
    code, out, err = organization.run(capsys, "scan", *ORG_ARGS, "--format", fmt)
    assert code == 1
    # The two accounts not scanned are said on stderr: these documents have no place for warnings.
    assert [line.split(" not scanned")[0] for line in err.splitlines()] == [
        f"edgemedic: warning: account {HUB} (master)",
        f"edgemedic: warning: account {organization.ids['sandbox']} (sandbox)"]
    document = json.loads(out)
    if fmt == "asff":
        pairs = [(f["AwsAccountId"], f["Resources"][0]["Id"].rsplit("/", 1)[1]) for f in document["Findings"]]
        assert all(f["ProductArn"].endswith(f":{f['AwsAccountId']}:product/{f['AwsAccountId']}/default")
                   for f in document["Findings"])
    else:
        pairs = [(e["cloud"]["account"]["uid"], e["resources"][0]["uid"].rsplit("/", 1)[1]) for e in document]
    assert len(pairs) == sum(len(EXPECTED[s]) for stories in STORIES.values() for s in stories)
    assert all(account == organization.story_account[dist] for account, dist in pairs)


# Last: it changes the module's organization.
def test_fix_applies_through_each_members_role(organization: Organization, capsys) -> None:
    org = organization
    ids = org.ids
    org.emu.calls.clear()
    code, out, err = org.run(capsys, "fix", "--account", ids["prod"], "--account", ids["staging"],
                             "--account", ids["sandbox"], "--role-name", ROLE, "--external-id", EXTERNAL_ID, "--yes")
    assert code == 0, err
    assert f"warning: account {ids['sandbox']} not scanned: cannot assume" in " ".join(out.split())
    assert out.index(f"Account {ids['prod']}") < out.index(f"Account {ids['staging']}")
    applied = {d for stories in org.stories.values() for s, d in stories.items()
               if EXPECTED[s] != EXPECTED_AFTER_AUTO[s]}
    for dist_id in applied:
        assert f"{dist_id}: applied" in out
    assert ("cloudfront", "UpdateDistribution") in org.emu.calls
    # The CLI's fix runs as a role of the user's (the hub's edgemedic-apply trusts only the hub); besides the apply
    # role's actions it only reads the account's alias.
    assert member_actions(org.emu) <= {*iam.MEMBER_APPLY_ACTIONS, "iam:ListAccountAliases"}
    # Each distribution was updated in its own account: the hub's account has none.
    assert org.hub.cloudfront().list_distributions()["DistributionList"]["Quantity"] == 0
    code, out, err = org.run(capsys, "scan", *ORG_ARGS, "--format", "json")
    expected = {story: EXPECTED_AFTER_AUTO[story] for stories in STORIES.values() for story in stories}
    assert org.rules_by_story(json.loads(out)["findings"]) == expected
