"""The console's shipped static files (``/ui/static/...``), served from the package.

Only files that exist in the package directory are served: the set is listed once, so a path
can never reach outside it. Vendored files are versioned by ``vendor/VENDOR.md`` and may be
cached by the browser for a day; the console's own for a few minutes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
FILES = {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()}
MEDIA = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".md": "text/markdown"}

router = APIRouter()


def asset(path: str) -> FileResponse:
    found = FILES.get(path)
    if found is None:
        raise HTTPException(404, "Not Found")
    cache = "public, max-age=86400" if path.startswith("vendor/") else "public, max-age=300"
    return FileResponse(found, media_type=MEDIA.get(found.suffix, "application/octet-stream"),
                        headers={"Cache-Control": cache})


@router.get("/static/{path:path}")
async def static(path: str) -> FileResponse:
    return asset(path)
