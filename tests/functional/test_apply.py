"""act/apply.py against the emulator (moto + CloudFront's ETag/If-Match, policies and throttling, which moto lacks).

Every test reads what CloudFront holds afterwards and counts the UpdateDistribution calls edgemedic made
(``Emulator.calls`` counts edgemedic's clients only, not ``human_edit``'s).
"""
from __future__ import annotations

import copy
import logging
import types
from typing import Callable

import boto3
import botocore.endpoint
import pytest
from botocore.exceptions import ClientError
from botocore.retries import standard

from builders import raw_behavior, raw_config, raw_origin
from edgemedic import policies
from edgemedic.act import ApplyResult, apply_fixes
from edgemedic.emulator import Emulator
from edgemedic.errors import (
    AccessError,
    ConcurrentEditError,
    InvalidConfigError,
    NotFoundError,
    ThrottledError,
)
from edgemedic.findings import Finding, Fix, FixClass, SetAllowedMethods, SetBehaviorPolicies, Severity
from edgemedic.plan import Plan, plan_from_config
from unit.test_validate import INVALID, invalid_config, valid_config

API_DOMAIN = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
UPDATE = ("cloudfront", "UpdateDistribution")


def start_config() -> dict:
    return raw_config(
        origins=[raw_origin("api", API_DOMAIN), raw_origin("site", "site.s3.amazonaws.com", protocol=None)],
        behaviors=[
            raw_behavior("/api/*", "api", orp=policies.ALL_VIEWER),
            raw_behavior("/static/*", "site", cache=policies.CACHING_OPTIMIZED),
            raw_behavior("*", "site", cache=policies.CACHING_OPTIMIZED),
        ],
    )


def host_finding(dist_id: str) -> Finding:
    return Finding("apigw-host-forwarded", Severity.HIGH, dist_id, "/api/*", "api",
                   "/api/* forwards the viewer Host to API Gateway", "403 Forbidden",
                   Fix(FixClass.AUTO, "AllViewerExceptHostHeader",
                       (SetBehaviorPolicies("/api/*",
                                            origin_request_policy_id=policies.ALL_VIEWER_EXCEPT_HOST_HEADER),)))


def planner(dist_id: str, findings: list[Finding], built: list[Plan] | None = None) -> Callable:
    def plan_for(config: dict, etag: str) -> Plan | None:
        plan = plan_from_config(dist_id, config, etag, findings)
        if built is not None and plan is not None:
            built.append(plan)
        return plan
    return plan_for


def still_forwards_host(config: dict, etag: str) -> list[Finding]:
    """A verify(): the host finding remains while /api/* forwards Host."""
    api = config["CacheBehaviors"]["Items"][0]
    return [host_finding("")] if api.get("OriginRequestPolicyId") == policies.ALL_VIEWER else []


def api_orp(cloudfront, dist_id: str) -> str:
    return cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]["CacheBehaviors"]["Items"][0][
        "OriginRequestPolicyId"]


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def cloudfront(emu):
    return emu.clients().cloudfront()


@pytest.fixture
def dist_id(cloudfront) -> str:
    return cloudfront.create_distribution(DistributionConfig=start_config())["Distribution"]["Id"]


def if_match_recorder(cloudfront) -> list[str]:
    sent: list[str] = []
    cloudfront.meta.events.register(
        "before-parameter-build.cloudfront.UpdateDistribution",
        lambda params, **_: sent.append(params.get("IfMatch")),
    )
    return sent


# --------------------------------------------------------------------------------------------- the happy path


def test_fix_is_applied_with_if_match_and_reads_back_as_planned(emu, cloudfront, dist_id, caplog):
    caplog.set_level(logging.INFO, logger="edgemedic.act.apply")
    etag_before = cloudfront.get_distribution_config(Id=dist_id)["ETag"]
    sent = if_match_recorder(cloudfront)
    built: list[Plan] = []
    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)], built),
                         verify=still_forwards_host)

    assert (result.status, result.attempts) == ("applied", 1)
    assert sent == [etag_before]
    after = cloudfront.get_distribution_config(Id=dist_id)
    assert after["DistributionConfig"] == built[0].new_config
    assert result.etag == after["ETag"] != etag_before
    assert result.plan.summary == ("/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader",)
    assert emu.calls[UPDATE] == 1
    # The log says what was done in plain words, never the config itself.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"distribution {dist_id}: applying 1 change(s), attempt 1 of 3: /api/* origin request policy: " \
           "AllViewer -> AllViewerExceptHostHeader" in logged
    assert "CallerReference" not in logged and API_DOMAIN not in logged


