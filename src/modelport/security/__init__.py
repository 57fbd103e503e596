"""Authentication and authorization: users, JWTs, API keys, scopes, the principal of a request."""
