variable "region" {
  description = "The region of the trail, the queues and the servers (the trail itself is multi-region)."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every name; \"lab\" gives the names of labstack/aws/account.yaml."
  type        = string
  default     = "lab"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name_prefix))
    error_message = "name_prefix: 2 to 21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "owner_email" {
  description = "Who owns the deployment (a tag on every resource)."
  type        = string
  default     = "secops@example.com"
}

variable "admin_cidrs" {
  description = "Networks allowed to reach the Splunk and automation servers' ports (your office, your VPN). Never the whole internet."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.admin_cidrs : can(cidrnetmask(cidr)) && !endswith(cidr, "/0")])
    error_message = "admin_cidrs: IPv4 networks such as 198.51.100.0/24; a /0 (the whole internet) is refused."
  }
}

variable "log_retention_days" {
  description = "Days CloudTrail log files are kept in the trail bucket."
  type        = number
  default     = 365
}

variable "deploy_servers" {
  description = "Also run the Splunk and automation servers on EC2 (costs money per hour: see README)."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "The VPC of the servers (required with deploy_servers)."
  type        = string
  default     = null
}

variable "subnet_id" {
  description = "The subnet of the servers (required with deploy_servers)."
  type        = string
  default     = null
}

variable "lab_repository" {
  description = "The git URL of this lab's repository, which the automation server installs (with deploy_servers)."
  type        = string
  default     = null
}

variable "splunk_ami" {
  description = "An AMI with Splunk Enterprise installed (AWS Marketplace), for the Splunk server."
  type        = string
  default     = null
}

variable "splunk_instance_type" {
  description = "Splunk's instance type (Splunk's reference hardware is 12 vCPU; m5.2xlarge is a small lab)."
  type        = string
  default     = "m5.2xlarge"
}

variable "automation_instance_type" {
  description = "The automation server's instance type."
  type        = string
  default     = "t3.small"
}

variable "deploy_lambda" {
  description = "Also run the automation as a Lambda function fed by the alert queue."
  type        = bool
  default     = false
}

variable "lambda_zip" {
  description = "The deployment zip `lab package lambda` writes."
  type        = string
  default     = "../dist/automation-lambda.zip"
}

variable "settings_secret_arn" {
  description = "ARN of a Secrets Manager secret holding the automation's secret settings as JSON (JIRA_TOKEN, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SPLUNK_TOKEN, ...); helpers.config reads it through SETTINGS_SECRET_ID."
  type        = string
  default     = null
}

variable "automation_settings" {
  description = "The automation's non-secret settings (JIRA_URL, JIRA_PROJECT, SPLUNK_URL, SLACK_CHANNEL, ...), as environment variables."
  type        = map(string)
  default     = {}
}

variable "enable_guardduty" {
  description = "Create a GuardDuty detector (one per region: leave false if the account has one)."
  type        = bool
  default     = false
}
