"""Lambda: the function behind each Lambda function URL origin, and its Timeout. Read once per region per run.

A function URL's domain (``{url-id}.lambda-url.{region}.on.aws``) names no function, and Lambda answers URL configs
only per function (there is no lookup by URL id). So, only in the regions that have Lambda URL origins:
ListFunctions (its pages carry each function's ``Timeout``), then ListFunctionUrlConfigs for each function, a few in
flight at once; the ones not yet started are dropped as soon as every URL asked for is found. A URL on an alias
(``FunctionArn`` ends in ``:alias``) runs the alias's version, whose Timeout GetFunctionConfiguration with that
qualifier tells (one more call, only for such URLs).

What cannot be read is :class:`~edgemedic.model.Unreadable` under ``function_url_key``: a function in another
account, a URL deleted since, or a permission missing. The timeout rule then says so and never guesses.

    reader = LambdaUrlReader(clients)
    reader.read({("eu-west-1", "abc...xyz")})
    reader.function_urls[("eu-west-1", "abc...xyz")].timeout
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..aws import Clients
from ..model import FunctionUrl, Unreadable, function_url_key, lambdas_key
from .calls import ResourceUnreadable, call, paginate
from .origins import lambda_url_target

_READERS = 4


@dataclass
class LambdaUrlReader:
    """Finds the functions behind function URL ids, caching every answer (and every failure) for the run."""

    clients: Clients
    function_urls: dict[tuple[str, str], FunctionUrl] = field(default_factory=dict)
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _done: set[tuple[str, str]] = field(default_factory=set)

    def read(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Read the functions behind ``wanted`` (region, url id) pairs not read before in this run."""
        todo = sorted(set(wanted) - self._done)
        for region in sorted({region for region, _ in todo}):
            ids = {url_id for r, url_id in todo if r == region}
            self._read_region(region, ids)
            self._done.update((region, url_id) for url_id in ids)

    def _read_region(self, region: str, ids: set[str]) -> None:
        client = self.clients.client("lambda", region)
        try:
            functions = list(paginate(f"Lambda functions in {region}", client, "list_functions", "Functions"))
        except ResourceUnreadable as problem:
            reason = problem.unreadable().reason
            self.unreadable[lambdas_key(region)] = Unreadable(f"Lambda functions in {region}", reason)
            self.warnings.append(f"Lambda functions in {region} could not be listed: {reason}; the functions behind "
                                 "function URL origins there cannot be checked")
            for url_id in ids:
                self._unreadable(region, url_id, reason)
            return
        missing = set(ids)
        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            pending: set[Future] = {pool.submit(self._urls_of, client, region, f) for f in functions}
            while pending and missing:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    found, failure = future.result()
                    if failure:
                        failures.append(failure)
                    for url in found:
                        if url.url_id in missing:
                            missing.discard(url.url_id)
                            self.function_urls[(region, url.url_id)] = url
            for future in pending:
                future.cancel()  # every URL asked for is found: the rest are not read
        for url_id in sorted(missing):
            reason = ("; ".join(failures[:3]) + (f" and {len(failures) - 3} more" if len(failures) > 3 else "")
                      if failures else "no Lambda function in this account and region has this URL (a function in "
                      "another account, or a URL deleted since)")
            self._unreadable(region, url_id, reason)

    def _unreadable(self, region: str, url_id: str, reason: str) -> None:
        what = f"Lambda function URL {url_id} in {region}"
        self.unreadable[function_url_key(region, url_id)] = Unreadable(what, reason)
        self.warnings.append(f"{what}: the function behind it could not be found: {reason}")

    def _urls_of(self, client: Any, region: str, function: dict) -> tuple[list[FunctionUrl], str | None]:
        name = function["FunctionName"]
        try:
            configs = list(paginate(f"URL configs of function {name} in {region}", client,
                                    "list_function_url_configs", "FunctionUrlConfigs", FunctionName=name))
        except ResourceUnreadable as problem:
            if problem.not_found:
                return [], None  # the function was deleted since it was listed: it has no URL any more
            return [], f"URL configs of function {name}: {problem.code}: {problem.message}"
        urls = []
        for config in configs:
            target = lambda_url_target(config.get("FunctionUrl", "").removeprefix("https://").rstrip("/"))
            if target is None:
                continue
            timeout = int(function.get("Timeout") or 3)  # Lambda's default Timeout is 3 s
            qualifier = config.get("FunctionArn", "").split(":")[7:8]
            if qualifier and qualifier[0] != "$LATEST":
                try:
                    version = call(f"function {name}:{qualifier[0]} in {region}", client.get_function_configuration,
                                   FunctionName=name, Qualifier=qualifier[0])
                except ResourceUnreadable as problem:
                    return [], f"function {name}:{qualifier[0]}: {problem.code}: {problem.message}"
                timeout = int(version.get("Timeout") or 3)
            urls.append(FunctionUrl(target.url_id, target.region, name + (f":{qualifier[0]}" if qualifier else ""),
                                    timeout, config.get("AuthType", "NONE")))
        return urls, None
