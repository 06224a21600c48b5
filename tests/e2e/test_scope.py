"""Safe by default, easy to stop, easy to scope: the ``edgemedic:mode`` tag, the allow list and the emergency stop
cap what edgemedic does on every path (an event, the sweep, a queued auto fix, an approved plan, CLI ``fix``), and a
dry run plans and audits without writing. One distribution is driven through each path; the untagged control shows
the same paths do write, so the cap is what stops them.
"""
from __future__ import annotations

import io
import time
from typing import Iterator

import pytest

from edgemedic import cli, engine, local, policies, scenarios
from edgemedic.collect import collect
from edgemedic.emulator import Emulator
from edgemedic.findings import FixClass
from edgemedic.handlers import runtime
from edgemedic.handlers.act import ApplyRequest
from edgemedic.local import Stack, load_event
from edgemedic.notify.approval import propose
from edgemedic.plan import build_plan

TABLE = "edgemedic-scope"
APPROVER = "U024BE7LH"


def start(monkeypatch: pytest.MonkeyPatch, emu: Emulator, **environ: str) -> Stack:
    for name, value in local.powertools_env("edgemedic-scope").items():
        monkeypatch.setenv(name, value)
    return local.start(emu, table=TABLE, api_regions=("us-east-1", "eu-west-1"), environ=environ)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator
    runtime.reset()


def forward_host(config: dict) -> None:
    next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*")[
        "OriginRequestPolicyId"] = policies.ALL_VIEWER


def tag(stack: Stack, dist_id: str, value: str) -> None:
    arn = stack.clients.cloudfront().get_distribution(Id=dist_id)["Distribution"]["ARN"]
    stack.clients.cloudfront().tag_resource(Resource=arn, Tags={"Items": [{"Key": "edgemedic:mode", "Value": value}]})


def approved_plan(stack: Stack, dist_id: str) -> str:
    """A plan a person approved (before any tag was set): stored, approved, queued as the approve function does."""
    inv = collect(stack.clients, regions=("eu-west-1",), distribution_ids=[dist_id])
    [dist] = inv.distributions
    plan = build_plan(dist, engine.evaluate(dist, inv), classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
    record = propose(plan, stack.rt.plans, None, now=time.time())
    stack.rt.plans.transition(record.plan_id, expected="pending", to="approved", now=time.time(),
                              decided_by=APPROVER, decided_at=int(time.time()))
    stack.rt.queue.send_approved(record.plan_id, dist_id, APPROVER)
    return record.plan_id


def drive(stack: Stack, dist_id: str, value: str | None) -> dict:
    """The same distribution through every path, broken again before each; what each did and how many
    UpdateDistribution calls it made."""
    plan_id = approved_plan(stack, dist_id)  # approved while untagged; the tag comes before it is applied
    if value is not None:
        tag(stack, dist_id, value)
    seen: dict = {}

    def step(name: str, run: "callable") -> None:
        if not any(b["PathPattern"] == "/api/*" and b.get("OriginRequestPolicyId") == policies.ALL_VIEWER
                   for b in stack.config(dist_id)["CacheBehaviors"]["Items"]):
            stack.emu.human_edit(dist_id, forward_host)
        before = stack.updates()
        seen[name] = (run(), stack.updates() - before)

    step("approved plan", lambda: stack.drain() and stack.rt.plans.get(plan_id).status)
    step("queued fix", lambda: stack.rt.queue.send(ApplyRequest(dist_id, f"queued-{value}", "UpdateDistribution",
                                                                "arn:aws:iam::111122223333:role/Admin",
                                                                ("apigw-host-forwarded",)))
         or stack.drain() and stack.audit(dist_id)[-1]["result"])
    step("event", lambda: stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))[
        "distributions"][0]["actions"][:2] + ["drained" if stack.drain() else "nothing queued"])
    step("sweep", lambda: stack.sweep()["status"] and stack.audit(dist_id)[-1]["action"].split(",")[0:1]
         + ["drained" if stack.drain() else "nothing queued"])
    step("cli fix --yes", lambda: cli.main(["fix", "--yes", "--distribution", dist_id, "--region", "eu-west-1"],
                                           clients=stack.clients, stdin=io.StringIO()))
    return seen


