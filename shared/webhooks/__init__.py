"""Webhooks as pure rules: topics, receiver addresses, signatures, notifications, backoff and
queue messages. Nothing here talks to DynamoDB or SQS; `shared/services` does."""