def test_dry_run_sends_nothing(emu, cloudfront, dist_id):
    before = cloudfront.get_distribution_config(Id=dist_id)
    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]), dry_run=True)
    assert result.status == "dry-run" and result.plan is not None and result.attempts == 0
    assert emu.calls[UPDATE] == 0
    after = cloudfront.get_distribution_config(Id=dist_id)
    assert (after["ETag"], after["DistributionConfig"]) == (before["ETag"], before["DistributionConfig"])


def test_declined_plan_sends_nothing(emu, cloudfront, dist_id):
    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]), confirm=lambda plan: False)
    assert result.status == "declined"
    assert emu.calls[UPDATE] == 0


def test_nothing_to_do_when_already_fixed(emu, cloudfront, dist_id):
    apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]))
    again = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]))
    assert (again.status, again.plan) == ("nothing-to-do", None)
    assert emu.calls[UPDATE] == 1


def test_invalid_plan_is_never_sent(emu, cloudfront, dist_id):
    bad = Finding("apigw-methods-blocked", Severity.HIGH, dist_id, "/api/*", "api", "POST blocked", "403",
                  Fix(FixClass.AUTO, "methods", (SetAllowedMethods("/api/*", ("GET", "HEAD", "POST")),)))
    with pytest.raises(InvalidConfigError, match="AllowedMethods GET,HEAD,POST is not one of the three sets"):
        apply_fixes(cloudfront, dist_id, planner(dist_id, [bad]))
    assert emu.calls[UPDATE] == 0


# --------------------------------------------------------------------------------------------- concurrency


def test_412_race_keeps_the_persons_edit_and_lands_the_fix(emu, cloudfront, dist_id):
    """A person edits between our read and our write: 412, re-read, re-plan on their config, then apply."""
    edits = []

    def confirm(plan: Plan) -> bool:
        if not edits:
            edits.append(emu.human_edit(dist_id, lambda c: c.update(Comment="edited by a person")))
        return True

    sent = if_match_recorder(cloudfront)
    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]), confirm=confirm)

    assert (result.status, result.attempts) == ("applied", 2)
    assert sent[1] == edits[0]  # the second try used the ETag of the person's version
    after = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert after["Comment"] == "edited by a person"
    assert after["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert result.plan.base_config["Comment"] == "edited by a person"
    assert emu.calls[UPDATE] == 2


def test_412_race_where_the_person_already_fixed_it(emu, cloudfront, dist_id):
    def person_fixes(config: dict) -> None:
        config["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] = policies.ALL_VIEWER_EXCEPT_HOST_HEADER
        config["Comment"] = "fixed by hand"

    done = []

    def confirm(plan: Plan) -> bool:
        if not done:
            done.append(emu.human_edit(dist_id, person_fixes))
        return True

    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]), confirm=confirm)
    assert (result.status, result.attempts, result.etag) == ("nothing-to-do", 1, done[0])
    assert cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]["Comment"] == "fixed by hand"
    assert emu.calls[UPDATE] == 1


def test_repeated_412_gives_up_with_concurrent_edit_error(emu, cloudfront, dist_id):
    count = iter(range(100))

    def always_edited(plan: Plan) -> bool:
        emu.human_edit(dist_id, lambda c: c.update(Comment=f"person edit {next(count)}"))
        return True

    with pytest.raises(ConcurrentEditError, match="on each of 3 attempts"):
        apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]), confirm=always_edited,
                    max_attempts=3)
    assert emu.calls[UPDATE] == 3
    after = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert after["Comment"] == "person edit 2"
    assert after["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == policies.ALL_VIEWER


# --------------------------------------------------------------------------------------------- throttling


@pytest.fixture
def recorded_sleeps(monkeypatch) -> list[float]:
    """botocore's backoff sleeps, recorded instead of slept; jitter fixed at its maximum so growth is exact."""
    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    original_init = standard.ExponentialBackoff.__init__

    def no_jitter(self, *args, **kwargs):
        kwargs["random"] = lambda: 1.0
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(standard.ExponentialBackoff, "__init__", no_jitter)
    return sleeps


def test_throttling_is_retried_with_growing_backoff_then_succeeds(emu, recorded_sleeps):
    cloudfront = emu.clients(max_attempts=5).cloudfront()
    dist_id = cloudfront.create_distribution(DistributionConfig=start_config())["Distribution"]["Id"]
    emu.throttle("UpdateDistribution", 3)
    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]))
    assert result.status == "applied"
    assert recorded_sleeps == [1.0, 2.0, 4.0]
    assert emu.http_attempts[("cloudfront", "UpdateDistribution")] == 4
    assert api_orp(cloudfront, dist_id) == policies.ALL_VIEWER_EXCEPT_HOST_HEADER