@pytest.mark.parametrize(("value", "expected"), [
    (None, {"approved plan": ("applied", 1), "queued fix": ("applied", 1),
            "event": (["auto-fix-queued", "drained"], 1), "sweep": (["auto-fix-queued", "drained"], 1),
            "cli fix --yes": (0, 1)}),
    ("approve", {"approved plan": ("applied", 1), "queued fix": ("capped", 0),
                 "event": (["capped: tag edgemedic:mode=approve", "approval-requested", "nothing queued"], 0),
                 "sweep": (["capped: tag edgemedic:mode=approve", "nothing queued"], 0), "cli fix --yes": (0, 0)}),
    ("notify", {"approved plan": ("failed", 0), "queued fix": ("capped", 0),
                "event": (["capped: tag edgemedic:mode=notify", "notified", "nothing queued"], 0),
                "sweep": (["capped: tag edgemedic:mode=notify", "nothing queued"], 0), "cli fix --yes": (0, 0)}),
    ("off", {"approved plan": ("failed", 0), "queued fix": ("capped", 0),
             "event": (["capped: tag edgemedic:mode=off", "off", "nothing queued"], 0),
             "sweep": (["capped: tag edgemedic:mode=off", "nothing queued"], 0), "cli fix --yes": (0, 0)}),
], ids=["untagged", "approve", "notify", "off"])
def test_the_mode_tag_caps_every_path(monkeypatch: pytest.MonkeyPatch, emu: Emulator, value: str | None,
                                      expected: dict, capsys: pytest.CaptureFixture) -> None:
    stack = start(monkeypatch, emu)
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)

    seen = drive(stack, dist_id, value)

    assert seen == expected
    if value is not None:
        assert f"tag edgemedic:mode={value}" in capsys.readouterr().out, "fix says why it declined"


def test_the_allow_list_caps_distributions_not_on_it(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    stack = start(monkeypatch, emu, APPLY_ALLOW_LIST="EOTHER0000000,tag:team=payments")
    ids = scenarios.build(stack.clients, ["clean", "forbidden"])
    listed, unlisted = ids["clean"], ids["forbidden"]
    arn = stack.clients.cloudfront().get_distribution(Id=listed)["Distribution"]["ARN"]
    stack.clients.cloudfront().tag_resource(Resource=arn, Tags={"Items": [{"Key": "team", "Value": "payments"}]})
    stack.emu.human_edit(listed, forward_host)

    stack.sweep()

    actions = {dist: stack.audit(dist)[-1]["action"] for dist in (listed, unlisted)}
    assert actions[listed] == "auto-fix-queued"
    assert actions[unlisted].startswith(f"capped: {unlisted} is not on the apply allow list")


@pytest.mark.parametrize("stop", ["true", "missing"])
def test_the_emergency_stop_stops_every_write_at_once(monkeypatch: pytest.MonkeyPatch, emu: Emulator,
                                                      stop: str) -> None:
    stack = start(monkeypatch, emu, EMERGENCY_STOP_PARAMETER="/edgemedic/emergency-stop")
    ssm = stack.clients.client("ssm")
    ssm.put_parameter(Name="/edgemedic/emergency-stop", Value="false", Type="String")
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))  # queued while running
    plan_id = approved_plan(stack, dist_id)

    if stop == "true":  # what docs/deploy.md tells the operator to run
        ssm.put_parameter(Name="/edgemedic/emergency-stop", Value="true", Type="String", Overwrite=True)
    else:  # a stop that cannot be read counts as pulled
        ssm.delete_parameter(Name="/edgemedic/emergency-stop")
    stack.drain()
    answer = stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id) | {
        "detail": load_event("cloudfront-update-distribution.json", distribution=dist_id)["detail"] | {
            "eventID": "after-the-stop"}})

    assert stack.updates() == 0
    assert stack.rt.plans.get(plan_id).outcome.startswith("not applied: edgemedic's emergency stop is on")
    assert [r["result"] for r in stack.audit(dist_id) if r["action"] == "auto-fix"] == ["capped"]
    assert answer["distributions"][0]["actions"][0] == "capped: edgemedic's emergency stop is on: nothing is changed " \
                                                      "anywhere"
    assert stack.queued() == 0


def test_a_dry_run_plans_and_audits_without_writing(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    from edgemedic.plan import config_hash

    stack = start(monkeypatch, emu, DRY_RUN="true")
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    before = config_hash(stack.config(dist_id))

    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    stack.drain()

    assert stack.updates() == 0
    record = stack.audit(dist_id)[-1]
    assert (record["action"], record["result"]) == ("auto-fix-dry-run", "dry-run")
    assert record["plan"]["summary"] == ["/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader"]
    assert policies.ALL_VIEWER_EXCEPT_HOST_HEADER in record["plan"]["diff"]
    assert (record["config_hash_before"], record["config_hash_after"]) == (before, before)
