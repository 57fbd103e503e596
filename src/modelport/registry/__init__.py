"""Model registry: names, versions, aliases, artifacts."""