def test_throttling_that_outlasts_the_retries_is_a_throttled_error(emu, recorded_sleeps):
    cloudfront = emu.clients(max_attempts=5).cloudfront()
    dist_id = cloudfront.create_distribution(DistributionConfig=start_config())["Distribution"]["Id"]
    emu.throttle("UpdateDistribution", 50)
    with pytest.raises(ThrottledError, match=f"throttling UpdateDistribution for distribution {dist_id} after "
                                             r"botocore's retries \(Rate exceeded\)"):
        apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]))
    # botocore's retries.max_attempts counts retries, not the first try: 5 retries, 6 HTTP attempts.
    assert recorded_sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert all(later > earlier for earlier, later in zip(recorded_sleeps, recorded_sleeps[1:]))
    assert emu.http_attempts[("cloudfront", "UpdateDistribution")] == 6
    assert api_orp(cloudfront, dist_id) == policies.ALL_VIEWER


# --------------------------------------------------------------------------------------------- verify, roll back


def test_verification_failure_rolls_back_to_the_exact_previous_config(emu, cloudfront, dist_id):
    before = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    seen: list[dict] = []

    def still_failing(config: dict, etag: str) -> list[Finding]:
        seen.append(copy.deepcopy(config))
        return [host_finding(dist_id)]

    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]), verify=still_failing)

    assert result.status == "rolled-back"
    assert result.message == ("the fix did not remove apigw-host-forwarded on /api/*; "
                              "the previous config was restored")
    assert seen[0]["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    after = cloudfront.get_distribution_config(Id=dist_id)
    assert after["DistributionConfig"] == before
    assert result.etag == after["ETag"]
    assert emu.calls[UPDATE] == 2


def test_rollback_never_overwrites_a_persons_edit(emu, cloudfront, dist_id):
    """The person edits after verification read the config: restoring 412s, their edit stays."""
    def still_failing_and_person_edits(config: dict, etag: str) -> list[Finding]:
        emu.human_edit(dist_id, lambda c: c.update(Comment="person edit during verification"))
        return [host_finding(dist_id)]

    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]),
                         verify=still_failing_and_person_edits)

    assert result.status == "failed"
    assert "edgemedic did not overwrite their change" in result.message
    after = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert after["Comment"] == "person edit during verification"
    assert after["CacheBehaviors"]["Items"][0]["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert emu.calls[UPDATE] == 2  # the fix, and the refused restore


def test_no_rollback_over_an_edit_made_right_after_the_fix(emu, cloudfront, dist_id):
    """A person edits between edgemedic's update and its verification read: nothing is restored over them."""
    edits: list[str] = []

    def person_edits_once(event_name: str, **_):
        if event_name.endswith(".UpdateDistribution") and not edits:
            edits.append(emu.human_edit(dist_id, lambda c: c.update(Comment="edited right after the fix")))

    # Same event level as the emulator's ETag hook, and after it, so the person's ETag is the newest.
    cloudfront.meta.events.register_last("after-call.cloudfront", person_edits_once)
    result = apply_fixes(cloudfront, dist_id, planner(dist_id, [host_finding(dist_id)]),
                         verify=lambda config, etag: [host_finding(dist_id)])

    assert (result.status, result.etag) == ("failed", edits[0])
    assert "did not roll back over their change" in result.message
    after = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert after["Comment"] == "edited right after the fix"
    assert emu.calls[UPDATE] == 1


# --------------------------------------------------------------------------------------------- errors


def test_missing_distribution_is_not_found(emu, cloudfront):
    with pytest.raises(NotFoundError, match="distribution EDOESNOTEXIST does not exist"):
        apply_fixes(cloudfront, "EDOESNOTEXIST", planner("EDOESNOTEXIST", []))


class _DeniedUpdates:
    """A CloudFront client whose reads work and whose UpdateDistribution is denied, as IAM answers it."""

    def __init__(self, real):
        self.real = real

    def get_distribution_config(self, **kwargs):
        return self.real.get_distribution_config(**kwargs)

    def update_distribution(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "User: arn:aws:sts::123456789012:assumed-"
                                     "role/edgemedic/x is not authorized to perform: cloudfront:UpdateDistribution"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, "UpdateDistribution")


def test_access_denied_names_the_permission(emu, cloudfront, dist_id):
    with pytest.raises(AccessError, match=f"cloudfront:UpdateDistribution on distribution {dist_id}"):
        apply_fixes(_DeniedUpdates(cloudfront), dist_id, planner(dist_id, [host_finding(dist_id)]))


def test_a_plan_not_built_on_the_config_read_is_refused(emu, cloudfront, dist_id):
    stale = plan_from_config(dist_id, start_config(), "EOLD", [host_finding(dist_id)])
    from edgemedic.errors import EdgemedicError
    with pytest.raises(EdgemedicError, match="was not built on the config just read"):
        apply_fixes(cloudfront, dist_id, lambda config, etag: stale)
    assert emu.calls[UPDATE] == 0


# --------------------------------------------------------------------------------------------- why validation matters


@pytest.mark.parametrize("case, mutate, expected", INVALID, ids=[c[0] for c in INVALID])
def test_moto_accepts_what_validate_rejects(case, mutate, expected):
    """Plain moto (no emulator) stores these configs, so only validate_config stands between a plan and AWS."""
    from moto import mock_aws

    with mock_aws():
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        created = cloudfront.create_distribution(DistributionConfig=valid_config())["Distribution"]
        config = invalid_config(mutate)
        cloudfront.update_distribution(Id=created["Id"], IfMatch="any", DistributionConfig=config)


def test_result_shape():
    result = ApplyResult("E1", "applied", None, 1, "E2", "ok")
    assert (result.distribution_id, result.status, result.attempts, result.etag) == ("E1", "applied", 1, "E2")


class _ReordersMethods:
    """CloudFront as AWS answers it: GetDistributionConfig returns AllowedMethods/CachedMethods Items in its own
    order, not the order sent (hashicorp/terraform#7395 made them sets for this), so the read-back config differs
    from the one sent only in list order."""

    def __init__(self, real):
        self.real = real

    def get_distribution_config(self, **kwargs):
        answer = self.real.get_distribution_config(**kwargs)
        config = answer["DistributionConfig"]
        for b in [config["DefaultCacheBehavior"], *(config["CacheBehaviors"].get("Items") or [])]:
            allowed = b["AllowedMethods"]
            allowed["Items"] = sorted(allowed["Items"], reverse=True)
            allowed["CachedMethods"]["Items"] = sorted(allowed["CachedMethods"]["Items"], reverse=True)
        return answer

    def update_distribution(self, **kwargs):
        return self.real.update_distribution(**kwargs)


def test_rollback_when_aws_reads_back_allowed_methods_in_another_order(emu, cloudfront, dist_id):
    """Nobody else edited (same ETag): a list-order difference must not be taken for a person's edit."""
    before = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    methods = Finding("apigw-methods-blocked", Severity.HIGH, dist_id, "/api/*", "api", "POST blocked",
                      "403", Fix(FixClass.AUTO, "all seven", (SetAllowedMethods(
                          "/api/*", ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")),)))

    result = apply_fixes(_ReordersMethods(cloudfront), dist_id, planner(dist_id, [methods]),
                         verify=lambda config, etag: [methods])

    assert result.status == "rolled-back"
    after = cloudfront.get_distribution_config(Id=dist_id)
    assert after["DistributionConfig"]["CacheBehaviors"]["Items"][0]["AllowedMethods"] == \
        before["CacheBehaviors"]["Items"][0]["AllowedMethods"]
    assert result.etag == after["ETag"]
    assert emu.calls[UPDATE] == 2
