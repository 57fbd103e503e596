"""The transport-agnostic core every protocol edge calls."""
