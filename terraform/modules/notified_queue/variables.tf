variable "topic_name" {
  description = "The SNS topic."
  type        = string
}

variable "queue_name" {
  description = "The SQS queue subscribed to the topic."
  type        = string
}

variable "dead_letter_queue_name" {
  description = "Where a message goes after max_receive_count failed receives."
  type        = string
}

variable "max_receive_count" {
  description = "Receives before a message is parked in the dead-letter queue."
  type        = number
}

variable "visibility_timeout" {
  description = "Seconds a received message stays hidden from other readers."
  type        = number
}

variable "kms_key_arn" {
  description = "The key that encrypts the topic and the queues."
  type        = string
}
