"""modelport: serve, train and track machine-learning models behind one fast, secure API."""

__version__ = "0.1.0"
