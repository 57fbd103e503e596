"""Images to model inputs: decode an upload with Pillow, then preprocess per the model's config.

A model that takes images says how in ``ServingConfig.preprocessing["image"]``::

    {"size": [8, 8], "mode": "L", "invert": true, "scale": [0, 16], "layout": "flatten",
     "dtype": "float32", "mean": null, "std": null, "input": null}

``size`` is (width, height); ``mode`` a Pillow mode (L, RGB); ``invert`` flips dark-on-light
pictures to light-on-dark; ``scale`` maps 0..255 linearly onto [lo, hi]; ``mean``/``std``
(per channel) normalise after scaling; ``layout`` is ``flatten`` (N, H*W*C), ``hwc`` (N, H, W, C)
or ``chw`` (N, C, H, W); ``input`` names the tensor (default: the signature's first input).
"""

from __future__ import annotations

import io
import warnings
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelport.core.types import TensorDict
from modelport.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from modelport.registry.manifest import Signature

IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/bmp": "BMP",
               "image/webp": "WEBP", "image/tiff": "TIFF"}


class ImagePreprocessing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: tuple[int, int] = Field(description="(width, height)")
    mode: Literal["L", "RGB"] = "RGB"
    invert: bool = False
    scale: tuple[float, float] = (0.0, 1.0)
    mean: list[float] | None = None
    std: list[float] | None = None
    layout: Literal["flatten", "hwc", "chw"] = "flatten"
    dtype: Literal["float32", "float64", "uint8"] = "float32"
    input: str | None = None


def image_config(preprocessing: dict[str, Any], model: str) -> ImagePreprocessing:
    raw = preprocessing.get("image")
    if raw is None:
        raise InvalidInput(f"model {model!r} takes no image uploads (no image preprocessing in its config)")
    try:
        return ImagePreprocessing.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"model {model!r} has an invalid image preprocessing config") from exc


def decode(data: bytes, content_type: str | None, max_pixels: int) -> Any:
    """Decode and fully load an image, refusing non-images, other formats and pixel bombs."""
    from PIL import Image, UnidentifiedImageError

    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in IMAGE_TYPES:
        raise UnsupportedMediaType(
            f"upload must be an image ({', '.join(sorted(IMAGE_TYPES))}), not {kind[:64] or 'unknown'}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise PayloadTooLarge(f"image has {image.width}x{image.height} pixels; the maximum is "
                                      f"{max_pixels}")
            if image.format not in IMAGE_TYPES.values():
                raise UnsupportedMediaType(f"image format {image.format} is not accepted")
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PayloadTooLarge("image has too many pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput("upload is not a readable image") from None
    return image


def to_inputs(image: Any, config: ImagePreprocessing, signature: Signature) -> TensorDict:
    from PIL import Image, ImageOps

    img = image.convert(config.mode) if image.mode != config.mode else image
    if img.size != tuple(config.size):
        img = img.resize(tuple(config.size), Image.Resampling.BOX)
    if config.invert:
        img = ImageOps.invert(img)
    arr = np.asarray(img, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    lo, hi = config.scale
    arr = lo + arr * ((hi - lo) / 255.0)
    if config.mean is not None or config.std is not None:
        mean = np.asarray(config.mean or [0.0], dtype=np.float64)
        std = np.asarray(config.std or [1.0], dtype=np.float64)
        if np.any(std == 0):
            raise InvalidInput("image preprocessing std must not be zero")
        arr = (arr - mean) / std
    if config.layout == "flatten":
        out = arr.reshape(1, -1)
    elif config.layout == "hwc":
        out = arr[None]
    else:
        out = arr.transpose(2, 0, 1)[None]
    name = config.input or signature.inputs[0].name
    return {name: out.astype(config.dtype)}
