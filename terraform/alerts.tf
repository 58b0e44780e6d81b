# The Splunk Add-on for AWS SNS alert action publishes each alert to this topic; the automation
# reads the queue subscribed to it (the server's SNS intake, or the Lambda's trigger).

locals {
  alerts_topic   = "${local.prefix}-security-alerts"
  alerts_queue   = "${local.prefix}-security-alerts-automation"
  alerts_dlq     = "${local.prefix}-security-alerts-automation-dlq"
  alerts_redrive = 3
  # Six times the Lambda's timeout, as AWS advises for a queue that triggers a function.
  alerts_visibility = 720
}

module "alerts" {
  source                 = "./modules/notified_queue"
  topic_name             = local.alerts_topic
  queue_name             = local.alerts_queue
  dead_letter_queue_name = local.alerts_dlq
  max_receive_count      = local.alerts_redrive
  visibility_timeout     = local.alerts_visibility
  kms_key_arn            = aws_kms_key.lab.arn
}
