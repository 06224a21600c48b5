"""Tickets: one open ticket per (distribution, rule), commented on when the finding comes back, closed when fixed.

    backend = GitHubIssues("acme/platform", token=SecretValue("edgemedic/github-token"))
    ticket = backend.open_or_comment(TicketKey("E1A2B3", "apigw-host-forwarded"), ticket_content(alert, finding))
    backend.resolve(TicketKey("E1A2B3", "apigw-host-forwarded"), "Fixed by edgemedic: ...")

Two backends people use: GitHub Issues (REST, a fine-grained token with Issues read/write) and Jira Cloud (REST v3,
an Atlassian account e-mail + API token). Tokens come from Secrets Manager at call time through Powertools'
parameters (cached briefly, never logged). HTTP is the standard library's: 429, 5xx and GitHub's secondary rate
limit (403 + Retry-After) are retried, honouring Retry-After.
"""
from __future__ import annotations

import base64
import json
import logging
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

from ..findings import Finding
from .alert import Alert
from .exceptions import TicketError

logger = logging.getLogger(__name__)

GITHUB_API = "https://api.github.com"
LABEL = "edgemedic"
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class TicketKey:
    distribution_id: str
    rule: str

    @property
    def marker(self) -> str:
        """Written into the ticket so edgemedic finds it again; stable across versions."""
        return f"edgemedic-key: {self.distribution_id}/{self.rule}"

    @property
    def label(self) -> str:
        """A Jira label (no spaces allowed) naming the key."""
        return f"edgemedic-{self.distribution_id}-{self.rule}"


@dataclass(frozen=True, slots=True)
class Ticket:
    key: str  # "42" (GitHub issue number) or "OPS-17" (Jira)
    url: str
    created: bool = False  # True when this call opened it, False when it commented on an open one


@dataclass(frozen=True, slots=True)
class TicketContent:
    title: str
    text: str  # plain paragraphs
    code: str = ""  # the full proposed diff, shown as code


class TicketBackend(Protocol):
    def find_open(self, key: TicketKey) -> Ticket | None: ...

    def open_or_comment(self, key: TicketKey, content: TicketContent) -> Ticket: ...

    def resolve(self, key: TicketKey, comment: str) -> Ticket | None:
        """Comment and close the open ticket; None when there is none."""
        ...


# --------------------------------------------------------------------------------------------- secrets


@dataclass(frozen=True)
class SecretValue:
    """A Secrets Manager secret read at call time through Powertools (``max_age`` seconds of caching).

    ``provider`` is a ``powertools.utilities.parameters.SecretsProvider`` (tests pass one with their own client);
    ``field`` picks a key of a JSON secret.
    """

    name: str
    field: str | None = None
    provider: Any = None
    max_age: int = 300

    def __call__(self) -> str:
        from aws_lambda_powertools.utilities import parameters  # the Lambda extra; only needed when called

        transform = "json" if self.field else None
        if self.provider is not None:
            value = self.provider.get(self.name, max_age=self.max_age, transform=transform)
        else:
            value = parameters.get_secret(self.name, max_age=self.max_age, transform=transform)
        return value[self.field] if self.field else value

    def __repr__(self) -> str:
        return f"SecretValue({self.name!r})"


Token = str | Callable[[], str]


def _reveal(token: Token) -> str:
    return token() if callable(token) else token


# --------------------------------------------------------------------------------------------- HTTP


@dataclass
class _Http:
    name: str
    base_url: str
    headers: Callable[[], dict[str, str]]
    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    _ssl: ssl.SSLContext | None = field(default=None, repr=False)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            import certifi  # a dependency already; Lambda's image may lack an up-to-date CA bundle

            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    def request(self, method: str, path: str, body: Mapping | None = None, *, what: str) -> tuple[Any, dict]:
        """JSON in, (JSON out, headers); raises ``TicketError`` once retries are spent."""
        url = self.base_url.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(1, self.attempts + 1):
            headers = {"Accept": "application/json", "User-Agent": "edgemedic/0.1", **self.headers()}
            if data is not None:
                headers["Content-Type"] = "application/json"
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                context = self._context() if url.startswith("https:") else None
                with urllib.request.urlopen(req, timeout=self.timeout, context=context) as resp:
                    raw = resp.read()
                    return (json.loads(raw) if raw else None), dict(resp.headers)
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode(errors="replace")
                retry_after = exc.headers.get("Retry-After")
                retryable = exc.code == 429 or exc.code >= 500 or (exc.code == 403 and retry_after is not None)
                if not retryable or attempt == self.attempts:
                    raise TicketError(self.name, what, exc.code, detail) from None
                delay = _retry_after(retry_after) if retry_after else self.backoff * 2 ** (attempt - 1)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.attempts:
                    raise TicketError(self.name, what, None, type(exc).__name__) from None
                delay = self.backoff * 2 ** (attempt - 1)
            logger.info("%s: %s answered retryably, retrying in %.1fs (attempt %d)", self.name, what, delay, attempt)
            self.sleep(delay)
        raise AssertionError("unreachable")


