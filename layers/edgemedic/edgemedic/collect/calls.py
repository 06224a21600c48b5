"""How the collectors call AWS and sort what goes wrong.

botocore retries throttling itself (standard mode, see ``edgemedic.aws``); whatever is left is classified here:
credentials problems and throttling stop the scan with a typed error, while a missing permission or a resource
that is gone only makes that one resource :class:`~edgemedic.model.Unreadable`.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from ..errors import CredentialsError, EndpointTimeoutError, ThrottledError
from ..model import Unreadable

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

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
    """(code, message); an answer without an AWS error body (an HTML page) gets its HTTP status as the code."""
    info = error.response.get("Error", {})
    code = str(info.get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "Unknown")
    return code, str(info.get("Message", ""))


def call(what: str, operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call ``operation``; raise ResourceUnreadable for per-resource problems, typed errors for the rest."""
    # late: botocore's exceptions module pulls in urllib3 (~30 ms), which commands that call no AWS never need
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    try:
        return operation(*args, **kwargs)
    except ClientError as error:
        raise _translate(what, error, _endpoint(operation)) from error
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise CredentialsError(
            f"no usable AWS credentials while reading {what}: {error}. Configure a profile or environment "
            "credentials (aws configure, AWS_PROFILE) and retry."
        ) from error
    except NoRegionError as error:
        raise CredentialsError(f"no AWS region configured while reading {what}: set AWS_REGION") from error
    except (ConnectTimeoutError, ReadTimeoutError) as error:
        # An endpoint that does not answer would not answer the next call either: stop the scan, say where.
        raise _timeout(what, error, operation) from error
    except BotoCoreError as error:  # connection failures after botocore's retries
        raise ResourceUnreadable(what, type(error).__name__, str(error)) from error


def _timeout(what: str, error: Exception, operation: Any) -> EndpointTimeoutError:
    endpoint = getattr(error, "kwargs", {}).get("endpoint_url") or _endpoint(operation) or "the AWS endpoint"
    config = getattr(getattr(getattr(operation, "__self__", None), "meta", None), "config", None)
    retries = getattr(config, "retries", None) or {}
    # botocore's max_attempts counts the retries after the first try; total_max_attempts counts them all
    attempts = retries.get("total_max_attempts") or (retries["max_attempts"] + 1 if "max_attempts" in retries
                                                     else None)
    from botocore.exceptions import ConnectTimeoutError

    if isinstance(error, ConnectTimeoutError):
        limit, happened = getattr(config, "connect_timeout", None), "accepted no connection"
    else:
        limit, happened = getattr(config, "read_timeout", None), "gave no answer"
    within = f" within {limit:g} s" if isinstance(limit, (int, float)) else ""
    tries = f" on each of {attempts} attempts" if attempts else ""
    return EndpointTimeoutError(
        f"{endpoint} {happened}{within}{tries} while reading {what}: check the network, a proxy (HTTPS_PROXY) "
        "and AWS_ENDPOINT_URL; --connect-timeout and --read-timeout set the limits")


def paginate(what: str, client: Any, operation: str, result_key: str, /, **kwargs: Any) -> Iterator[dict]:
    """Items of a paginated operation, with the same error handling as :func:`call`."""
    pages = client.get_paginator(operation).paginate(**kwargs)
    iterator = iter(pages)
    while True:
        try:
            page = call(what, next, iterator)
        except StopIteration:
            return
        except ResourceUnreadable as error:
            if error.code.startswith("HTTP ") and error.__cause__ is not None:  # say which endpoint answered
                raise _translate(what, error.__cause__, client.meta.endpoint_url) from error.__cause__
            raise
        except EndpointTimeoutError as error:
            raise _timeout(what, error.__cause__, getattr(client, operation)) from error.__cause__
        for part in result_key.split("."):  # e.g. "DistributionList.Items"
            page = page.get(part) or {}
        yield from page or []


def _endpoint(operation: Any) -> str | None:
    """The endpoint URL of the client a bound operation belongs to (``client.get_rest_apis``)."""
    meta = getattr(getattr(operation, "__self__", None), "meta", None)
    return getattr(meta, "endpoint_url", None)


def not_aws_answer(code: str, message: str, endpoint: str | None, operation: str) -> str | None:
    """For an answer that carried no AWS error (an HTTP status as the code, often an HTML page): one line saying
    which endpoint answered and what to check. None for AWS's own errors."""
    if not code.isdigit():
        return None
    where = endpoint or "the endpoint"
    page = " with an HTML page" if "<html" in message.lower() or "<!doctype" in message.lower() else ""
    return (f"{where} answered HTTP {code}{page} to {operation}, not an AWS API answer: check AWS_ENDPOINT_URL "
            "(a proxy or a wrong URL?) and that the service exists in that region")


def _translate(what: str, error: ClientError, endpoint: str | None = None) -> Exception:
    code, message = error_code(error)
    # CloudFront's operations carry their API version (ListDistributions2020_05_31): people know the plain name
    operation = re.sub(r"\d{4}_\d{2}_\d{2}$", "", getattr(error, "operation_name", "?"))
    odd = not_aws_answer(code, message, endpoint, operation)
    if odd is not None:
        return ResourceUnreadable(what, f"HTTP {code}", odd)
    if code in THROTTLE_CODES:
        attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        return ThrottledError(
            f"AWS kept throttling {operation} while reading {what} ({attempts} retries): {message}. "
            "Wait a minute and run again, or scan fewer distributions at once (--distribution)."
        )
    if code in CREDENTIAL_CODES:
        return CredentialsError(f"AWS rejected the credentials calling {operation} for {what}: {code}: {message}")
    return ResourceUnreadable(what, code, message)
