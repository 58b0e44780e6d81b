# New trail files -> S3 event notification -> SNS -> SQS (with a dead-letter queue): the queue the
# Splunk Add-on for AWS's SQS-based S3 input (or helpers.ingest) reads.

locals {
  ingest_topic     = "${local.prefix}-cloudtrail-notifications"
  ingest_queue     = "${local.prefix}-cloudtrail-ingest"
  ingest_dlq       = "${local.prefix}-cloudtrail-ingest-dlq"
  ingest_redrive   = 3
  ingest_visibility = 30
}

resource "aws_sns_topic" "ingest" {
  name              = local.ingest_topic
  kms_master_key_id = aws_kms_key.lab.arn
}

data "aws_iam_policy_document" "ingest_topic" {
  statement {
    sid       = "TrailBucketPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.ingest.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.trail.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "ingest" {
  arn    = aws_sns_topic.ingest.arn
  policy = data.aws_iam_policy_document.ingest_topic.json
}

resource "aws_sqs_queue" "ingest_dlq" {
  name                      = local.ingest_dlq
  kms_master_key_id         = aws_kms_key.lab.arn
  message_retention_seconds = 1209600 # 14 days: time to look at a poison file
}

resource "aws_sqs_queue" "ingest" {
  name                       = local.ingest_queue
  kms_master_key_id          = aws_kms_key.lab.arn
  visibility_timeout_seconds = local.ingest_visibility
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.ingest_dlq.arn
    maxReceiveCount     = local.ingest_redrive
  })
}

data "aws_iam_policy_document" "ingest_queue" {
  statement {
    sid       = "TopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ingest.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.ingest.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "ingest" {
  queue_url = aws_sqs_queue.ingest.id
  policy    = data.aws_iam_policy_document.ingest_queue.json
}

resource "aws_sns_topic_subscription" "ingest" {
  topic_arn = aws_sns_topic.ingest.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.ingest.arn
}

resource "aws_s3_bucket_notification" "trail" {
  bucket = aws_s3_bucket.trail.id

  topic {
    topic_arn     = aws_sns_topic.ingest.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "AWSLogs/"
  }

  depends_on = [aws_sns_topic_policy.ingest]
}

# What reads the chain: the Splunk add-on's AWS account (or helpers.ingest), and the SNS alert action.
data "aws_iam_policy_document" "ingest_reader" {
  statement {
    sid       = "ReadTheIngestQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.ingest.arn, aws_sqs_queue.ingest_dlq.arn]
  }
  statement {
    sid       = "ReadTrailFiles"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.trail.arn}/AWSLogs/*"]
  }
  statement {
    sid       = "DecryptThem"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lab.arn]
  }
  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }
}

resource "aws_iam_policy" "ingest_reader" {
  name        = "${local.prefix}-splunk-ingest"
  description = "For the Splunk Add-on for AWS (or helpers.ingest): read the trail's queue and files, publish alerts"
  policy      = data.aws_iam_policy_document.ingest_reader.json
}