def _retry_after(value: str) -> float:
    try:
        return min(float(value), MAX_RETRY_AFTER)
    except ValueError:  # an HTTP date: rare; a short wait is as good
        return 1.0


# --------------------------------------------------------------------------------------------- content


def ticket_content(alert: Alert, findings: Sequence[Finding] | None = None) -> TicketContent:
    """Title, findings with their evidence, and the full proposed diff or the manual change to make."""
    dist = alert.distribution
    findings = list(findings if findings is not None else alert.findings)
    rules = sorted({f.rule for f in findings})
    where = f" in account {alert.account}" if alert.account else ""
    title = f"edgemedic: {', '.join(rules)} on CloudFront {dist.id}{where}"
    lines = [f"Distribution {dist.id}{where} ({', '.join(dist.aliases) or dist.domain_name or 'no aliases'}): "
             f"{dist.console_url}"]
    if alert.trigger:
        t = alert.trigger
        lines.append(f"Triggered by {t.actor} ({t.event}) at {t.at.isoformat()}.")
    for f in findings:
        lines += ["", f"[{f.severity}] {f.rule}: {f.message}",
                  f"Behavior: {f.behavior or '-'}  Origin: {f.origin or '-'}",
                  f"What users see: {f.symptom}",
                  f"Fix ({f.fix.fix_class}): {f.fix.summary}"]
        lines += [f"Evidence: {e}" for e in f.evidence]
        lines += [f"Note: {n}" for n in f.notes]
        if f.fix.ticket:
            lines += ["Change to make:", f.fix.ticket]
    code = ""
    if alert.has_plan:
        lines += ["", "Proposed change:"] + [f"- {s}" for s in alert.summary]
        code = alert.diff
    return TicketContent(title=title, text="\n".join(lines), code=code)


# --------------------------------------------------------------------------------------------- GitHub


@dataclass
class GitHubIssues:
    """GitHub Issues: the ticket carries label ``edgemedic`` and a hidden key marker in its body.

    Found again by listing open issues with the label (exact and immediate; the search API lags behind writes).
    """

    repo: str  # owner/name
    token: Token
    api_url: str = GITHUB_API
    attempts: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._http = _Http("GitHub", self.api_url, self._headers, self.attempts, self.backoff, sleep=self.sleep)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {_reveal(self.token)}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28"}

    def find_open(self, key: TicketKey) -> Ticket | None:
        marker = f"<!-- {key.marker} -->"
        page = 1
        while True:
            query = urllib.parse.urlencode({"labels": LABEL, "state": "open", "per_page": 100, "page": page})
            issues, headers = self._http.request("GET", f"/repos/{self.repo}/issues?{query}", what="list issues")
            for issue in issues or ():
                if "pull_request" not in issue and marker in (issue.get("body") or ""):
                    return Ticket(str(issue["number"]), issue["html_url"])
            if 'rel="next"' not in headers.get("Link", ""):
                return None
            page += 1

    def open_or_comment(self, key: TicketKey, content: TicketContent) -> Ticket:
        body = _markdown(content)
        found = self.find_open(key)
        if found:
            self._http.request("POST", f"/repos/{self.repo}/issues/{found.key}/comments",
                               {"body": "Seen again.\n\n" + body}, what=f"comment on issue {found.key}")
            return found
        issue, _ = self._http.request(
            "POST", f"/repos/{self.repo}/issues",
            {"title": content.title, "body": f"{body}\n\n<!-- {key.marker} -->", "labels": [LABEL]},
            what="create issue")
        return Ticket(str(issue["number"]), issue["html_url"], created=True)

    def resolve(self, key: TicketKey, comment: str) -> Ticket | None:
        found = self.find_open(key)
        if not found:
            return None
        self._http.request("POST", f"/repos/{self.repo}/issues/{found.key}/comments", {"body": comment},
                           what=f"comment on issue {found.key}")
        self._http.request("PATCH", f"/repos/{self.repo}/issues/{found.key}",
                           {"state": "closed", "state_reason": "completed"}, what=f"close issue {found.key}")
        return found


def _markdown(content: TicketContent) -> str:
    text = content.text
    if content.code:
        fence = "````" if "```" in content.code else "```"
        text += f"\n\n{fence}diff\n{content.code}\n{fence}"
    return text


