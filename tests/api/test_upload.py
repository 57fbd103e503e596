"""Image uploads: a PNG of an sklearn digit is classified as that digit; bad uploads get 4xx."""

from __future__ import annotations

import io

import httpx
import numpy as np
import onnxruntime as ort
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from modelport.demo_text import digits_onnx


def digit_png(pixels: np.ndarray, scale: int = 8) -> bytes:
    """Dark ink on white paper, upscaled, as a person's picture of a digit would be."""
    gray = (255 - np.round(pixels.reshape(8, 8) * 255 / 16)).astype(np.uint8)
    image = Image.fromarray(gray, mode="L").resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


async def test_digit_png_is_classified_as_that_digit(client: httpx.AsyncClient) -> None:
    x, y = load_digits(return_X_y=True)
    _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    session = ort.InferenceSession(digits_onnx()[0], providers=["CPUExecutionProvider"])
    offline_labels = session.run(["label"], {"input": x_test.astype(np.float32)})[0]
    # one image per digit, each one the model gets right offline
    picks = [next(i for i in range(len(y_test)) if y_test[i] == d == offline_labels[i]) for d in range(10)]
    for i in picks:
        files = {"file": (f"digit-{y_test[i]}.png", digit_png(x_test[i]), "image/png")}
        r = await client.post("/api/v1/models/digits/predict/file", files=files)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["predictions"] == [int(y_test[i])]
        assert len(body["probabilities"][0]) == 10 and body["confidence"][0] > 0.5


async def test_rgb_jpeg_also_works(client: httpx.AsyncClient) -> None:
    x, y = load_digits(return_X_y=True)
    png = Image.open(io.BytesIO(digit_png(x[0], scale=16))).convert("RGB")
    buf = io.BytesIO()
    png.save(buf, format="JPEG", quality=95)
    r = await client.post("/api/v1/models/digits/predict/file",
                          files={"file": ("d.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 200 and r.json()["predictions"] == [int(y[0])]


async def test_bad_uploads_get_4xx(client: httpx.AsyncClient) -> None:
    url = "/api/v1/models/digits/predict/file"
    r = await client.post(url, files={"file": ("notes.txt", b"hello, not an image", "text/plain")})
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
    r = await client.post(url, files={"file": ("fake.png", b"\x89PNG but not really", "image/png")})
    assert r.status_code == 400 and "not a readable image" in r.json()["detail"]
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 + 10)
    r = await client.post(url, files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413
    huge = io.BytesIO()
    Image.new("L", (8000, 6000)).save(huge, format="PNG")  # small file, 48 M pixels
    r = await client.post(url, files={"file": ("huge.png", huge.getvalue(), "image/png")})
    assert r.status_code == 413 and "pixels" in r.json()["detail"]
    r = await client.post("/api/v1/models/iris/predict/file",
                          files={"file": ("d.png", digit_png(np.zeros(64)), "image/png")})
    assert r.status_code == 400 and "no image" in r.json()["detail"]
    r = await client.post("/api/v1/models/nope/predict/file",
                          files={"file": ("d.png", digit_png(np.zeros(64)), "image/png")})
    assert r.status_code == 404
    r = await client.post(url, data={"version": "1"})
    assert r.status_code == 422
