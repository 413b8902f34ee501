"""Images: decode safely, strip metadata, re-encode, resize (Supabase image transformations).

- `open_safely(path)` checks the pixel count from the header *before* decoding (a 20,000 x
  20,000 PNG is refused without allocating it), turns Pillow's decompression-bomb warning into a
  refusal and bounds the frame count of animations.
- `clean(path, content_type)` decodes, applies the EXIF orientation, drops every metadata block
  (EXIF with GPS, XMP, ICC profile, PNG text chunks, comments) and re-encodes in the same format.
- `transform(src, width, height, resize, quality, format)` follows Supabase Storage's
  `/render/image` parameters: width and height 1..2500, `resize` cover (default: fill the box,
  crop the overflow, centred), contain (fit inside the box, keep the aspect ratio) or fill
  (stretch to the box), `quality` 20..100 (default 80) and `format` `origin` (keep the source
  format) or one of webp, png, jpeg, avif. Like Supabase's renderer, it never enlarges past the
  source for cover/contain when only one side is given.
- `variants(path, sizes)` are the square WebP avatar variants (64/128/256).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError, features

from files.errors import UploadRefused

# 40 megapixels: a 8000 x 5000 photo passes, a 20,000 x 20,000 bomb does not.
MAX_PIXELS = 40_000_000
MAX_FRAMES = 200
MAX_SIDE = 2500  # Supabase's transformation limit for width and height
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

FORMATS = {  # content type -> Pillow format name
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
}
CONTENT_TYPES = {v: k for k, v in FORMATS.items()}
OUTPUT_FORMATS = {"webp": "WEBP", "png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "avif": "AVIF"}
RESIZE_MODES = ("cover", "contain", "fill")


@dataclass(frozen=True)
class Rendered:
    """Encoded image bytes and what they are."""

    data: bytes
    content_type: str
    width: int
    height: int


def open_safely(path: Path | str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and fully decode an image, refusing bombs before any pixel is allocated."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
            width, height = im.size
            frames = getattr(im, "n_frames", 1)
            if (
                width * height > max_pixels
                or width * height * frames > max_pixels * 4
                or frames > MAX_FRAMES
            ):
                raise UploadRefused(
                    "file_image_too_large",
                    f"The image is {width} x {height} pixels ({frames} frame(s)); at most "
                    f"{max_pixels:,} pixels and {MAX_FRAMES} frames are accepted.",
                    details={
                        "width": width,
                        "height": height,
                        "frames": frames,
                        "max_pixels": max_pixels,
                    },
                )
            im.load()
            return im
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refuses at open, before our own check, past 2 x MAX_IMAGE_PIXELS.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise UploadRefused(
            "file_image_too_large",
            f"The image has {int(found.group(1)):,} pixels; at most {max_pixels:,} are accepted."
            if found
            else str(exc),
            details={"pixels": int(found.group(1)) if found else None, "max_pixels": max_pixels},
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRefused("file_image_invalid", f"The image cannot be decoded: {exc}") from exc


def _stripped(im: Image.Image) -> Image.Image:
    """The pixels only: orientation applied, then no EXIF, XMP, ICC, text or comment."""
    oriented = ImageOps.exif_transpose(im) or im
    oriented.info = {k: v for k, v in oriented.info.items() if k in ("transparency",)}
    return oriented


def _save(im: Image.Image, fmt: str, quality: int = 90, **extra) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG" and im.mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB")
    if fmt in ("WEBP", "AVIF") and im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if im.mode in ("LA", "PA", "P") else "RGB")
    options: dict = {"format": fmt}
    if fmt in ("JPEG", "WEBP", "AVIF"):
        options["quality"] = quality
    if fmt == "PNG":
        options["optimize"] = True
    if "transparency" in im.info and fmt in ("PNG", "GIF"):
        options["transparency"] = im.info["transparency"]
    options.update(extra)
    im.save(buf, **options)
    return buf.getvalue()


def clean(path: Path | str, content_type: str, max_pixels: int = MAX_PIXELS) -> bytes:
    """Decode, strip all metadata and re-encode in the same format (animations kept)."""
    fmt = FORMATS.get(content_type)
    if fmt is None:
        raise UploadRefused("file_type_not_allowed", f"{content_type} is not a raster image.")
    im = open_safely(path, max_pixels)
    if getattr(im, "n_frames", 1) > 1 and fmt in ("GIF", "WEBP"):
        frames = []
        durations = []
        for index in range(im.n_frames):
            im.seek(index)
            frames.append(im.convert("RGBA"))
            durations.append(im.info.get("duration", 100))
        first = frames[0]
        return _save(
            first,
            fmt,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
            disposal=2,
        )
    return _save(_stripped(im), fmt)


def _fit(src: tuple[int, int], width: int | None, height: int | None, resize: str):
    """Target size (and crop box for cover) for Supabase's resize modes."""
    sw, sh = src
    if width is None and height is None:
        return (sw, sh), None
    if width is None:
        h = min(height, sh) if resize != "fill" else height
        return (max(1, round(sw * h / sh)), h), None
    if height is None:
        w = min(width, sw) if resize != "fill" else width
        return (w, max(1, round(sh * w / sw))), None
    if resize == "fill":
        return (width, height), None
    if resize == "contain":
        scale = min(width / sw, height / sh, 1.0)
        return (max(1, round(sw * scale)), max(1, round(sh * scale))), None
    # cover: scale so the box is filled, then crop the centre
    scale = max(width / sw, height / sh)
    scaled = (max(width, round(sw * scale)), max(height, round(sh * scale)))
    left = (scaled[0] - width) // 2
    top = (scaled[1] - height) // 2
    return scaled, (left, top, left + width, top + height)


