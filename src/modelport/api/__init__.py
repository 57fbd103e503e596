"""FastAPI edges: the JSON REST API, health, metrics."""
