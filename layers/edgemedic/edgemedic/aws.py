"""boto3 clients for edgemedic, created on demand from one session (nothing happens at import time).

Retries use botocore's ``standard`` mode (exponential backoff with jitter on Throttling and 5xx), so throttling
is retried by the library made for it; edgemedic turns what is left into a ``ThrottledError``. API Gateway's
clients use the ``adaptive`` mode (standard plus a client-side rate limiter that slows down when throttled), as its
control plane throttles at a few requests per second and its APIs are read by several threads at once.
CloudFront's control plane is global and lives in us-east-1. ``AWS_ENDPOINT_URL`` is honoured by botocore itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # boto3 is imported when the first session or client is made (~100 ms), not with this module
    import boto3

CLOUDFRONT_REGION = "us-east-1"
DEFAULT_MAX_ATTEMPTS = 5
ADAPTIVE_RETRY_SERVICES = frozenset({"apigateway", "apigatewayv2"})


@dataclass
class Clients:
    """Hands out one client per (service, region), all from ``session``."""

    session: boto3.session.Session
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    user_agent_extra: str = "edgemedic/0.1"
    connect_timeout: float = 5
    read_timeout: float = 30
    # Builds the session of another account's credentials (see ``for_credentials``); the emulator passes one
    # that installs its hooks on the new session too.
    session_factory: Callable[..., boto3.session.Session] | None = field(default=None, repr=False)
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environment(cls, profile: str | None = None, region: str | None = None, **limits: Any) -> "Clients":
        """``limits``: ``connect_timeout``, ``read_timeout`` (seconds), ``max_attempts`` (botocore's: retries after the first try)."""
        import boto3.session

        return cls(boto3.session.Session(profile_name=profile, region_name=region), **limits)

    @property
    def default_region(self) -> str:
        return self.session.region_name or CLOUDFRONT_REGION

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.default_region
        key = (service, region)
        if key not in self._cache:
            from botocore.config import Config

            config = Config(
                retries={"mode": "adaptive" if service in ADAPTIVE_RETRY_SERVICES else "standard",
                         "max_attempts": self.max_attempts},
                user_agent_extra=self.user_agent_extra,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
            self._cache[key] = self.session.client(service, region_name=region, config=config)
        return self._cache[key]

    def for_credentials(self, credentials: Mapping[str, Any]) -> "Clients":
        """Clients acting with ``credentials`` (AssumeRole's ``Credentials``), same region, retries and hooks.

        Example: ``clients.for_credentials(sts.assume_role(RoleArn=arn, RoleSessionName="x")["Credentials"])``
        """
        import boto3.session
        import botocore.session

        # One loader for every account's session: botocore then parses each service's JSON model once per process,
        # not once per account (measured: most of an organization scan's overhead without it).
        core = botocore.session.Session()
        core.register_component("data_loader", self.session._session.get_component("data_loader"))
        factory = self.session_factory or boto3.session.Session
        session = factory(aws_access_key_id=credentials["AccessKeyId"],
                          aws_secret_access_key=credentials["SecretAccessKey"],
                          aws_session_token=credentials.get("SessionToken"),
                          region_name=self.session.region_name, botocore_session=core)
        return Clients(session, max_attempts=self.max_attempts, user_agent_extra=self.user_agent_extra,
                       connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                       session_factory=self.session_factory)

    def cloudfront(self) -> Any:
        return self.client("cloudfront", CLOUDFRONT_REGION)

    def apigateway(self, region: str) -> Any:
        return self.client("apigateway", region)

    def apigatewayv2(self, region: str) -> Any:
        return self.client("apigatewayv2", region)

    def elbv2(self, region: str) -> Any:
        return self.client("elbv2", region)

    def acm(self, region: str) -> Any:
        return self.client("acm", region)

    def route53(self) -> Any:
        return self.client("route53", CLOUDFRONT_REGION)


def partition_regions() -> dict[str, str]:
    """Every region of every partition botocore knows (its endpoints data, no network): region -> partition."""
    import botocore.session

    data = botocore.session.get_session().get_data("endpoints")
    return {region: partition["partition"] for partition in data["partitions"] for region in partition["regions"]}


def unknown_regions(regions: "list[str] | tuple[str, ...]") -> list[str]:
    """The names in ``regions`` that are no region of any AWS partition."""
    known = partition_regions()
    return [region for region in dict.fromkeys(regions) if region not in known]

