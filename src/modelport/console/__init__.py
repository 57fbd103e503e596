"""The console: a web UI at ``/ui`` for models, traffic, jobs, the prediction log and drift.

Server-rendered Jinja2 pages with a little htmx and Chart.js (vendored, no build step), served
by the API process. Every page reads and writes through the public ``/api/v1`` as the signed-in
principal (see :mod:`modelport.console.api`); the session cookie is accepted by ``/ui`` only.
"""

from __future__ import annotations

from fastapi import APIRouter

from modelport.console import access, assets, jobs, models, predictions, quality, signin
from modelport.console.docs import router as docs_router

router = APIRouter(prefix="/ui", include_in_schema=False)
for _module in (signin, assets, models, predictions, quality, jobs, access):
    router.include_router(_module.router)

__all__ = ["docs_router", "router"]
