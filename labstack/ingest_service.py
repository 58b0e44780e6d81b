"""Registers ``helpers.ingest`` (the SQS-based S3 input) as a lab service.

The ingester is toolkit code, not a stand-in: it reads every service's settings from the
environment ``lab up`` gives it (AWS_ENDPOINT_URL, CLOUDTRAIL_QUEUE, SPLUNK_HEC_URL...) and answers
``GET /_lab/health`` like every lab service. Only labstack knows both sides, so the registration
is here.
"""

from labstack.services import Service, register

register(
    Service(
        name="ingest",
        module="helpers.ingest",
        ports={"api": 8095},
        settings=lambda ports, secrets, scheme: {},
        description="SQS-based S3 input: CloudTrail files from the trail queue to Splunk HEC",
    )
)
