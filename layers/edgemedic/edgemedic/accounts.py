"""Many accounts: which ones (``--account`` or the organization's ACTIVE ones), how to reach each (AssumeRole into
``arn:PARTITION:iam::ID:role/NAME``), and a bounded pool that works on them in parallel.

An account whose role cannot be assumed, or whose work fails, is one :class:`Outcome` with an ``error``; the
others go on. Example::

    targets = accounts.targets(clients, account_ids=["111122223333"], role_name="edgemedic-read")
    for outcome in accounts.fan_out(clients, targets, lambda target, member: collect(member), pool=8):
        print(outcome.account.id, outcome.error or outcome.value)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generic, Sequence, TextIO, TypeVar

from .errors import EdgemedicError

if TYPE_CHECKING:
    from .aws import Clients

T = TypeVar("T")

ACCOUNT_ID = re.compile(r"^\d{12}$")
# IAM role names ([\w+=,.@-], 1-64), optionally under a path ("/team/" -> "team/name").
ROLE_NAME = re.compile(r"^(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
# AssumeRole's ExternalId: 2-1224 characters of [\w+=,.@:/-].
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
DEFAULT_POOL = 8
SESSION_NAME = "edgemedic"


class AccountError(EdgemedicError):
    """An account could not be reached or listed."""


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str = ""  # the organization's name for it, when it was listed from Organizations

    @property
    def label(self) -> str:
        """``111122223333 (prod)``, or the bare id."""
        return f"{self.id} ({self.name})" if self.name else self.id


@dataclass(frozen=True, slots=True)
class Target:
    account: Account
    role_arn: str


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    target: Target
    value: T | None = None
    error: str | None = None  # one line: what failed in this account
    clients: "Clients | None" = None  # the account's clients (None when the role could not be assumed)

    @property
    def account(self) -> Account:
        return self.target.account


def check_options(account_ids: Sequence[str], org: bool, role_name: str | None, external_id: str | None) -> None:
    """Raise ``ValueError`` (said to the user as a usage error) for options that do not fit together."""
    if account_ids and org:
        raise ValueError("--account and --org name the accounts in two ways: pass one of them")
    if (account_ids or org) and not role_name:
        raise ValueError("--account and --org need --role-name, the role edgemedic assumes in each account")
    if role_name and not (account_ids or org):
        raise ValueError("--role-name needs --account ID or --org")
    if external_id is not None and not role_name:
        raise ValueError("--external-id needs --role-name")
    for account_id in account_ids:
        if not ACCOUNT_ID.match(account_id):
            raise ValueError(f"--account {account_id!r} is not an AWS account id (12 digits)")
    if role_name and not ROLE_NAME.match(role_name):
        raise ValueError(f"--role-name {role_name!r} is not an IAM role name (letters, digits and +=,.@_-)")
    if external_id is not None and not EXTERNAL_ID.match(external_id):
        raise ValueError("--external-id must be 2 to 1224 characters of letters, digits and +=,.@:/_-")


def caller_partition(clients: "Clients") -> str:
    """The partition of the credentials in use (``aws``, ``aws-cn``, ``aws-us-gov``), from GetCallerIdentity."""
    arn = clients.client("sts").get_caller_identity()["Arn"]
    return arn.split(":")[1]


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def organization_accounts(clients: "Clients") -> list[Account]:
    """The organization's ACTIVE accounts (Organizations ListAccounts; needs the management account or a delegated
    administrator). ``State`` is read where AWS returns it, else the older ``Status``."""
    from botocore.exceptions import ClientError

    organizations = clients.client("organizations")
    found: list[Account] = []
    try:
        for page in organizations.get_paginator("list_accounts").paginate():
            for entry in page.get("Accounts", []):
                if (entry.get("State") or entry.get("Status")) == "ACTIVE":
                    found.append(Account(entry["Id"], entry.get("Name", "")))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AccountError(
            f"cannot list the organization's accounts ({error.get('Code')}: {error.get('Message')}): --org needs "
            "the management account or a delegated administrator with organizations:ListAccounts; "
            "or name the accounts with --account") from exc
    return found


def targets(clients: "Clients", *, account_ids: Sequence[str] = (), org: bool = False,
            role_name: str) -> list[Target]:
    """The accounts to work on, each with the role ARN to assume there (in the caller's partition)."""
    partition = caller_partition(clients)
    accounts = organization_accounts(clients) if org else [Account(i) for i in dict.fromkeys(account_ids)]
    if org and not accounts:
        raise AccountError("the organization lists no ACTIVE account")
    return [Target(account, role_arn(partition, account.id, role_name)) for account in accounts]


def assume(clients: "Clients", target: Target, *, external_id: str | None = None, sts: Any = None,
           session_name: str = SESSION_NAME) -> "Clients":
    """Clients in ``target``'s account; :class:`AccountError` (one line) when its role cannot be assumed."""
    from botocore.exceptions import BotoCoreError, ClientError

    sts = sts or clients.client("sts")
    params: dict[str, Any] = {"RoleArn": target.role_arn, "RoleSessionName": session_name}
    if external_id is not None:
        params["ExternalId"] = external_id
    try:
        credentials = sts.assume_role(**params)["Credentials"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AccountError(f"cannot assume {target.role_arn} ({error.get('Code')}: {error.get('Message')}); "
                           "check that the role exists there and trusts this identity"
                           + (" with this external id" if external_id else "")) from exc
    except BotoCoreError as exc:
        raise AccountError(f"cannot assume {target.role_arn}: {exc}") from exc
    return clients.for_credentials(credentials)


def alias(member: "Clients") -> str:
    """The account's alias (IAM ListAccountAliases), or "" when it has none or it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aliases = member.client("iam").list_account_aliases().get("AccountAliases") or []
    except (ClientError, BotoCoreError):
        return ""
    return aliases[0] if aliases else ""


def fan_out(clients: "Clients", work_targets: Sequence[Target], work: Callable[[Target, "Clients"], T], *,
            external_id: str | None = None, pool: int = DEFAULT_POOL,
            on_done: Callable[[Outcome[T]], None] | None = None, aliases: bool = False) -> list[Outcome[T]]:
    """Assume the role in each account and run ``work(target, member_clients)``, at most ``pool`` at a time.

    Outcomes come back in the order of ``work_targets``. An error in one account (role, AWS, or edgemedic) is
    that account's outcome; credentials and programming errors of the caller's own identity still surface there
    too, so nothing stops the others. ``aliases``: an account without a name gets its alias where readable."""
    from botocore.exceptions import BotoCoreError, ClientError

    sts = clients.client("sts")  # created once here: creating clients is not thread-safe, calling them is

    def one(target: Target) -> Outcome[T]:
        try:
            member = assume(clients, target, external_id=external_id, sts=sts)
        except AccountError as exc:
            outcome: Outcome[T] = Outcome(target, error=str(exc))
        else:
            if aliases and not target.account.name:
                target = Target(Account(target.account.id, alias(member)), target.role_arn)
            try:
                outcome = Outcome(target, value=work(target, member), clients=member)
            except (EdgemedicError, ClientError, BotoCoreError) as exc:
                outcome = Outcome(target, error=_describe(exc), clients=member)
        if on_done is not None:
            on_done(outcome)
        return outcome

    if not work_targets:
        return []
    from concurrent.futures import ThreadPoolExecutor  # imported when used: the CLI's start-up stays small

    with ThreadPoolExecutor(max_workers=max(1, min(pool, len(work_targets))),
                            thread_name_prefix="edgemedic-account") as executor:
        return list(executor.map(one, work_targets))


def _describe(exc: BaseException) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"AWS answered {error.get('Code')} to {exc.operation_name}: {error.get('Message')}"
    return " ".join(str(exc).split()) or type(exc).__name__


class Progress:
    """``accounts 3/50 done, 61 distributions read`` on one terminal line; nothing when ``stream`` is no TTY."""

    def __init__(self, stream: TextIO, total: int):
        import threading

        self.stream = stream
        self.total = total
        self.done = 0
        self.distributions = 0
        self.failed = 0
        self._lock = threading.Lock()
        try:
            self.enabled = bool(stream.isatty())
        except (AttributeError, ValueError):
            self.enabled = False

    def advance(self, distributions: int = 0, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.distributions += distributions
            self.failed += int(failed)
            if self.enabled:
                failed_text = f", {self.failed} not reachable" if self.failed else ""
                self.stream.write(f"\raccounts {self.done}/{self.total} done, {self.distributions} distributions "
                                  f"read{failed_text}\x1b[K")
                self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
