# The automation's identity: a role that the Lambda function and the automation server assume,
# with exactly the IAM actions the enrichers and playbooks declare
# (automation-permissions.json is `lab playbooks permissions --json`; a test keeps them equal),
# plus reading the alert queue. The break-glass user the playbooks never touch.

data "aws_iam_policy_document" "automation_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com", "ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "automation" {
  name               = "${local.prefix}-automation"
  description        = "The remediation automation (Lambda or server): least privilege from the playbooks"
  assume_role_policy = data.aws_iam_policy_document.automation_trust.json
}

data "aws_iam_policy_document" "automation" {
  statement {
    sid       = "EnrichAndRemediate"
    actions   = jsondecode(file("${path.module}/automation-permissions.json"))
    resources = ["*"]
  }
  statement {
    sid       = "AlertQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = [module.alerts.queue_arn]
  }
  statement {
    sid       = "DecryptTheQueue"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.lab.arn]
  }
  dynamic "statement" {
    for_each = var.settings_secret_arn == null ? [] : [var.settings_secret_arn]
    content {
      sid       = "ReadItsSettings"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "automation" {
  name   = "automation-remediation"
  role   = aws_iam_role.automation.id
  policy = data.aws_iam_policy_document.automation.json
}

# Break-glass: emergency administrators. The playbooks never act on them (policy.yml
# break_glass_users) nor on anything tagged auto-remediate=off.
resource "aws_iam_group" "break_glass" {
  name = "${local.prefix}-break-glass"
}

resource "aws_iam_group_policy_attachment" "break_glass" {
  group      = aws_iam_group.break_glass.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_user" "break_glass" {
  #checkov:skip=CKV_AWS_273:Break-glass access is the one identity that must work when single sign-on does not; it has no access key and its console password is set by hand, with MFA.
  name          = "break-glass"
  force_destroy = false
  tags = {
    "break-glass"    = "true"
    "auto-remediate" = "off"
  }
}

resource "aws_iam_user_group_membership" "break_glass" {
  user   = aws_iam_user.break_glass.name
  groups = [aws_iam_group.break_glass.name]
}

# -- the Lambda (optional) -------------------------------------------------------------------------
locals {
  lambda_name = "${local.prefix}-automation"
  lambda_environment = merge(var.automation_settings, {
    AUTOMATION_STATE_DIR  = "/tmp/automation"
    AUTOMATION_RESPOND_ON = "alert"
    }, var.settings_secret_arn == null ? {} : {
    SETTINGS_SECRET_ID = var.settings_secret_arn
  })
}

resource "aws_cloudwatch_log_group" "automation" {
  count             = var.deploy_lambda ? 1 : 0
  name              = "/aws/lambda/${local.lambda_name}"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.lab.arn
}

data "aws_iam_policy_document" "lambda_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.lambda_name}:*"]
  }
}

resource "aws_iam_role_policy" "lambda_logs" {
  count  = var.deploy_lambda ? 1 : 0
  name   = "lambda-logs"
  role   = aws_iam_role.automation.id
  policy = data.aws_iam_policy_document.lambda_logs.json
}

resource "aws_lambda_function" "automation" {
  #checkov:skip=CKV_AWS_117:The function calls Jira, Slack and Splunk over the internet; inside a VPC it would need a NAT gateway (about 32 USD a month) for no gain here.
  #checkov:skip=CKV_AWS_116:Triggered by SQS: a failed record returns to the alert queue, whose redrive policy parks it in the dead-letter queue.
  #checkov:skip=CKV_AWS_272:The zip is reproducible (`lab package lambda` prints its sha256) and pinned by source_code_hash; code signing needs a signing profile per site.
  #checkov:skip=CKV_AWS_50:Every step of an incident is on its timeline, its Jira ticket and its Slack thread; X-Ray would add cost, not insight.
  count                          = var.deploy_lambda ? 1 : 0
  function_name                  = local.lambda_name
  description                    = "The automation: alert -> ticket -> enrich -> guarded remediation"
  role                           = aws_iam_role.automation.arn
  filename                       = var.lambda_zip
  source_code_hash               = filebase64sha256(var.lambda_zip)
  handler                        = "helpers.automation.aws_lambda.lambda_handler"
  runtime                        = "python3.11"
  timeout                        = 120
  memory_size                    = 512
  reserved_concurrent_executions = 5
  kms_key_arn                    = aws_kms_key.lab.arn

  environment {
    variables = local.lambda_environment
  }

  depends_on = [aws_cloudwatch_log_group.automation]
}

resource "aws_lambda_event_source_mapping" "alerts" {
  count                   = var.deploy_lambda ? 1 : 0
  event_source_arn        = module.alerts.queue_arn
  function_name           = aws_lambda_function.automation[0].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}
