"""scripts/console_screenshots.py writes a readable PNG of every page the README shows."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import need_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_the_screenshot_script_writes_every_page_the_readme_links(tmp_path: Path) -> None:
    need_browser()
    path = ROOT / "scripts" / "console_screenshots.py"
    spec = importlib.util.spec_from_file_location("console_screenshots", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    written = {p.name for p in script.capture(tmp_path)}
    linked = set(re.findall(r"\(docs/screenshots/([\w-]+\.png)\)", (ROOT / "README.md").read_text()))
    assert linked and linked == written
    for name in written:
        assert (ROOT / "docs" / "screenshots" / name).is_file(), f"{name} is not committed"
        with Image.open(tmp_path / name) as image:
            assert image.width >= 390 and image.height >= 600
            assert len(image.getcolors(256) or []) > 8  # a page, not a blank frame
        assert (tmp_path / name).stat().st_size < 200_000
