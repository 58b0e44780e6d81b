# New trail files -> S3 event notification -> SNS -> SQS (with a dead-letter queue): the queue the
# Splunk Add-on for AWS's SQS-based S3 input (or helpers.ingest) reads.

locals {
  ingest_topic     = "${local.prefix}-cloudtrail-notifications"
  ingest_queue     = "${local.prefix}-cloudtrail-ingest"
  ingest_dlq       = "${local.prefix}-cloudtrail-ingest-dlq"
  ingest_redrive   = 3
  ingest_visibility = 30
}

module "ingest" {
  source                 = "./modules/notified_queue"
  topic_name             = local.ingest_topic
  queue_name             = local.ingest_queue
  dead_letter_queue_name = local.ingest_dlq
  max_receive_count      = local.ingest_redrive
  visibility_timeout     = local.ingest_visibility
  kms_key_arn            = aws_kms_key.lab.arn
}

data "aws_iam_policy_document" "ingest_topic" {
  statement {
    sid       = "TrailBucketPublishes"
    actions   = ["sns:Publish"]
    resources = [module.ingest.topic_arn]
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
  arn    = module.ingest.topic_arn
  policy = data.aws_iam_policy_document.ingest_topic.json
}

resource "aws_s3_bucket_notification" "trail" {
  bucket = aws_s3_bucket.trail.id

  topic {
    topic_arn     = module.ingest.topic_arn
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
    resources = [module.ingest.queue_arn, module.ingest.dead_letter_queue_arn]
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
    resources = [module.alerts.topic_arn]
  }
}

resource "aws_iam_policy" "ingest_reader" {
  name        = "${local.prefix}-splunk-ingest"
  description = "For the Splunk Add-on for AWS (or helpers.ingest): read the trail's queue and files, publish alerts"
  policy      = data.aws_iam_policy_document.ingest_reader.json
}
