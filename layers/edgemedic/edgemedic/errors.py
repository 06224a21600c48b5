"""edgemedic's errors. Each says what failed, on which resource, and what to do."""
from __future__ import annotations


class EdgemedicError(Exception):
    """Base of every error edgemedic raises on purpose."""


class InvalidConfigError(EdgemedicError):
    """A planned DistributionConfig breaks one of CloudFront's documented constraints: it is never sent."""

    def __init__(self, distribution_id: str, problems: list[str]):
        self.distribution_id = distribution_id
        self.problems = problems
        super().__init__(
            f"planned config for {distribution_id} would be rejected by CloudFront: " + "; ".join(problems)
        )


class ConcurrentEditError(EdgemedicError):
    """The distribution kept changing under us (412 PreconditionFailed on every try)."""


class ThrottledError(EdgemedicError):
    """AWS kept throttling after all retries."""


class ReadError(EdgemedicError):
    """A read edgemedic cannot do without (listing the distributions) failed for another reason than permissions."""


class AccessError(EdgemedicError):
    """Missing permission for a call edgemedic needs."""


class CredentialsError(EdgemedicError):
    """No usable AWS credentials."""


class NotFoundError(EdgemedicError):
    """A resource edgemedic was asked about does not exist (any more)."""


class VerificationError(EdgemedicError):
    """An applied fix did not remove the finding; the previous config was restored."""


class EndpointTimeoutError(EdgemedicError):
    """An AWS endpoint accepted no connection or gave no answer within the timeouts, on every attempt."""
