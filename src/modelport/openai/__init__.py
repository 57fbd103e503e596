"""OpenAI-compatible ``/v1`` edge: models, embeddings, chat completions (with SSE streaming).

An edge like any other: it translates OpenAI's wire format to the canonical request and calls
the core (``infer`` for embeddings, ``stream`` for chat). Imports inside modelport are absolute,
so this package never shadows the ``openai`` SDK.
"""
