"""HTTP plumbing shared by the FastAPI edges (``api``, ``oip``, ``openai``): the gate's ASGI
middleware and dependencies, deadlines and disconnects, fast JSON responses.

Edges import this package, never each other.
"""
