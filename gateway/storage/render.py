"""`/render/image/...`: Supabase's image transformations, with an on-disk cache of variants.

Parameters (Supabase's `transformationOptionsSchema`): `width` and `height` (integers; 0 or
absent = not set; clamped to 1..2500 as Storage clamps), `resize` `cover` (default) |
`contain` | `fill`, `quality` 20..100 (default 80), `format` `origin` | `webp` | `avif`
(plus `png` / `jpeg`). Without `format`, as Storage's imgproxy does, a client that accepts
WebP (`Accept: image/webp`) gets WebP and the answer varies on `Accept`; `origin` keeps the
source's format.

The pixels are files-safety's: `files.images.transform` decodes under the bomb limits,
drops metadata and encodes. A variant is rendered once per (object version, parameters):
`<store>/render/<version>/<key>.<ext>`, written atomically, removed with its version (a new
upload is a new version, so a replaced image never serves a stale variant). The variant's
ETag is its key, which differs for every version and parameter set.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
from PIL import features

from files import images
from files.errors import UploadRefused
from gateway.storage import errors
from gateway.storage.store import ByteStore

RESIZE = ("cover", "contain", "fill")
FORMATS = ("origin", "webp", "avif", "png", "jpeg")
EXT = {
    "image/webp": "webp",
    "image/avif": "avif",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
}
TYPE_OF_EXT = {v: k for k, v in EXT.items()}


@dataclass(frozen=True)
class Params:
    width: int | None = None
    height: int | None = None
    resize: str = "cover"
    quality: int = 80
    format: str | None = None  # None: by Accept

    def segments(self) -> list[str]:
        """Storage's transformation string (what a signed render token carries)."""
        out = []
        if self.height:
            out.append(f"height:{self.height}")
        if self.width:
            out.append(f"width:{self.width}")
        if self.width or self.height:
            out.append(f"resize:{self.resize}")
        if self.quality != 80:
            out.append(f"quality:{self.quality}")
        return out


def _int(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError as exc:
        raise errors.invalid_parameter(name, f"{name} must be integer") from exc
    if number < 0:
        raise errors.invalid_parameter(name, f"{name} must be >= 0")
    return number


def params_from(values: Mapping[str, object]) -> Params:
    """Parameters from a query string or a `transform` object; Storage's validation."""
    width, height = _int(values.get("width"), "width"), _int(values.get("height"), "height")
    clamp = lambda v: min(max(v, 1), images.MAX_SIDE) if v else None  # noqa: E731
    resize = str(values.get("resize") or "cover")
    if resize not in RESIZE:
        raise errors.invalid_parameter("resize", "resize must be one of cover, contain, fill")
    quality = _int(values.get("quality"), "quality")
    if quality is not None and not 20 <= quality <= 100:
        raise errors.invalid_parameter("quality", "quality must be >= 20 and <= 100")
    fmt = values.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        raise errors.invalid_parameter("format", "format must be one of origin, webp, avif")
    return Params(clamp(width), clamp(height), resize, quality or 80, fmt)


def params_from_token(transformations: str, fmt: str | None) -> Params:
    values: dict[str, object] = {}
    for segment in (transformations or "").split(","):
        key, _, value = segment.partition(":")
        if key:
            values[key] = value
    values["format"] = fmt or None
    return params_from(values)


class Renderer:
    def __init__(self, store: ByteStore, threads: int = 2) -> None:
        self.store = store
        self.limiter = anyio.CapacityLimiter(threads)

    @staticmethod
    def output_type(params: Params, source_type: str, accept: str) -> tuple[str, str]:
        """(the `format` passed to files.images.transform, the content type it makes)."""
        fmt = params.format
        if fmt is None:
            fmt = "webp" if "image/webp" in (accept or "") else "origin"
        if fmt == "origin":
            return "origin", source_type if source_type in images.FORMATS else "image/png"
        if fmt == "avif" and not features.check("avif"):
            return "webp", "image/webp"
        return fmt, TYPE_OF_EXT[fmt]

    async def variant(
        self, version: str, source_type: str, params: Params, accept: str
    ) -> tuple[Path, str, str]:
        """(path, content type, ETag) of the rendered variant, rendering it when missing."""
        if source_type not in images.FORMATS:
            raise errors.from_refusal(
                UploadRefused("file_image_invalid", f"{source_type} is not an image to transform.")
            )
        fmt, content_type = self.output_type(params, source_type, accept)
        raw = f"{version}|{params.width}|{params.height}|{params.resize}|{params.quality}|{fmt}"
        key = hashlib.sha256(raw.encode()).hexdigest()[:40]
        directory = self.store.render_dir(version)
        path = directory / f"{key}.{EXT[content_type]}"
        if not path.is_file():
            await anyio.to_thread.run_sync(
                self._render, version, params, fmt, directory, path, limiter=self.limiter
            )
        return path, content_type, f'"{key}"'

    def _render(self, version: str, params: Params, fmt: str, directory: Path, path: Path):
        try:
            rendered = images.transform(
                self.store.path_of(version),
                params.width,
                params.height,
                params.resize,
                params.quality,
                fmt,
            )
        except UploadRefused as exc:
            raise errors.from_refusal(exc) from exc
        except ValueError as exc:
            raise errors.invalid_request(str(exc)) from exc
        except FileNotFoundError as exc:
            raise errors.no_such_key() from exc
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".render-", dir=directory)
        with os.fdopen(fd, "wb") as out:
            out.write(rendered.data)
        os.replace(tmp, path)
