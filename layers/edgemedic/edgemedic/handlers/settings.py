"""The functions' settings: read once from the environment the template sets, typed, validated.

    settings = Settings.from_environ(os.environ)
    settings.mode_for(finding)        # Mode.AUTO / APPROVE / NOTIFY / OFF
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Mapping

from ..findings import Finding, FixClass
from .exceptions import SettingsError


class Mode(StrEnum):
    """What edgemedic does with a finding. Ordered: a mode never exceeds what its fix class allows."""

    AUTO = "auto"  # apply the fix, verify, roll back on failure
    APPROVE = "approve"  # store the plan as pending and ask a person
    NOTIFY = "notify"  # only tell
    OFF = "off"  # record in the audit log, nothing else

    @property
    def rank(self) -> int:
        return {"auto": 3, "approve": 2, "notify": 1, "off": 0}[self.value]


# The most a fix class may do: a manual fix is never applied, an approve fix never without a person.
CEILING = {FixClass.AUTO: Mode.AUTO, FixClass.APPROVE: Mode.APPROVE, FixClass.MANUAL: Mode.NOTIFY}


def _mode(name: str, value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a mode: use one of auto, approve, notify, off") from None


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no", ""}:
        return False
    raise SettingsError(f"{name}={value!r} is not a boolean: use true or false")


def _list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())


def _hours(name: str, value: str) -> float:
    try:
        hours = float(value.strip() or "24")
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a number of hours") from None
    if not 0 < hours <= 24 * 30:
        raise SettingsError(f"{name}={value!r}: give between 1 and 720 hours")
    return hours


def _days(name: str, value: str) -> int:
    try:
        days = int(value.strip() or "400")
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a whole number of days") from None
    if not 1 <= days <= 36500:
        raise SettingsError(f"{name}={value!r}: give between 1 and 36500 days")
    return days


def _ticket_backend(env: Mapping[str, str]) -> str:
    backend = env.get("TICKET_BACKEND", "none").strip().lower() or "none"
    if backend not in {"none", "github", "jira"}:
        raise SettingsError(f"TICKET_BACKEND={backend!r}: use none, github or jira")
    if backend != "none" and not (env.get("TICKET_TARGET", "").strip() and env.get("TICKET_SECRET_ARN", "").strip()):
        raise SettingsError(f"TICKET_BACKEND={backend} needs TICKET_TARGET and TICKET_SECRET_ARN "
                            "(the TicketTarget and TicketSecretArn stack parameters)")
    return backend


def _rule_modes(value: str) -> dict[str, Mode]:
    """``"apigw-response-cached=notify, behavior-shadowed=off"`` -> {rule id: mode}."""
    modes: dict[str, Mode] = {}
    for item in _list(value):
        rule, sep, mode = item.partition("=")
        if not sep or not rule.strip():
            raise SettingsError(f"RULE_MODES entry {item!r} is not RULE_ID=MODE")
        modes[rule.strip()] = _mode(f"RULE_MODES[{rule.strip()}]", mode)
    return modes


def _organization(env: Mapping[str, str]) -> dict[str, str]:
    organization_id = env.get("ORGANIZATION_ID", "").strip()
    external_id = env.get("EXTERNAL_ID", "").strip()
    hub_account = env.get("HUB_ACCOUNT_ID", "").strip()
    if organization_id:
        if not organization_id.startswith("o-"):
            raise SettingsError(f"ORGANIZATION_ID={organization_id!r} is not an organization id (o-...)")
        if not external_id:
            raise SettingsError("ORGANIZATION_ID needs EXTERNAL_ID, the external id the member roles require "
                                "(the ExternalId stack parameter)")
        if not hub_account:
            raise SettingsError("ORGANIZATION_ID needs HUB_ACCOUNT_ID, the stack's own account")
    return {"organization_id": organization_id, "external_id": external_id, "hub_account": hub_account,
            "partition": env.get("PARTITION", "").strip() or "aws",
            "member_read_role": env.get("MEMBER_READ_ROLE", "").strip() or "edgemedic-read",
            "member_apply_role": env.get("MEMBER_APPLY_ROLE", "").strip() or "edgemedic-apply"}


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    apply_queue_url: str = ""
    own_role_arns: tuple[str, ...] = ()  # the loop guard: changes made by these roles are ours
    class_modes: Mapping[FixClass, Mode] = field(
        default_factory=lambda: {FixClass.AUTO: Mode.AUTO, FixClass.APPROVE: Mode.APPROVE,
                                 FixClass.MANUAL: Mode.NOTIFY})
    rule_modes: Mapping[str, Mode] = field(default_factory=dict)
    dry_run: bool = False
    api_regions: tuple[str, ...] = ()  # regions the sweep reads APIs from; () = the regions origins name
    slack_secret_arn: str = ""
    ticket_secret_arn: str = ""
    slack_approvers: tuple[str, ...] = ()
    slack_api_url: str = "https://slack.com/api/"  # GovSlack: https://slack-gov.com/api/
    approval_ttl_hours: float = 24.0
    ticket_backend: str = "none"  # none | github | jira
    ticket_target: str = ""  # owner/repo (or https://ghe.example.com/api/v3/owner/repo); https://acme.atlassian.net/OPS
    audit_ttl_days: int = 400  # AuditRetentionDays
    emergency_stop_parameter: str = ""  # SSM parameter read at each invocation: "true" stops every write
    apply_allow_list: tuple[str, ...] = ()  # distribution ids or tag:KEY=VALUE edgemedic may change; () = all

    # Organization mode (template.yaml OrganizationId): events of member accounts are read and fixed through the
    # roles of templates/org-member.yaml in the event's account. Empty organization_id = this account only.
    hub_account: str = ""  # the account the stack runs in
    partition: str = "aws"
    organization_id: str = ""
    external_id: str = ""
    member_read_role: str = "edgemedic-read"
    member_apply_role: str = "edgemedic-apply"
    security_hub_export: bool = False  # findings to Security Hub, in the account they belong to
    sweep_queue_url: str = ""  # organization hub: one message per member account to sweep
    sweep_accounts: tuple[str, ...] = ()  # the member accounts to sweep; () = the organization's ACTIVE ones
    region: str = "us-east-1"  # where the stack runs (Security Hub is regional)

    @property
    def own_accounts(self) -> frozenset[str]:
        """The accounts of edgemedic's own roles: the account whose events this deployment handles."""
        from .events import role_of

        return frozenset(role[0] for role in map(role_of, self.own_role_arns) if role)

    @property
    def organization(self) -> bool:
        return bool(self.organization_id)

    def is_member(self, account: str) -> bool:
        """A member account of the organization, not the hub's own. Without OrganizationId every event is the
        stack's own account's (only its own default bus delivers to it)."""
        return self.organization and bool(account) and account != self.hub_account

    @property
    def approval_ttl_seconds(self) -> int:
        return int(self.approval_ttl_hours * 3600)

    @property
    def tickets_enabled(self) -> bool:
        return self.ticket_backend != "none"

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "Settings":
        table = env.get("TABLE_NAME", "").strip()
        if not table:
            raise SettingsError("TABLE_NAME is not set: the function needs the stack's DynamoDB table")
        return cls(
            table_name=table,
            apply_queue_url=env.get("APPLY_QUEUE_URL", "").strip(),
            own_role_arns=_list(env.get("OWN_ROLE_ARNS", "")),
            class_modes={
                FixClass.AUTO: _mode("MODE_AUTO_FIXES", env.get("MODE_AUTO_FIXES", "auto")),
                FixClass.APPROVE: _mode("MODE_APPROVE_FIXES", env.get("MODE_APPROVE_FIXES", "approve")),
                FixClass.MANUAL: _mode("MODE_MANUAL_FIXES", env.get("MODE_MANUAL_FIXES", "notify")),
            },
            rule_modes=_rule_modes(env.get("RULE_MODES", "")),
            dry_run=_bool("DRY_RUN", env.get("DRY_RUN", "false")),
            api_regions=_list(env.get("API_REGIONS", "")),
            slack_secret_arn=env.get("SLACK_SECRET_ARN", "").strip(),
            ticket_secret_arn=env.get("TICKET_SECRET_ARN", "").strip(),
            slack_approvers=_list(env.get("SLACK_APPROVERS", "")),
            slack_api_url=env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/",
            approval_ttl_hours=_hours("APPROVAL_TTL_HOURS", env.get("APPROVAL_TTL_HOURS", "24")),
            ticket_backend=_ticket_backend(env),
            ticket_target=env.get("TICKET_TARGET", "").strip(),
            audit_ttl_days=_days("AUDIT_RETENTION_DAYS", env.get("AUDIT_RETENTION_DAYS", "400")),
            emergency_stop_parameter=env.get("EMERGENCY_STOP_PARAMETER", "").strip(),
            apply_allow_list=_list(env.get("APPLY_ALLOW_LIST", "")),
            sweep_queue_url=env.get("SWEEP_QUEUE_URL", "").strip(),
            sweep_accounts=_list(env.get("SWEEP_ACCOUNTS", "")),
            security_hub_export=_bool("SECURITY_HUB_EXPORT", env.get("SECURITY_HUB_EXPORT", "false")),
            region=env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or "us-east-1",
            **_organization(env),
        )

    def mode_for(self, finding: Finding, cap: Mode = Mode.AUTO) -> Mode:
        """The rule's own mode if set, else its fix class's, capped by what the fix class allows and by ``cap``
        (the distribution's scope: its ``edgemedic:mode`` tag, the allow list, the emergency stop)."""
        fix_class = finding.fix.fix_class
        wanted = self.rule_modes.get(finding.rule, self.class_modes.get(fix_class, Mode.NOTIFY))
        ceiling = CEILING[fix_class]
        if fix_class is not FixClass.MANUAL and not finding.fix.changes:
            ceiling = Mode.NOTIFY  # nothing concrete to apply or approve
        return min(wanted, ceiling, cap, key=lambda mode: mode.rank)
