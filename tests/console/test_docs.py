"""``/docs`` and ``/redoc`` reference only assets this server ships (no CDN)."""

from __future__ import annotations

import re

import httpx

from tests.console.conftest import browser

ASSET = re.compile(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'')


async def test_the_api_docs_load_only_local_assets(app) -> None:  # type: ignore[no-untyped-def]
    async with browser(app) as client:
        for path in ("/docs", "/redoc"):
            page = await client.get(path)
            assert page.status_code == 200
            assert "cdn" not in page.text and "fonts.googleapis" not in page.text
            refs = [a or b for a, b in ASSET.findall(page.text)]
            assert refs, path
            for ref in refs:
                assert ref.startswith("/"), f"{path} loads {ref}"
                assert (await client.get(ref)).status_code == 200, ref
            csp = page.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        swagger = (await client.get("/docs")).text
        assert '"validatorUrl": null' in swagger and "/docs/oauth2-redirect" in swagger
        assert (await client.get("/docs/oauth2-redirect")).status_code == 200


async def test_the_docs_stay_public(app) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/openapi.json")).status_code == 200
        assert "/ui/" not in (await client.get("/openapi.json")).text
