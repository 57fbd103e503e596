"""Webhooks: subscriptions, a durable outbox of signed deliveries, SSRF-checked targets."""
