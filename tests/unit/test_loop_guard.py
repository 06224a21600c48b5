"""The loop guard recognises edgemedic's apply role in every form CloudTrail names it (issue #8, item 5): an
assumed-role session ARN with any session name, a sessionIssuer ARN with an IAM path, the aws, aws-cn and aws-us-gov
partitions; by (account, role name), never by whole-string equality. Another account's role of the same name and a
role whose name merely starts the same are not ours."""
from __future__ import annotations

import pytest

from edgemedic.handlers.events import CloudTrailDetail, is_own_change, role_of

OWN = ("arn:aws:iam::111122223333:role/edgemedic-ApplyFunctionRole-EXAMPLE",)


def detail(arn: str | None = None, issuer: str | None = None, account: str = "111122223333",
           user_name: str | None = None) -> CloudTrailDetail:
    identity: dict = {"type": "AssumedRole", "accountId": account}
    if arn:
        identity["arn"] = arn
    if issuer or user_name:
        identity["sessionContext"] = {"sessionIssuer": {"type": "Role", "arn": issuer, "accountId": account,
                                                        "userName": user_name}}
    return CloudTrailDetail({"eventID": "e", "eventName": "UpdateDistribution", "eventSource": "x",
                             "awsRegion": "us-east-1", "userIdentity": identity})


@pytest.mark.parametrize(("own", "event"), [
    (OWN, detail("arn:aws:sts::111122223333:assumed-role/edgemedic-ApplyFunctionRole-EXAMPLE/awslambda_123")),
    (OWN, detail("arn:aws:sts::111122223333:assumed-role/edgemedic-ApplyFunctionRole-EXAMPLE/another-session")),
    (OWN, detail(issuer="arn:aws:iam::111122223333:role/service-role/edgemedic-ApplyFunctionRole-EXAMPLE")),
    (("arn:aws:iam::111122223333:role/edgemedic/edgemedic-ApplyFunctionRole-EXAMPLE",),
     detail("arn:aws:sts::111122223333:assumed-role/edgemedic-ApplyFunctionRole-EXAMPLE/s")),
    (("arn:aws-cn:iam::111122223333:role/edgemedic-Apply",),
     detail("arn:aws-cn:sts::111122223333:assumed-role/edgemedic-Apply/s")),
    (("arn:aws-us-gov:iam::111122223333:role/edgemedic-Apply",),
     detail(issuer="arn:aws-us-gov:iam::111122223333:role/ops/edgemedic-Apply")),
    (OWN, detail(user_name="edgemedic-ApplyFunctionRole-EXAMPLE")),  # issuer without an ARN: name + account
], ids=["session", "other-session-name", "issuer-with-path", "own-role-with-path", "aws-cn", "aws-us-gov",
        "issuer-user-name"])
def test_every_form_of_our_own_role_is_recognised(own: tuple[str, ...], event: CloudTrailDetail) -> None:
    assert is_own_change(event, own) is True


@pytest.mark.parametrize("event", [
    detail("arn:aws:sts::444455556666:assumed-role/edgemedic-ApplyFunctionRole-EXAMPLE/s", account="444455556666"),
    detail("arn:aws:sts::111122223333:assumed-role/edgemedic-ApplyFunctionRole-EXAMPLE2/s"),
    detail("arn:aws:sts::111122223333:assumed-role/Admin/edgemedic-ApplyFunctionRole-EXAMPLE"),
    detail("arn:aws:iam::111122223333:user/edgemedic-ApplyFunctionRole-EXAMPLE"),
    detail(None),
], ids=["other-account", "longer-name", "session-named-like-us", "iam-user-of-that-name", "no-identity"])
def test_others_are_not_taken_for_us(event: CloudTrailDetail) -> None:
    assert is_own_change(event, OWN) is False


def test_role_of_reads_role_and_session_arns() -> None:
    assert role_of("arn:aws:iam::111122223333:role/a/b/Name") == ("111122223333", "Name")
    assert role_of("arn:aws:sts::111122223333:assumed-role/Name/session@example.com") == ("111122223333", "Name")
    assert role_of("arn:aws:iam::111122223333:user/Name") is None
    assert role_of("") is None and role_of(None) is None
