"""events/*.json (real-shaped EventBridge payloads, see events/README.md) -> parsed change,
loop guard and exact targets. The same files feed `sam local invoke -e` and the end-to-end tests."""
from __future__ import annotations

import json

import pytest

from pathlib import Path
from edgemedic.handlers.events import (
    APIGATEWAY_EVENTS,
    CLOUDFRONT_EVENTS,
    Targets,
    is_own_change,
    parse_change,
    targets_of,
)
from edgemedic.handlers.exceptions import MalformedEventError

EVENTS = Path(__file__).resolve().parents[2] / "events"
APPLY_ROLE = "arn:aws:iam::111122223333:role/edgemedic-ApplyFunctionRole-EXAMPLE"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.mark.parametrize(
    ("name", "operation", "actor", "targets"),
    [
        ("cloudfront-update-distribution.json", "UpdateDistribution", "arn:aws:iam::111122223333:role/Admin",
         Targets(distribution_ids=("EDFDVBD6EXAMPLE",))),
        ("cloudfront-update-distribution-versioned-name.json", "UpdateDistribution",
         "arn:aws:iam::111122223333:role/Admin", Targets(distribution_ids=("EDFDVBD6EXAMPLE",))),
        ("cloudfront-create-distribution.json", "CreateDistribution", "arn:aws:iam::111122223333:role/Admin",
         Targets(distribution_ids=("E2CREATEDEXAMPLE",))),
        ("cloudfront-update-cache-policy.json", "UpdateCachePolicy", "arn:aws:iam::111122223333:role/Admin",
         Targets(policies=("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",))),
        ("apigateway-put-method.json", "PutMethod", "arn:aws:iam::111122223333:role/Admin",
         Targets(apis=(("eu-west-1", "a1b2c3d4e5"),))),
        ("apigateway-delete-resource.json", "DeleteResource", "arn:aws:iam::111122223333:role/Admin",
         Targets(apis=(("eu-west-1", "a1b2c3d4e5"),))),
        ("apigateway-update-rest-api.json", "UpdateRestApi", "arn:aws:iam::111122223333:role/Admin",
         Targets(apis=(("eu-west-1", "a1b2c3d4e5"),))),
        ("apigateway-create-base-path-mapping.json", "CreateBasePathMapping", "arn:aws:iam::111122223333:role/Admin",
         Targets(apis=(("eu-west-1", "a1b2c3d4e5"),), domains=("api.example.com",))),
        ("apigatewayv2-update-route.json", "UpdateRoute", "arn:aws:iam::637423240666:user/dev",
         Targets(apis=(("ap-southeast-1", "pxzfkfmjo7"),))),
        ("apigatewayv2-create-stage.json", "CreateStage", "arn:aws:iam::637423240666:user/dev",
         Targets(apis=(("ap-southeast-1", "pxzfkfmjo7"),))),
        ("apigatewayv2-update-api.json", "UpdateApi", "arn:aws:iam::637423240666:user/dev",
         Targets(apis=(("ap-southeast-1", "pxzfkfmjo7"),))),
    ],
)
def test_event_files_parse_to_exact_targets(name: str, operation: str, actor: str, targets: Targets) -> None:
    change = parse_change(load(name))
    assert change.detail.operation == operation
    assert change.detail.actor == actor
    assert targets_of(change.detail) == targets
    assert not is_own_change(change.detail, (APPLY_ROLE,))


def test_every_event_family_has_a_file_and_is_in_the_rules() -> None:
    operations = {parse_change(load(p.name)).detail.operation for p in EVENTS.glob("*.json")
                  if not p.name.startswith("malformed")}
    assert {"UpdateDistribution", "CreateDistribution", "UpdateCachePolicy", "PutMethod", "DeleteResource",
            "UpdateRestApi", "CreateBasePathMapping", "UpdateRoute", "CreateStage", "UpdateApi"} <= operations
    for operation in operations:
        assert operation in APIGATEWAY_EVENTS or any(operation.startswith(p) for p in CLOUDFRONT_EVENTS)


def test_own_role_change_is_recognised_by_the_session_issuer() -> None:
    detail = parse_change(load("cloudfront-update-distribution-own-role.json")).detail
    assert detail.actor == APPLY_ROLE
    assert is_own_change(detail, (APPLY_ROLE,))
    assert not is_own_change(detail, ())
    assert not is_own_change(detail, ("arn:aws:iam::111122223333:role/Admin",))


def test_malformed_event_is_rejected_with_the_missing_field() -> None:
    with pytest.raises(MalformedEventError, match=r"detail\.eventID: Field required"):
        parse_change(load("malformed-missing-detail-fields.json"))


@pytest.mark.parametrize("raw", [None, [], "UpdateDistribution", {"detail-type": "Scheduled Event"}])
def test_non_events_are_rejected(raw: object) -> None:
    with pytest.raises(MalformedEventError):
        parse_change(raw)


@pytest.mark.parametrize(("path", "value", "message"), [
    (("time",), 1706901961, "time: Input should be a valid datetime"),
    (("time",), "yesterday", "time: Input should be a valid RFC 3339 datetime, not 'yesterday'"),
    (("detail", "readOnly"), "maybe", "detail.readOnly: Input should be a valid boolean"),
    (("detail", "userIdentity"), "root", "detail.userIdentity: Input should be a valid dictionary or instance of "
                                         "UserIdentity"),
    (("detail", "requestParameters"), ["id"], "detail.requestParameters: Input should be a valid dictionary"),
])
def test_bad_fields_are_named(path: tuple[str, ...], value: object, message: str) -> None:
    event = load("cloudfront-update-distribution.json")
    *parents, key = path
    target = event
    for parent in parents:
        target = target[parent]
    target[key] = value
    with pytest.raises(MalformedEventError) as caught:
        parse_change(event)
    assert str(caught.value) == (f"event {event['id']} is not an 'AWS API Call via CloudTrail' event edgemedic can "
                                 f"read: {message}")


def test_readonly_and_time_as_cloudtrail_and_eventbridge_send_them() -> None:
    event = load("cloudfront-update-distribution.json")
    event["time"], event["detail"]["readOnly"] = "2024-02-02T19:26:01Z", "false"
    assert parse_change(event).detail.eventID == event["detail"]["eventID"]


def test_a_scheduled_event_is_not_a_cloudtrail_change() -> None:
    event = load("cloudfront-update-distribution.json")
    event["detail-type"] = "Scheduled Event"
    with pytest.raises(MalformedEventError, match="detail-type"):
        parse_change(event)


def test_event_config_copy_is_never_a_target() -> None:
    """Only ids leave the event: the config evaluated is always read from the API (the event's is redacted)."""
    detail = parse_change(load("cloudfront-update-distribution.json")).detail
    assert detail.requestParameters["distributionConfig"]["comment"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert targets_of(detail) == Targets(distribution_ids=("EDFDVBD6EXAMPLE",))


def test_create_policy_points_at_nothing_yet() -> None:
    event = load("cloudfront-update-cache-policy.json")
    event["detail"]["eventName"] = "CreateCachePolicy"
    assert targets_of(parse_change(event).detail) == Targets(
        reason="CreateCachePolicy: a new policy is used by no distribution yet")
