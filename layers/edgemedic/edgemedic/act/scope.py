"""What edgemedic may do on one distribution: the one place every path asks (event, sweep, apply, approved plan,
CLI ``fix``), so the cap holds the same on all of them.

    scope = read_scope(cloudfront, dist.arn, allow_list=("E2QWRUHAPOMQZL", "tag:team=payments"), stopped=False)
    scope.cap            # Mode.APPROVE when the distribution is tagged edgemedic:mode=approve
    scope.allows(Mode.AUTO)

- the ``edgemedic:mode`` tag on the distribution: ``off`` | ``notify`` | ``approve`` | ``auto`` (no tag: no cap; any
  other value caps at ``notify``, never guessed upward);
- the optional allow list of distribution ids or ``tag:KEY=VALUE``: a distribution not on it is capped at
  ``notify``;
- the emergency stop: caps every distribution at ``notify``.

The template conditions ``cloudfront:UpdateDistribution`` on the same tag (``aws:ResourceTag/edgemedic:mode``), so
IAM holds the ``off`` / ``notify`` cap even if this code were wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..handlers.settings import Mode

TAG_KEY = "edgemedic:mode"
TAG_ACTIONS = ("cloudfront:ListTagsForResource",)


@dataclass(frozen=True, slots=True)
class Scope:
    cap: Mode = Mode.AUTO
    reason: str = ""  # why capped; "" when not

    def allows(self, mode: Mode) -> bool:
        return mode.rank <= self.cap.rank


def scope_of(distribution_id: str, tags: Mapping[str, str], *, allow_list: Sequence[str] = (),
             stopped: bool = False) -> Scope:
    """The cap from the tags already read (pure: the tests and every path share it)."""
    if stopped:
        return Scope(Mode.NOTIFY, "edgemedic's emergency stop is on: nothing is changed anywhere")
    if allow_list and not any(_listed(entry, distribution_id, tags) for entry in allow_list):
        return Scope(Mode.NOTIFY, f"{distribution_id} is not on the apply allow list")
    value = tags.get(TAG_KEY)
    if value is None:
        return Scope()
    try:
        mode = Mode(value.strip().lower())
    except ValueError:
        return Scope(Mode.NOTIFY, f"tag {TAG_KEY}={value!r} is not off, notify, approve or auto: treated as notify")
    return Scope(mode, f"tag {TAG_KEY}={mode.value}" if mode is not Mode.AUTO else "")


def _listed(entry: str, distribution_id: str, tags: Mapping[str, str]) -> bool:
    if entry.startswith("tag:"):
        key, _, value = entry[4:].partition("=")
        return tags.get(key) == value
    return entry == distribution_id


def read_tags(cloudfront: Any, arn: str) -> dict[str, str]:
    """The distribution's tags. Raises ``ReadFailedError`` when CloudFront does not answer: a cap that could not be
    read is never taken as "no cap"."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..handlers.exceptions import ReadFailedError

    try:
        items = cloudfront.list_tags_for_resource(Resource=arn)["Tags"].get("Items") or []
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        raise ReadFailedError(f"the tags of {arn} could not be read ({code}): edgemedic does not act on a "
                              "distribution whose edgemedic:mode tag it cannot read (grant "
                              "cloudfront:ListTagsForResource)") from exc
    return {item["Key"]: item.get("Value", "") for item in items}


def read_scope(cloudfront: Any, arn: str, *, allow_list: Sequence[str] = (), stopped: bool = False) -> Scope:
    if stopped:  # nothing to read: the stop caps everything
        return scope_of(arn, {}, stopped=True)
    return scope_of(arn.rsplit("/", 1)[-1], read_tags(cloudfront, arn), allow_list=allow_list)
