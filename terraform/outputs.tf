output "trail_name" {
  description = "CLOUDTRAIL_TRAIL: the audit trail the playbook recreates if it is deleted"
  value       = aws_cloudtrail.lab.name
}

output "trail_bucket" {
  description = "CLOUDTRAIL_BUCKET"
  value       = aws_s3_bucket.trail.id
}

output "ingest_queue_url" {
  description = "CLOUDTRAIL_QUEUE: the queue the Splunk add-on's SQS-based S3 input (or helpers.ingest) reads"
  value       = module.ingest.queue_url
}

output "alerts_topic_arn" {
  description = "The topic for the Splunk add-on's SNS alert action (lab export splunk-app --sns-topic)"
  value       = module.alerts.topic_arn
}

output "alerts_queue_url" {
  description = "AUTOMATION_ALERT_QUEUE: the queue the automation reads"
  value       = module.alerts.queue_url
}

output "automation_role_arn" {
  description = "The automation's identity (never remediated by its own playbooks)"
  value       = aws_iam_role.automation.arn
}

output "ingest_policy_arn" {
  description = "Attach to the identity of the Splunk add-on's AWS account"
  value       = aws_iam_policy.ingest_reader.arn
}

output "lambda_function" {
  description = "The automation Lambda, when deploy_lambda"
  value       = var.deploy_lambda ? aws_lambda_function.automation[0].function_name : null
}

output "servers" {
  description = "Private addresses of the Splunk and automation servers, when deploy_servers"
  value = var.deploy_servers ? {
    splunk     = aws_instance.splunk[0].private_ip
    automation = aws_instance.automation[0].private_ip
  } : null
}
