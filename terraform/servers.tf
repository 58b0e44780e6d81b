# Optional: the Splunk and automation servers on EC2. Their ports admit only var.admin_cidrs (a
# /0 is refused by the variable's validation); they reach out on HTTPS only.

locals {
  servers = var.deploy_servers ? 1 : 0
  #: Splunk Web, splunkd's management API, HEC, and the automation server.
  server_ports = { splunk_web = 8000, splunk_management = 8089, splunk_hec = 8088, automation = 8787 }
}

resource "aws_security_group" "servers" {
  count       = local.servers
  name        = "${local.prefix}-servers"
  description = "Splunk and the automation server: admin ports from admin_cidrs only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "admin" {
  for_each = var.deploy_servers ? {
    for pair in setproduct(keys(local.server_ports), var.admin_cidrs) : "${pair[0]}-${pair[1]}" => {
      port = local.server_ports[pair[0]]
      cidr = pair[1]
    }
  } : {}
  security_group_id = aws_security_group.servers[0].id
  description       = "admin access to ${each.key}"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_ingress_rule" "peers" {
  count                        = local.servers
  security_group_id            = aws_security_group.servers[0].id
  description                  = "Splunk's webhook to the automation, the automation's searches in Splunk"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8787
  referenced_security_group_id = aws_security_group.servers[0].id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  count             = local.servers
  security_group_id = aws_security_group.servers[0].id
  description       = "HTTPS out: AWS APIs, Jira Cloud, Slack"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_iam_instance_profile" "automation" {
  count = local.servers
  name  = "${local.prefix}-automation"
  role  = aws_iam_role.automation.name
}

resource "aws_iam_role" "splunk" {
  count              = local.servers
  name               = "${local.prefix}-splunk"
  description        = "The Splunk server: the add-on's SQS-based S3 input and SNS alert action"
  assume_role_policy = data.aws_iam_policy_document.automation_trust.json
}

resource "aws_iam_role_policy_attachment" "splunk" {
  count      = local.servers
  role       = aws_iam_role.splunk[0].name
  policy_arn = aws_iam_policy.ingest_reader.arn
}

resource "aws_iam_instance_profile" "splunk" {
  count = local.servers
  name  = "${local.prefix}-splunk"
  role  = aws_iam_role.splunk[0].name
}

data "aws_ssm_parameter" "al2023" {
  count = local.servers
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_instance" "splunk" {
  count                  = local.servers
  ami                    = var.splunk_ami
  instance_type          = var.splunk_instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.servers[0].id]
  iam_instance_profile   = aws_iam_instance_profile.splunk[0].name
  monitoring             = true
  ebs_optimized          = true

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    encrypted   = true
    volume_size = 100
  }

  tags = { Name = "${local.prefix}-splunk", team = "secops" }
}

resource "aws_instance" "automation" {
  count                  = local.servers
  ami                    = data.aws_ssm_parameter.al2023[0].value
  instance_type          = var.automation_instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.servers[0].id]
  iam_instance_profile   = aws_iam_instance_profile.automation[0].name
  monitoring             = true
  ebs_optimized          = true
  user_data              = templatefile("${path.module}/automation-server.sh", { repository = var.lab_repository })

  lifecycle {
    precondition {
      condition     = var.lab_repository != null
      error_message = "deploy_servers: set lab_repository, the git URL the automation server installs the lab from."
    }
  }

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    encrypted = true
  }

  tags = { Name = "${local.prefix}-automation", team = "secops", "auto-remediate" = "off" }
}
