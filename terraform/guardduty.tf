# Optional: a GuardDuty detector (the guardduty-disabled detection and re-enable-guardduty
# playbook watch it). One detector per region: leave enable_guardduty false if there is one.
resource "aws_guardduty_detector" "lab" {
  #checkov:skip=CKV2_AWS_3:A single-account lab; an organization enables GuardDuty for all accounts from its delegated administrator instead.
  count  = var.enable_guardduty ? 1 : 0
  enable = true
}
