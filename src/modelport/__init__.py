"""modelport: serve, train and track machine-learning models behind one fast, secure API."""

__version__ = "0.1.0"

# --- bring your own model (#18): the contract of `python` models
from modelport.runtime.pymodel import PythonModel  # noqa: E402

__all__ = ["PythonModel", "__version__"]
