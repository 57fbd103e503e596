"""The shipped static files: exactly what VENDOR.md records, and nothing outside the package."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from modelport.console.assets import STATIC
from tests.console.conftest import browser

VENDOR = STATIC / "vendor"
ROW = re.compile(r"^\| (\S+) \| (\S+) \| (\S+) \| (\S+) \| `([0-9a-f]{64})` \|$", re.M)
PATCHED = re.compile(r"redoc.standalone.js is patched.*?`([0-9a-f]{64})`", re.S)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_vendored_file_is_recorded_with_its_version_licence_and_digest() -> None:
    text = (VENDOR / "VENDOR.md").read_text()
    rows = {m.group(1): m for m in ROW.finditer(text)}
    shipped = {p.name for p in VENDOR.iterdir() if not p.name.startswith(("VENDOR", "LICENSE"))}
    assert shipped == set(rows)
    for name, row in rows.items():
        assert row.group(3)[0].isdigit() and row.group(4) not in ("", "undefined"), name
        expected = PATCHED.search(text).group(1) if name == "redoc.standalone.js" else row.group(5)  # type: ignore[union-attr]
        assert sha256(VENDOR / name) == expected, f"{name} differs from VENDOR.md: rerun the vendor script"
        assert (VENDOR / f"LICENSE.{row.group(2)}").is_file()
    assert "cdn.redoc.ly" not in (VENDOR / "redoc.standalone.js").read_text()


async def test_static_files_are_served_and_nothing_else(app) -> None:  # type: ignore[no-untyped-def]
    async with browser(app) as client:
        js = await client.get("/ui/static/vendor/htmx.min.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert js.content == (VENDOR / "htmx.min.js").read_bytes()
        assert "max-age" in js.headers["cache-control"]
        css = await client.get("/ui/static/console.css")
        assert css.headers["content-type"].startswith("text/css")
        for bad in ("/ui/static/nope.js", "/ui/static/../session.py", "/ui/static/%2e%2e/session.py",
                    "/ui/static/vendor/../../templates/base.html"):
            assert (await client.get(bad)).status_code == 404, bad


def test_the_package_data_globs_cover_every_shipped_file() -> None:
    """pyproject's package-data for modelport.console must ship templates and static files."""
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    line = next(x for x in pyproject.splitlines() if x.startswith('"modelport.console"'))
    globs = re.findall(r'"([^"]+)"', line.split("=", 1)[1])
    root = STATIC.parent
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    for f in files:
        assert any(f.relative_to(root).match(g) for g in globs), f"{f} is not shipped"
