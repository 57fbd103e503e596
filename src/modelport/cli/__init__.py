"""The ``modelport`` command line, one module per command group (see :mod:`modelport.cli.main`).

Local mode calls the same services the API calls, in the data home; remote mode (``--url``,
``MODELPORT_URL`` or a ``modelport login`` profile) calls a server through
:mod:`modelport.client`.
"""

from modelport.cli.main import app, main

__all__ = ["app", "main"]
