"""The README's tritonclient snippet runs, unchanged but for addresses and credentials."""

from __future__ import annotations

import contextlib
import gc
import io
import re
from pathlib import Path

from tests.conftest import LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tritonclient_snippet_runs(oip_server: LiveServer, admin_headers: dict[str, str]) -> None:
    text = README.read_text()
    match = re.search(r"<!-- oip-snippet.*?-->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "README lost its OIP snippet"
    code = match.group(1)
    assert 'headers = {"authorization": "Bearer <key>"}' in code
    credentials = {k.lower(): v for k, v in admin_headers.items()}
    code = (code.replace("localhost:8000", oip_server.http_address)
                .replace("localhost:8081", oip_server.grpc_address)
                .replace('{"authorization": "Bearer <key>"}', repr(credentials)))
    out = io.StringIO()
    namespace: dict[str, object] = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    for client in ("http", "grpc"):
        namespace[client].close()  # type: ignore[attr-defined]
    namespace.clear()
    gc.collect()  # the stock tritonclient.http __del__ must run here, not on another thread
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[0 2]") and lines[-1] == "[0 2]", lines
