"""Webhooks: pure rules (topics, receiver addresses, signatures, notifications, backoff, queue
messages), plus the two edges that leave the process: `sender` (the HTTP POST to a receiver)
and `queue` (SQS)."""