def _check_args(width, height, resize, quality):
    for name, value in (("width", width), ("height", height)):
        if value is not None and not (isinstance(value, int) and 1 <= value <= MAX_SIDE):
            raise ValueError(f"{name} must be an integer from 1 to {MAX_SIDE}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {', '.join(RESIZE_MODES)}")
    if not (isinstance(quality, int) and 20 <= quality <= 100):
        raise ValueError("quality must be an integer from 20 to 100")


def transform(
    src_path: Path | str,
    width: int | None = None,
    height: int | None = None,
    resize: str = "cover",
    quality: int = 80,
    format: str | None = "origin",
    max_pixels: int = MAX_PIXELS,
) -> Rendered:
    """Render a transformed copy of the image at `src_path` (see the module doc).

    Raises ValueError for bad parameters and UploadRefused for an image that cannot be
    decoded safely. The output never carries metadata.
    """
    _check_args(width, height, resize, quality)
    im = open_safely(src_path, max_pixels)
    source_format = im.format or "PNG"
    if format in (None, "origin"):
        fmt = source_format if source_format in CONTENT_TYPES else "PNG"
    elif format.lower() in OUTPUT_FORMATS:
        fmt = OUTPUT_FORMATS[format.lower()]
    else:
        raise ValueError(f"format must be origin or one of {', '.join(OUTPUT_FORMATS)}")
    if fmt == "AVIF" and not features.check("avif"):
        fmt = "WEBP"
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)
    im = _stripped(im)
    size, box = _fit(im.size, width, height, resize)
    if size != im.size:
        resample = Image.Resampling.LANCZOS
        if im.mode == "P":
            im = im.convert("RGBA")
        im = im.resize(size, resample, reducing_gap=3.0)
    if box is not None:
        im = im.crop(box)
    data = _save(im, fmt, quality=quality)
    return Rendered(data, CONTENT_TYPES[fmt], im.width, im.height)


def variants(
    path: Path | str, sizes: Iterable[int] = (64, 128, 256), quality: int = 80
) -> dict[int, Rendered]:
    """Square WebP variants (cover crop), one per size: the avatar variants."""
    return {size: transform(path, size, size, "cover", quality, "webp") for size in sizes}
