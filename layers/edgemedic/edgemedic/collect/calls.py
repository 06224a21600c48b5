"""How the collectors call AWS and sort what goes wrong.

botocore retries throttling itself (standard mode, see ``edgemedic.aws``); whatever is left is classified here:
credentials problems and throttling stop the scan with a typed error, while a missing permission or a resource
that is gone only makes that one resource :class:`~edgemedic.model.Unreadable`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from ..errors import CredentialsError, ThrottledError
from ..model import Unreadable

T = TypeVar("T")

ACCESS_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
    "AuthorizationError", "Forbidden", "ForbiddenException",
})
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "InvalidSignatureException", "MissingAuthenticationToken", "AuthFailure",
})


class ResourceUnreadable(Exception):
    """One resource could not be read (no permission, gone, or another error on it). Carries the reason."""

    def __init__(self, what: str, code: str, message: str):
        self.what, self.code, self.message = what, code, message
        super().__init__(f"{what}: {code}: {message}")

    @property
    def not_found(self) -> bool:
        return self.code.startswith("NoSuch") or self.code.endswith("NotFound") or self.code in {
            "NotFoundException", "ResourceNotFoundException", "LoadBalancerNotFound", "ListenerNotFound"}

    @property
    def access_denied(self) -> bool:
        return self.code in ACCESS_CODES

    def unreadable(self) -> Unreadable:
        reason = f"{self.code}: {self.message}" if self.message else self.code
        if self.not_found:
            reason += " (deleted, or never existed in this account and region)"
        return Unreadable(self.what, reason, gone=self.not_found)


def error_code(error: ClientError) -> tuple[str, str]:
    info = error.response.get("Error", {})
    return str(info.get("Code", "Unknown")), str(info.get("Message", ""))


def call(what: str, operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call ``operation``; raise ResourceUnreadable for per-resource problems, typed errors for the rest."""
    try:
        return operation(*args, **kwargs)
    except ClientError as error:
        raise _translate(what, error) from error
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise CredentialsError(
            f"no usable AWS credentials while reading {what}: {error}. Configure a profile or environment "
            "credentials (aws configure, AWS_PROFILE) and retry."
        ) from error
    except NoRegionError as error:
        raise CredentialsError(f"no AWS region configured while reading {what}: set AWS_REGION") from error
    except BotoCoreError as error:  # connection failures after botocore's retries
        raise ResourceUnreadable(what, type(error).__name__, str(error)) from error


def paginate(what: str, client: Any, operation: str, result_key: str, /, **kwargs: Any) -> Iterator[dict]:
    """Items of a paginated operation, with the same error handling as :func:`call`."""
    pages = client.get_paginator(operation).paginate(**kwargs)
    iterator = iter(pages)
    while True:
        try:
            page = call(what, next, iterator)
        except StopIteration:
            return
        for part in result_key.split("."):  # e.g. "DistributionList.Items"
            page = page.get(part) or {}
        yield from page or []


def _translate(what: str, error: ClientError) -> Exception:
    code, message = error_code(error)
    operation = getattr(error, "operation_name", "?")
    if code in THROTTLE_CODES:
        attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        return ThrottledError(
            f"AWS kept throttling {operation} while reading {what} ({attempts} retries): {message}. "
            "Wait a minute and run again, or scan fewer distributions at once (--distribution)."
        )
    if code in CREDENTIAL_CODES:
        return CredentialsError(f"AWS rejected the credentials calling {operation} for {what}: {code}: {message}")
    return ResourceUnreadable(what, code, message)
