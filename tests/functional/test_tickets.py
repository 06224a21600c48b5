"""Tickets against real HTTP servers on 127.0.0.1 standing in for GitHub and Jira Cloud: exact requests (method,
path, auth header, body), one open ticket per (distribution, rule), comment + close when fixed, retries on 429
(Retry-After) and 5xx. Tokens come from moto's Secrets Manager through Powertools' SecretsProvider."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from moto import mock_aws

from builders import RecordingServer
from edgemedic.findings import Finding, Fix, FixClass, Severity
from edgemedic.notify.alert import Alert, DistributionInfo, Trigger
from edgemedic.notify.exceptions import TicketError
from edgemedic.notify.tickets import (
    GitHubIssues,
    JiraCloud,
    SecretValue,
    TicketKey,
    backend_from_settings,
    ticket_content,
)

DIST = "E2QWRUHAPOMQZL"
KEY = TicketKey(DIST, "apigw-edge-endpoint")
FINDING = Finding(
    "apigw-edge-endpoint", Severity.MEDIUM, DIST, "/api/*", "api", "The API behind /api/* is EDGE-optimized",
    "Two CloudFront hops: more latency, header case changes",
    Fix(FixClass.MANUAL, "Switch the API to REGIONAL",
        ticket="aws apigateway update-rest-api --rest-api-id a1b2c3d4e5 --patch-operations "
               "op=replace,path=/endpointConfiguration/types/EDGE,value=REGIONAL"),
    evidence=("REST API a1b2c3d4e5 (eu-west-1): endpoint EDGE",))
ALERT = Alert.for_manual(DistributionInfo(DIST, ("shop.example.com",)), [FINDING],
                         trigger=Trigger("dev", "UpdateRestApi", datetime(2024, 7, 17, 5, 56, 53, tzinfo=timezone.utc)))
CONTENT = ticket_content(ALERT)


@pytest.fixture
def secrets():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="edgemedic/github", SecretString="ghp_test_token")
        client.create_secret(Name="edgemedic/jira", SecretString=json.dumps({"email": "bot@acme.io",
                                                                              "token": "atl-token"}))
        yield SecretsProvider(boto3_client=client)


def test_content_names_everything():
    assert CONTENT.title == "edgemedic: apigw-edge-endpoint on CloudFront E2QWRUHAPOMQZL"
    assert CONTENT.text.splitlines() == [
        "Distribution E2QWRUHAPOMQZL (shop.example.com): "
        "https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/E2QWRUHAPOMQZL",
        "Triggered by dev (UpdateRestApi) at 2024-07-17T05:56:53+00:00.",
        "",
        "[medium] apigw-edge-endpoint: The API behind /api/* is EDGE-optimized",
        "Behavior: /api/*  Origin: api",
        "What users see: Two CloudFront hops: more latency, header case changes",
        "Fix (manual): Switch the API to REGIONAL",
        "Evidence: REST API a1b2c3d4e5 (eu-west-1): endpoint EDGE",
        "Change to make:",
        FINDING.fix.ticket,
    ]
    assert CONTENT.code == ""


def test_github_opens_once_then_comments_then_closes(secrets):
    marker = "<!-- edgemedic-key: E2QWRUHAPOMQZL/apigw-edge-endpoint -->"
    issue = {"number": 7, "html_url": "https://github.com/acme/ops/issues/7", "body": f"...\n\n{marker}"}
    other = {"number": 3, "html_url": "https://github.com/acme/ops/issues/3", "body": "<!-- edgemedic-key: E9/x -->"}
    with RecordingServer() as gh:
        path = "/repos/acme/ops/issues"
        gh.answer("GET", path, 200, [other])  # first look: only another key's ticket is open
        gh.answer("GET", path, 200, [other, issue])
        gh.answer("POST", path, 201, issue)
        gh.answer("POST", f"{path}/7/comments", 201, {"id": 1})
        gh.answer("PATCH", f"{path}/7", 200, {"number": 7, "state": "closed"})
        backend = GitHubIssues("acme/ops", SecretValue("edgemedic/github", provider=secrets), api_url=gh.url)

        first = backend.open_or_comment(KEY, CONTENT)
        second = backend.open_or_comment(KEY, CONTENT)
        closed = backend.resolve(KEY, "Fixed: the API is REGIONAL now (edgemedic verified).")

    assert (first.key, first.url, first.created) == ("7", "https://github.com/acme/ops/issues/7", True)
    assert (second.key, second.created) == ("7", False) and closed.key == "7"
    list_path = "/repos/acme/ops/issues?labels=edgemedic&state=open&per_page=100&page=1"
    assert [(r.method, r.path) for r in gh.requests] == [
        ("GET", list_path), ("POST", path),
        ("GET", list_path), ("POST", f"{path}/7/comments"),
        ("GET", list_path), ("POST", f"{path}/7/comments"), ("PATCH", f"{path}/7")]
    assert all(r.headers["Authorization"] == "Bearer ghp_test_token" for r in gh.requests)
    assert all(r.headers["X-GitHub-Api-Version"] == "2022-11-28" for r in gh.requests)
    assert gh.requests[1].json() == {"title": CONTENT.title, "body": f"{CONTENT.text}\n\n{marker}",
                                     "labels": ["edgemedic"]}
    assert gh.requests[3].json() == {"body": "Seen again.\n\n" + CONTENT.text}
    assert gh.requests[5].json() == {"body": "Fixed: the API is REGIONAL now (edgemedic verified)."}
    assert gh.requests[6].json() == {"state": "closed", "state_reason": "completed"}


def test_github_retries_429_with_retry_after_and_5xx():
    waits: list[float] = []
    with RecordingServer() as gh:
        gh.answer("GET", "/repos/acme/ops/issues", 429, {"message": "rate"}, {"Retry-After": "7"})
        gh.answer("GET", "/repos/acme/ops/issues", 502, b"bad gateway")
        gh.answer("GET", "/repos/acme/ops/issues", 200, [])
        backend = GitHubIssues("acme/ops", "ghp_x", api_url=gh.url, backoff=0.25, sleep=waits.append)
        assert backend.find_open(KEY) is None
    assert waits == [7.0, 0.5]  # Retry-After, then exponential backoff (0.25 * 2)
    assert len(gh.requests) == 3


def test_github_gives_up_with_a_typed_error_without_the_token():
    with RecordingServer() as gh:
        gh.answer("GET", "/repos/acme/ops/issues", 401, {"message": "Bad credentials"})
        backend = GitHubIssues("acme/ops", "ghp_secret", api_url=gh.url, sleep=lambda _: None)
        with pytest.raises(TicketError) as failed:
            backend.find_open(KEY)
    assert failed.value.status == 401 and "check the token secret" in str(failed.value)
    assert "ghp_secret" not in str(failed.value)
    assert len(gh.requests) == 1  # 401 is not retried


def test_jira_opens_once_then_comments_then_closes(secrets):
    with RecordingServer() as jira:
        jira.answer("POST", "/rest/api/3/search/jql", 200, {"issues": [], "isLast": True})
        jira.answer("POST", "/rest/api/3/search/jql", 200, {"issues": [{"id": "10017", "key": "OPS-17"}]})
        jira.answer("POST", "/rest/api/3/issue", 201, {"id": "10017", "key": "OPS-17"})
        jira.answer("POST", "/rest/api/3/issue/OPS-17/comment", 201, {"id": "1"})
        jira.answer("GET", "/rest/api/3/issue/OPS-17/transitions", 200, {"transitions": [
            {"id": "21", "name": "In Progress", "to": {"statusCategory": {"key": "indeterminate"}}},
            {"id": "31", "name": "Done", "to": {"statusCategory": {"key": "done"}}}]})
        jira.answer("POST", "/rest/api/3/issue/OPS-17/transitions", 204, b"")
        backend = JiraCloud(jira.url, "OPS", SecretValue("edgemedic/jira", "email", provider=secrets),
                            SecretValue("edgemedic/jira", "token", provider=secrets))
        first = backend.open_or_comment(KEY, CONTENT)
        second = backend.open_or_comment(KEY, CONTENT)
        closed = backend.resolve(KEY, "Fixed.")

    assert (first.key, first.url, first.created) == ("OPS-17", f"{jira.url}/browse/OPS-17", True)
    assert (second.key, second.created, closed.key) == ("OPS-17", False, "OPS-17")
    basic = "Basic " + base64.b64encode(b"bot@acme.io:atl-token").decode()
    assert all(r.headers["Authorization"] == basic for r in jira.requests)
    assert [(r.method, r.path) for r in jira.requests] == [
        ("POST", "/rest/api/3/search/jql"), ("POST", "/rest/api/3/issue"),
        ("POST", "/rest/api/3/search/jql"), ("POST", "/rest/api/3/issue/OPS-17/comment"),
        ("POST", "/rest/api/3/search/jql"), ("POST", "/rest/api/3/issue/OPS-17/comment"),
        ("GET", "/rest/api/3/issue/OPS-17/transitions"), ("POST", "/rest/api/3/issue/OPS-17/transitions")]
    assert jira.requests[0].json() == {
        "jql": 'project = "OPS" AND labels = "edgemedic-E2QWRUHAPOMQZL-apigw-edge-endpoint" '
               "AND statusCategory != Done ORDER BY created ASC",
        "fields": ["summary", "status"], "maxResults": 1}
    created = jira.requests[1].json()["fields"]
    assert created["project"] == {"key": "OPS"} and created["issuetype"] == {"name": "Task"}
    assert created["summary"] == CONTENT.title
    assert created["labels"] == ["edgemedic", "edgemedic-E2QWRUHAPOMQZL-apigw-edge-endpoint"]
    assert created["description"]["type"] == "doc" and created["description"]["version"] == 1
    assert created["description"]["content"][0]["content"][0] == {"type": "text", "text": CONTENT.text.split("\n")[0]}
    assert jira.requests[5].json() == {"body": {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Fixed."}]}]}}
    assert jira.requests[7].json() == {"transition": {"id": "31"}}


def test_jira_diff_goes_in_a_code_block():
    with RecordingServer() as jira:
        jira.answer("POST", "/rest/api/3/search/jql", 503, b"", {"Retry-After": "1"})
        jira.answer("POST", "/rest/api/3/search/jql", 200, {"issues": []})
        jira.answer("POST", "/rest/api/3/issue", 201, {"id": "1", "key": "OPS-1"})
        waits: list[float] = []
        backend = JiraCloud(jira.url, "OPS", "bot@acme.io", "t", sleep=waits.append)
        content = CONTENT.__class__(CONTENT.title, "Proposed change:", "@@ -1 +1 @@\n-a\n+b")
        backend.open_or_comment(KEY, content)
    assert waits == [1.0]
    assert jira.requests[2].json()["fields"]["description"]["content"][-1] == {
        "type": "codeBlock", "attrs": {"language": "diff"},
        "content": [{"type": "text", "text": "@@ -1 +1 @@\n-a\n+b"}]}


@pytest.mark.parametrize(("kind", "target", "expected"), [
    ("github", "acme/ops", ("GitHubIssues", "acme/ops", "https://api.github.com")),
    ("github", "https://ghe.acme.io/api/v3/acme/ops", ("GitHubIssues", "acme/ops", "https://ghe.acme.io/api/v3")),
    ("jira", "https://acme.atlassian.net/OPS", ("JiraCloud", "OPS", "https://acme.atlassian.net")),
])
def test_backend_from_the_stack_parameters(kind, target, expected):
    backend = backend_from_settings(kind, target=target, token="t", email="bot@acme.io")
    where = (backend.repo, backend.api_url) if kind == "github" else (backend.project, backend.site_url)
    assert (type(backend).__name__, *where) == expected


@pytest.mark.parametrize(("kind", "target"), [("github", "acme"), ("jira", "OPS"), ("gitlab", "acme/ops")])
def test_backend_refuses_a_target_it_cannot_use(kind, target):
    with pytest.raises(ValueError):
        backend_from_settings(kind, target=target, token="t", email="bot@acme.io")
