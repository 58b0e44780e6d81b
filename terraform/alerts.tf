# The Splunk Add-on for AWS SNS alert action publishes each alert to this topic; the automation
# reads the queue subscribed to it (the server's SNS intake, or the Lambda's trigger).

locals {
  alerts_topic   = "${local.prefix}-security-alerts"
  alerts_queue   = "${local.prefix}-security-alerts-automation"
  alerts_dlq     = "${local.prefix}-security-alerts-automation-dlq"
  alerts_redrive = 3
}

resource "aws_sns_topic" "alerts" {
  name              = local.alerts_topic
  kms_master_key_id = aws_kms_key.lab.arn
}

resource "aws_sqs_queue" "alerts_dlq" {
  name                      = local.alerts_dlq
  kms_master_key_id         = aws_kms_key.lab.arn
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "alerts" {
  name              = local.alerts_queue
  kms_master_key_id = aws_kms_key.lab.arn
  # Six times the Lambda's timeout, as AWS advises for a queue that triggers a function.
  visibility_timeout_seconds = 720
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.alerts_dlq.arn
    maxReceiveCount     = local.alerts_redrive
  })
}

data "aws_iam_policy_document" "alerts_queue" {
  statement {
    sid       = "TopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.alerts.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "alerts" {
  queue_url = aws_sqs_queue.alerts.id
  policy    = data.aws_iam_policy_document.alerts_queue.json
}

resource "aws_sns_topic_subscription" "alerts" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.alerts.arn
}
