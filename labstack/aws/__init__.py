"""The emulated AWS account: moto in server mode wrapped by the CloudTrail recorder."""
