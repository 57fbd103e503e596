"""Tracking: the durable prediction log, its query API, feedback, performance, drift and usage."""
