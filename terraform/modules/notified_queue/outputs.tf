output "topic_arn" {
  description = "The topic's ARN"
  value       = aws_sns_topic.this.arn
}

output "queue_arn" {
  description = "The queue's ARN"
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "The queue's URL"
  value       = aws_sqs_queue.this.url
}

output "dead_letter_queue_arn" {
  description = "The dead-letter queue's ARN"
  value       = aws_sqs_queue.dead_letters.arn
}
