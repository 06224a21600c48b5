"""Handler benchmark: cold-start import time of the Lambda handler modules, and time per event on the emulator.

    .venv/bin/python benchmarks/handler.py            # 5 cold imports per function, 20 events
    .venv/bin/python benchmarks/handler.py --small    # 3 cold imports, 5 events
    .venv-sam/bin/sam build && .venv/bin/python benchmarks/handler.py --layer .aws-sam/build/EdgemedicLayer/python
                                                      # cold imports from the layer Lambda gets (with its .pyc)

Cold start: each import runs in a fresh interpreter (``functions/<name>/app.py`` with the layer on sys.path and
the Powertools environment a deployed function has), so nothing is cached but the OS page cache; the figure is
the import of the handler module alone, as Lambda's INIT phase pays it (interpreter start-up excluded).
Per event: a person's UpdateDistribution that forwards Host to an API origin, delivered to the evaluate handler,
then the queued apply request to the apply handler (read, plan, If-Match update, re-read, verify), all on the
emulator in this process (moto's CPU time is inside the figure). Targets (issue 3): import < 300 ms, one event
< 1 s on moto including every AWS call.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "edgemedic"
sys.path.insert(0, str(LAYER))

POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": "edgemedic-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "edgemedic",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
FUNCTIONS = ("evaluate", "sweep", "apply", "approve")
IMPORT_TARGET_MS = 300.0
EVENT_TARGET_MS = 1000.0

_IMPORT_SNIPPET = """
import sys, time, importlib.util
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
started = time.perf_counter()
spec.loader.exec_module(module)
print((time.perf_counter() - started) * 1000)
"""


@dataclass
class Figures:
    imports_ms: dict[str, list[float]] = field(default_factory=dict)
    evaluate_ms: list[float] = field(default_factory=list)
    apply_ms: list[float] = field(default_factory=list)
    events: int = 0


def cold_import_ms(name: str, layer: Path = LAYER) -> float:
    env = {**os.environ, **POWERTOOLS_ENV, "PYTHONPATH": str(layer), "PYTHONDONTWRITEBYTECODE": "1"}
    # A built layer is measured alone (-S: no site-packages, so nothing but the layer and the standard library can
    # answer an import, as on Lambda where the layer comes first); the source layer needs the venv's libraries.
    isolate = ["-S"] if layer != LAYER else []
    out = subprocess.run([sys.executable, *isolate, "-c", _IMPORT_SNIPPET, str(ROOT / "functions" / name / "app.py")],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def time_events(figures: Figures, events: int) -> None:
    os.environ.update(POWERTOOLS_ENV)
    import importlib.util

    from edgemedic import policies, scenarios
    from edgemedic.emulator import Emulator
    from edgemedic.handlers import runtime

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "functions" / name / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    evaluate, apply = load("evaluate"), load("apply")
    event_template = json.loads((ROOT / "events" / "cloudfront-update-distribution.json").read_text())

    class Context:
        function_name, memory_limit_in_mb = "edgemedic-bench", 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:edgemedic-bench"
        aws_request_id = "bench"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 120_000

    with Emulator() as emu:
        clients = emu.clients()
        clients.client("dynamodb").create_table(
            TableName="bench", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        sqs = clients.client("sqs")
        queue = sqs.create_queue(QueueName="bench.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        runtime.configure(clients=clients, environ={"TABLE_NAME": "bench", "APPLY_QUEUE_URL": queue,
                                                    "API_REGIONS": "eu-west-1"})
        dist_id = scenarios.build(clients, ["clean"])["clean"]

        def forward_host(config: dict) -> None:
            for behavior in config["CacheBehaviors"]["Items"]:
                if behavior["PathPattern"] == "/api/*":
                    behavior["OriginRequestPolicyId"] = policies.ALL_VIEWER

        for _ in range(events):
            emu.human_edit(dist_id, forward_host)
            event = json.loads(json.dumps(event_template))
            event["detail"]["eventID"] = str(uuid.uuid4())
            event["detail"]["requestParameters"]["id"] = dist_id
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
                result = evaluate.lambda_handler(event, Context())
            figures.evaluate_ms.append((time.perf_counter() - started) * 1000)
            assert result["distributions"][0]["actions"] == ["auto-fix-queued"], result
            message = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, AttributeNames=["All"])["Messages"][0]
            record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                      "body": message["Body"], "attributes": message["Attributes"], "messageAttributes": {},
                      "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                      "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:bench.fifo", "awsRegion": "us-east-1"}
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                response = apply.lambda_handler({"Records": [record]}, Context())
            figures.apply_ms.append((time.perf_counter() - started) * 1000)
            assert response == {"batchItemFailures": []}, response
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            figures.events += 1
    runtime.reset()


def run(small: bool = False, layer: Path = LAYER) -> Figures:
    figures = Figures()
    for name in FUNCTIONS:
        figures.imports_ms[name] = [cold_import_ms(name, layer) for _ in range(3 if small else 5)]
    time_events(figures, 5 if small else 20)
    return figures


def report(figures: Figures) -> str:
    lines = ["| measure | median | max | target |", "|---|---|---|---|"]
    for name, samples in figures.imports_ms.items():
        lines.append(f"| cold import of functions/{name}/app.py | {statistics.median(samples):.0f} ms | "
                     f"{max(samples):.0f} ms | < {IMPORT_TARGET_MS:.0f} ms |")
    total = [e + a for e, a in zip(figures.evaluate_ms, figures.apply_ms, strict=True)]
    for label, samples in (("evaluate handler, one event", figures.evaluate_ms),
                           ("apply handler, one fix", figures.apply_ms),
                           ("event -> healed (evaluate + apply)", total)):
        lines.append(f"| {label} ({figures.events} events, moto) | {statistics.median(samples):.0f} ms | "
                     f"{max(samples):.0f} ms | < {EVENT_TARGET_MS:.0f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--layer", type=Path, default=LAYER,
                        help="import from this layer folder (the `python/` of a `sam build`) instead of the source")
    args = parser.parse_args(argv)
    print(report(run(small=args.small, layer=args.layer)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