# --------------------------------------------------------------------------------------------- Jira Cloud


@dataclass
class JiraCloud:
    """Jira Cloud (REST v3): label ``edgemedic-<distribution>-<rule>``; closed through a transition to a status of
    the Done category (workflows name their statuses freely; the category is fixed)."""

    site_url: str  # https://acme.atlassian.net
    project: str  # project key, e.g. OPS
    email: Token
    token: Token
    issue_type: str = "Task"
    attempts: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._http = _Http("Jira", self.site_url, self._headers, self.attempts, self.backoff, sleep=self.sleep)

    def _headers(self) -> dict[str, str]:
        basic = base64.b64encode(f"{_reveal(self.email)}:{_reveal(self.token)}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}

    def _url(self, issue_key: str) -> str:
        return f"{self.site_url.rstrip('/')}/browse/{issue_key}"

    def find_open(self, key: TicketKey) -> Ticket | None:
        jql = (f'project = "{self.project}" AND labels = "{key.label}" AND statusCategory != Done '
               f"ORDER BY created ASC")
        found, _ = self._http.request("POST", "/rest/api/3/search/jql",
                                      {"jql": jql, "fields": ["summary", "status"], "maxResults": 1},
                                      what="search issues")
        issues = (found or {}).get("issues") or []
        return Ticket(issues[0]["key"], self._url(issues[0]["key"])) if issues else None

    def open_or_comment(self, key: TicketKey, content: TicketContent) -> Ticket:
        found = self.find_open(key)
        if found:
            self._http.request("POST", f"/rest/api/3/issue/{found.key}/comment",
                               {"body": _adf("Seen again.\n\n" + content.text, content.code)},
                               what=f"comment on {found.key}")
            return found
        created, _ = self._http.request("POST", "/rest/api/3/issue", {"fields": {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": content.title[:255],
            "labels": [LABEL, key.label],
            "description": _adf(content.text, content.code),
        }}, what="create issue")
        return Ticket(created["key"], self._url(created["key"]), created=True)

    def resolve(self, key: TicketKey, comment: str) -> Ticket | None:
        found = self.find_open(key)
        if not found:
            return None
        self._http.request("POST", f"/rest/api/3/issue/{found.key}/comment", {"body": _adf(comment)},
                           what=f"comment on {found.key}")
        transitions, _ = self._http.request("GET", f"/rest/api/3/issue/{found.key}/transitions",
                                            what=f"list transitions of {found.key}")
        done = [t for t in (transitions or {}).get("transitions", ())
                if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == "done"]
        if not done:
            raise TicketError("Jira", f"close {found.key}", None,
                              "no transition to a Done status is available to this user")
        self._http.request("POST", f"/rest/api/3/issue/{found.key}/transitions",
                           {"transition": {"id": done[0]["id"]}}, what=f"close {found.key}")
        return found


def _adf(text: str, code: str = "") -> dict:
    """Atlassian Document Format (REST v3 takes no plain text): one paragraph per block of lines, code as code."""
    content: list[dict] = []
    for para in text.split("\n\n"):
        if para.strip():
            nodes: list[dict] = []
            for i, line in enumerate(para.split("\n")):
                if i:
                    nodes.append({"type": "hardBreak"})
                if line:
                    nodes.append({"type": "text", "text": line})
            content.append({"type": "paragraph", "content": nodes})
    if code:
        content.append({"type": "codeBlock", "attrs": {"language": "diff"},
                        "content": [{"type": "text", "text": code}]})
    return {"type": "doc", "version": 1, "content": content}


def backend_from_settings(kind: str, *, target: str, token: Token, email: Token | None = None,
                          api_url: str | None = None) -> TicketBackend:
    """``kind`` is ``github`` (target ``owner/repo``, or ``https://<host>/api/v3/owner/repo`` for GitHub Enterprise
    Server) or ``jira`` (target ``https://<site>.atlassian.net/<PROJECT>``)."""
    if kind == "github":
        if target.startswith(("https://", "http://")):
            base, owner, repo = target.rstrip("/").rsplit("/", 2)
            return GitHubIssues(f"{owner}/{repo}", token, api_url=base)
        if target.count("/") != 1:
            raise ValueError(f"github ticket target {target!r} is not owner/repo")
        return GitHubIssues(target, token, api_url=api_url or GITHUB_API)
    if kind == "jira":
        site, _, project = target.rstrip("/").rpartition("/")
        if not site or not project or email is None:
            raise ValueError("jira needs target https://<site>.atlassian.net/<PROJECT> and an e-mail")
        return JiraCloud(site, project, email, token)
    raise ValueError(f"unknown ticket backend {kind!r}: use github or jira")
