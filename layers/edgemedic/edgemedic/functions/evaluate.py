"""evaluate: a CloudTrail change (EventBridge) -> the distributions it touches -> findings -> act.

Read-only on CloudFront: auto fixes go to the apply queue (only the apply function may update a distribution);
approve plans are stored and posted to Slack, manual findings get a ticket (see edgemedic/handlers/act.py).
"""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from edgemedic.handlers import evaluate, iam, store, tell
from edgemedic.handlers.act import SQS_ACTIONS
from edgemedic.act.scope import TAG_ACTIONS
from edgemedic.handlers.runtime import STOP_ACTIONS, Telemetry, runtime
from edgemedic.notify import store as plans

# Every IAM action this function's code calls; tests/functional/test_template.py checks the template grants exactly
# these (and tests/e2e checks every call made on moto is among them).
IAM_ACTIONS = sorted({*iam.READ_ACTIONS, *TAG_ACTIONS, *STOP_ACTIONS, *iam.SECURITY_HUB_ACTIONS,
                      *iam.ASSUME_MEMBER_ROLE, *store.DYNAMODB_ACTIONS_READ,
                      *store.DYNAMODB_ACTIONS_WRITE, *store.IDEMPOTENCY_ACTIONS, *plans.DECIDE_ACTIONS,
                      *plans.PROPOSE_ACTIONS, *SQS_ACTIONS, *tell.SECRET_ACTIONS})

logger = Logger()
tracer = Tracer()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"edgemedic"})


@logger.inject_lambda_context(correlation_id_path="detail.eventID")
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    return evaluate.handle(event, runtime(), Telemetry(metrics), context)
