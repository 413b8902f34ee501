"""Sample files for the upload tests, made at test time (nothing binary is committed).

Bombs are built small: a 20,000 x 20,000 PNG is ~50 KB of zlib, a 1 GiB zip bomb is ~1 MB.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
import zlib

from PIL import Image


def image(fmt: str = "PNG", size=(64, 48), color=(200, 30, 30), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt, **save)
    return buf.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF has GPS coordinates, a camera and an orientation."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 (the stored image is 64 x 48)
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 0.0)
    return image("JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 128)


def png_bomb(side: int = 20_000) -> bytes:
    """A valid PNG header claiming side x side pixels (1-bit), with its zlib data."""
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")
    return buf.getvalue()


def svg(body: str = '<rect width="10" height="10" fill="red"/>', attrs: str = "") -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"{attrs}>'
        f"{body}</svg>"
    ).encode()


def pdf(*, javascript: bool = False, launch: bool = False, embedded: bool = False) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    action = None
    if javascript:
        action = {"/S": NameObject("/JavaScript"), "/JS": TextStringObject("app.alert(1);")}
    if launch:
        action = {"/S": NameObject("/Launch"), "/F": TextStringObject("cmd.exe")}
    if action:
        opened = DictionaryObject({NameObject(k): v for k, v in action.items()})
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(opened)
    if embedded:
        writer.add_attachment("payload.exe", b"MZ evil")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def zip_of(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buf.getvalue()


def zip_with_symlink(name: str = "link", target: str = "/etc/passwd") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, target)
    return buf.getvalue()


def zip_bomb(total: int = 1 << 30, members: int = 1) -> bytes:
    """`members` entries of zeros adding up to `total` bytes (1 GiB compresses to ~1 MB)."""
    buf = io.BytesIO()
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for index in range(members):
            with z.open(f"zeros-{index}.bin", "w", force_zip64=True) as out:
                for _ in range(total // members // len(chunk)):
                    out.write(chunk)
    return buf.getvalue()


def nested_zip(depth: int) -> bytes:
    data = zip_of({"flag.txt": b"flag{nested}"})
    for level in range(depth):
        data = zip_of({f"level{level}.zip": data})
    return data


def tar_gz(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/shadow"
            tar.addfile(info)
    return buf.getvalue()


def gzip_bomb(total: int = 1 << 30) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(total // len(chunk))]
    return b"".join(parts) + compressor.flush()
