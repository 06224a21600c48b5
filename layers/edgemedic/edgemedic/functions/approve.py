"""approve: Slack's interactivity endpoint (a Lambda Function URL; the Slack signature is the authentication).

Verifies the request, checks the approver, records the decision with one conditional write and hands an approved
plan to the FIFO apply queue, all within Slack's three seconds. It never calls CloudFront: the apply function is
the only writer. See edgemedic/handlers/approve.py.

Settings (environment, read on first use): TABLE_NAME, APPLY_QUEUE_URL, SLACK_SECRET_ARN (JSON with
signing_secret), SLACK_APPROVERS (Slack user ids).
"""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from edgemedic.handlers import approve
from edgemedic.handlers.act import SQS_ACTIONS
from edgemedic.handlers.runtime import Telemetry, runtime
from edgemedic.notify.store import DECIDE_ACTIONS

# Every IAM action this function's code calls (compared with the template by tests/functional/test_template.py).
IAM_ACTIONS = sorted({*DECIDE_ACTIONS, *SQS_ACTIONS, "secretsmanager:GetSecretValue"})

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = LambdaFunctionUrlResolver()
copy_config_to_registered_loggers(source_logger=logger, include={"edgemedic"})


@app.post("/slack/actions")
def slack_actions() -> Response:
    event = app.current_event
    telemetry = Telemetry(metrics)
    body = approve.request_body(event.get("body"), bool(event.get("isBase64Encoded")))
    if body is None:  # not base64, or not UTF-8: nothing Slack sends; nothing of it is logged
        telemetry.count("SlackRequests")  # counted like every request, so the invocation has its metric
        return Response(400, content_types.TEXT_PLAIN, "unreadable body")
    answer = approve.handle_click(body, event.headers, runtime(), telemetry)
    return Response(answer.status, content_types.TEXT_PLAIN, answer.body)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    return app.resolve(event, context)
