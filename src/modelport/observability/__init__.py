"""Metrics, structured logs, request ids and tracing."""
