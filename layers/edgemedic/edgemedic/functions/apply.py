"""apply: the only function allowed to call cloudfront:UpdateDistribution.

Consumes the FIFO apply queue (one message group per distribution), re-reads, re-plans, applies with If-Match,
verifies, rolls back and alerts on failure. Partial batch failures keep a failed message (and those after it in
its group) on the queue; after maxReceiveCount it moves to the apply dead-letter queue.
"""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from edgemedic.handlers import apply, iam, store, tell
from edgemedic.act.scope import TAG_ACTIONS
from edgemedic.handlers.runtime import STOP_ACTIONS, Telemetry, runtime
from edgemedic.notify import store as plans

IAM_ACTIONS = sorted({*iam.READ_ACTIONS, *TAG_ACTIONS, *STOP_ACTIONS, *iam.UPDATE_DISTRIBUTION,
                      *iam.SECURITY_HUB_ACTIONS, *iam.ASSUME_MEMBER_ROLE, *store.DYNAMODB_ACTIONS_READ, *store.DYNAMODB_ACTIONS_WRITE, *store.IDEMPOTENCY_ACTIONS,
                      *plans.DECIDE_ACTIONS, *plans.PROPOSE_ACTIONS, *tell.SECRET_ACTIONS})

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = SqsFifoPartialProcessor()
copy_config_to_registered_loggers(source_logger=logger, include={"edgemedic"})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    telemetry = Telemetry(metrics)
    rt = runtime()

    def record_handler(record):
        return apply.handle_record(record.raw_event, rt, telemetry, context)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
