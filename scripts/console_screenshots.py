"""Write a screenshot of every console page to docs/screenshots/ (the README shows them).

    .venv/bin/python scripts/console_screenshots.py [OUT_DIR]

Starts a throwaway server (temp home, the sklearn demo models) on loopback, gives it some
traffic, feedback, a drifted input stream, a training job and a dataset, then drives Debian's
Chromium (/usr/bin/chromium, through Playwright) over each page. PNGs are quantized to 128
colours to stay small.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image
from playwright.sync_api import sync_playwright

from modelport.app import create_app
from modelport.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@contextmanager
def server(home: Path) -> Iterator[str]:
    settings = Settings(_env_file=None, home=home, demo_models=True, demo_text_models=False,  # type: ignore[call-arg]
                        grpc_enabled=False, log_format="console")
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None,
                            access_log=False, lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(30)


def seed(url: str, key: str, tmp: Path) -> dict[str, str]:
    """Traffic, feedback, drift, a finished training job and an uploaded dataset."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        last = ""
        for i in range(80):  # petal length drifts upwards
            row = [5.0 + i % 7 * 0.1, 3.0, 1.5 + i * 0.07, 0.2 + i % 5 * 0.3]
            last = api.post("/api/v1/models/iris/predict", json={"features": row}).json()["request_id"]
            if i % 4 == 0:
                api.post(f"/api/v1/predictions/{last}/feedback", json={"actual": i % 3})
        for _ in range(20):
            api.post("/api/v1/models/diabetes/predict", json={"features": [0.01] * 10})
        job = api.post("/api/v1/jobs/train", json={
            "dataset": "builtin:iris", "estimator": "RandomForestClassifier",
            "register_as": {"name": "iris", "description": "retrained forest"}}).json()["job_id"]
        for _ in range(240):
            if api.get(f"/api/v1/jobs/{job}").json()["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.5)
        csv = tmp / "customers.csv"
        csv.write_text("age,income,visits,churned\n" + "".join(
            f"{20 + i % 50},{30000 + i * 137 % 40000},{i % 12},{i % 2}\n" for i in range(200)))
        with csv.open("rb") as f:
            dataset = api.post("/api/v1/datasets", files={"file": ("customers.csv", f, "text/csv")},
                               data={"name": "customers"}).json()["id"]
        api.post("/api/v1/keys", json={"name": "billing-app", "scopes": ["predict"], "expires_in": "30d"})
        api.post("/api/v1/users", json={"username": "alice", "password": "correct-horse-battery",
                                        "scopes": ["predict", "models:read"]})
    time.sleep(1.5)  # the prediction log is written behind
    return {"job": job, "prediction": last, "dataset": dataset}


def shrink(path: Path) -> None:
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128)
    small.save(path, optimize=True)


def capture(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp) / "home") as url:
        key = (Path(tmp) / "home" / "admin.key").read_text().strip()
        ids = seed(url, key, Path(tmp))
        pages = [
            ("models", "/ui/models"), ("model", "/ui/models/iris"),
            ("predictions", "/ui/predictions"), ("prediction", f"/ui/predictions/{ids['prediction']}"),
            ("quality", "/ui/quality/iris/1"), ("jobs", "/ui/jobs"), ("job", f"/ui/jobs/{ids['job']}"),
            ("datasets", "/ui/datasets"), ("dataset", f"/ui/datasets/{ids['dataset']}"),
            ("access", "/ui/access"), ("docs", "/docs"), ("redoc", "/redoc"),
        ]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            page.goto(f"{url}/ui/login")
            written.append(shot(page, out / "login.png"))
            page.get_by_label("API key", exact=True).fill(key)
            page.get_by_role("button", name="Sign in with key").click()
            page.wait_for_url("**/ui/models")
            for name, path in pages:
                page.goto(f"{url}{path}", wait_until="networkidle")
                ready = {"model": "[data-live][data-updated]", "docs": ".swagger-ui .opblock",
                         "redoc": "h1", "quality": "canvas.histogram[data-drawn]"}.get(name)
                if ready:
                    page.wait_for_selector(ready)
                written.append(shot(page, out / f"{name}.png", full=name == "quality"))
            phone = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=1,
                                        storage_state=context.storage_state())
            mobile = phone.new_page()
            mobile.goto(f"{url}/ui/models/iris", wait_until="networkidle")
            written.append(shot(mobile, out / "model-phone.png"))
            browser.close()
    return written


def shot(page: Any, path: Path, full: bool = False) -> Path:
    time.sleep(0.3)  # charts draw without animation, but after the load event
    page.screenshot(path=str(path), full_page=full)
    shrink(path)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    for written in capture(target):
        print(f"{written.relative_to(target.parent) if target.parent in written.parents else written}"
              f"  {written.stat().st_size // 1024} KiB")
