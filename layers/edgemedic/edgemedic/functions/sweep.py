"""sweep: the scheduled full scan. Catches what an event missed and refreshes the API -> distribution index.

Read-only on AWS, like evaluate: auto fixes go to the apply queue.
"""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from edgemedic.handlers import iam, store, sweep, tell
from edgemedic.handlers.act import SQS_ACTIONS
from edgemedic.act.scope import TAG_ACTIONS
from edgemedic.handlers.runtime import STOP_ACTIONS, Telemetry, runtime
from edgemedic.notify import store as plans

IAM_ACTIONS = sorted({*iam.READ_ACTIONS, *TAG_ACTIONS, *STOP_ACTIONS, *iam.SECURITY_HUB_ACTIONS,
                      *iam.ASSUME_MEMBER_ROLE, *iam.LIST_ACCOUNTS, *store.DYNAMODB_ACTIONS_READ,
                      *store.DYNAMODB_ACTIONS_WRITE, *plans.DYNAMODB_ACTIONS, *SQS_ACTIONS, *tell.SECRET_ACTIONS})

logger = Logger()
tracer = Tracer()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"edgemedic"})


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    return sweep.handle(event, runtime(), Telemetry(metrics))
