"""files.inspect_upload and files.images, attack by attack (no database needed)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from files import images
from files.errors import CODES, UploadRefused
from files.inspect import Bucket, inspect_upload
from files.paths import check_object_path
from flagship.testing import samples

IMAGES = Bucket("avatars", 1 << 20, ["image/png", "image/jpeg", "image/webp", "image/gif"])
DOCS = Bucket("docs", 10 << 20, ["application/pdf", "image/svg+xml", "text/plain"])
CHALLENGES = Bucket(
    "challenge-files",
    100 << 20,
    ["application/zip", "application/gzip", "application/x-tar", "text/plain"],
)


def refused(data: bytes, declared: str | None, bucket: Bucket) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        inspect_upload(io.BytesIO(data), declared, bucket)
    assert caught.value.code in CODES
    assert caught.value.http_status == CODES[caught.value.code][0]
    return caught.value


def accepted(data: bytes, declared: str | None, bucket: Bucket):
    result = inspect_upload(io.BytesIO(data), declared, bucket)
    stored = result.read()
    result.discard()
    assert not result.path.exists()
    return result, stored


# -- Types: magic bytes, declared type, allowlist ---------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_each_image_format_is_detected_and_re_encoded(fmt, kind):
    result, stored = accepted(samples.image(fmt), kind, IMAGES)
    assert result.content_type == kind and result.cleaned
    assert Image.open(io.BytesIO(stored)).format == fmt
    assert result.sha256 != result.original_sha256 or result.size == result.original_size


def test_declared_type_must_match_the_magic_bytes():
    err = refused(samples.image("PNG"), "image/jpeg", IMAGES)
    assert err.code == "file_type_mismatch" and err.http_status == 415
    assert err.details == {"declared": "image/jpeg", "detected": "image/png"}


def test_a_type_outside_the_allowlist_is_refused_whatever_is_declared():
    assert refused(samples.pdf(), "application/pdf", IMAGES).code == "file_type_not_allowed"
    assert refused(samples.pdf(), None, IMAGES).code == "file_type_not_allowed"


def test_bytes_of_no_known_format_are_refused_unless_the_bucket_takes_binaries():
    blob = bytes(range(256)) * 4
    assert refused(blob, "image/png", IMAGES).code == "file_type_unknown"
    binaries = Bucket("bin", 1 << 20, ["application/octet-stream", "application/zip"])
    result, _ = accepted(blob, None, binaries)
    assert result.content_type == "application/octet-stream"
    # ... but not under the name of a format the bytes would have shown.
    assert refused(blob, "application/zip", binaries).code == "file_type_mismatch"


def test_html_is_never_accepted_even_as_text():
    page = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    assert refused(page, "text/plain", DOCS).code == "file_type_not_allowed"


def test_empty_and_over_limit_uploads():
    assert refused(b"", "text/plain", DOCS).code == "file_empty"
    small = Bucket("small", 100, ["text/plain"])
    err = refused(b"x" * 101, "text/plain", small)
    assert (err.code, err.http_status, err.details) == ("file_too_large", 413, {"limit": 100})


# -- Polyglots --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        samples.zip_of({"shell.php": b"<?php system($_GET['c']); ?>"}),
        b"<html><body><script>alert(document.cookie)</script></body></html>",
        b"<?php echo shell_exec($_GET['c']); ?>",
    ],
    ids=["zip", "html", "php"],
)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_a_payload_after_the_image_is_a_polyglot(fmt, payload):
    kind = f"image/{fmt.lower()}"
    err = refused(samples.image(fmt) + payload, kind, IMAGES)
    assert err.code == "file_polyglot"


def test_gifar_a_gif_with_a_jar_appended():
    jar = samples.zip_of(
        {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "A.class": b"\xca\xfe"}
    )
    assert refused(samples.image("GIF") + jar, "image/gif", IMAGES).code == "file_polyglot"


def test_php_inside_the_exif_of_a_jpeg_is_a_polyglot():
    exif = Image.Exif()
    exif[0x010E] = "<?php system($_GET['cmd']); ?>"  # ImageDescription
    data = samples.image("JPEG", exif=exif.tobytes())
    assert refused(data, "image/jpeg", IMAGES).code == "file_polyglot"


def test_a_pdf_with_data_after_its_end_is_a_polyglot():
    data = samples.pdf() + b"\n" + samples.zip_of({"x.txt": b"hidden"})
    assert refused(data, "application/pdf", DOCS).code == "file_polyglot"


# -- Images: bombs, metadata ------------------------------------------------------------------


def test_a_20000_by_20000_png_is_refused_before_it_is_decoded():
    bomb = samples.png_bomb()
    assert len(bomb) < 200_000
    err = refused(bomb, "image/png", IMAGES)
    assert err.code == "file_image_too_large" and err.http_status == 422
    assert err.details["pixels"] == 400_000_000


def test_metadata_is_stripped_and_orientation_applied():
    data = samples.jpeg_with_gps()
    before = Image.open(io.BytesIO(data))
    assert before.getexif().get_ifd(0x8825) and before.info.get("icc_profile")
    result, stored = accepted(data, "image/jpeg", IMAGES)
    after = Image.open(io.BytesIO(stored))
    assert dict(after.getexif()) == {}
    assert "icc_profile" not in after.info and "exif" not in after.info
    assert after.size == (48, 64)  # rotated upright, as the EXIF orientation said
    assert b"SpyCam" not in stored and result.cleaned


def test_png_text_chunks_are_dropped():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret location 51.5N")
    _, stored = accepted(samples.image("PNG", pnginfo=info), "image/png", IMAGES)
    assert b"secret location" not in stored


def test_truncated_images_are_refused():
    data = samples.image("PNG")[:-30]
    assert refused(data, "image/png", IMAGES).code == "file_image_invalid"


# -- SVG --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        '<rect width="1" height="1" onclick="alert(1)"/>',
        '<image href="https://evil.example/track.png"/>',
        '<use xlink:href="https://evil.example/sprite.svg#a"/>',
        "<foreignObject><div>hi</div></foreignObject>",
        '<a href="javascript:alert(1)"><text>x</text></a>',
        "<style>@import url(https://evil.example/x.css);</style>",
        '<rect style="fill:url(https://evil.example/p)"/>',
        '<set attributeName="href" to="javascript:alert(1)"/>',
    ],
)
def test_unsafe_svg_is_refused(body):
    allowed = Bucket("svg", 1 << 20, ["image/svg+xml"])
    assert refused(samples.svg(body), "image/svg+xml", allowed).code == "file_svg_unsafe"


def test_svg_with_an_entity_bomb_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg">'
        b"<text>&b;</text></svg>"
    )
    allowed = Bucket("svg", 1 << 20, ["image/svg+xml"])
    assert refused(bomb, "image/svg+xml", allowed).code == "file_svg_unsafe"


def test_a_plain_svg_is_re_serialised():
    allowed = Bucket("svg", 1 << 20, ["image/svg+xml"])
    source = samples.svg('<!-- a comment --><use href="#r"/><rect id="r" width="1" height="1"/>')
    result, stored = accepted(source, "image/svg+xml", allowed)
    assert result.cleaned and b"comment" not in stored and b'href="#r"' in stored


# -- PDF --------------------------------------------------------------------------------------


def test_a_plain_pdf_passes_with_its_page_count():
    result, _ = accepted(samples.pdf(), "application/pdf", DOCS)
    assert result.details["pages"] == 1 and not result.cleaned


@pytest.mark.parametrize("kind", ["javascript", "launch", "embedded"])
def test_active_pdfs_are_refused(kind):
    err = refused(samples.pdf(**{kind: True}), "application/pdf", DOCS)
    assert err.code == "file_pdf_unsafe"


def test_a_broken_pdf_is_refused():
    assert refused(b"%PDF-1.7\n1 0 obj garbage\n%%EOF", "application/pdf", DOCS).code == (
        "file_pdf_invalid"
    )


# -- Archives ---------------------------------------------------------------------------------


def test_a_normal_challenge_zip_passes():
    data = samples.zip_of({"chall/README.txt": b"find the flag", "chall/bin": b"\x7fELF..."})
    result, _ = accepted(data, "application/zip", CHALLENGES)
    assert result.details["members"] == 2 and len(result.sha256) == 64


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/passwd", "C:\\Windows\\win.ini", "a/../../b", "ok\x1b[2J.txt"],
)
def test_zip_slip_paths_are_refused(name):
    err = refused(samples.zip_of({name: b"x"}), "application/zip", CHALLENGES)
    assert err.code == "file_archive_unsafe_path" and err.details == {"member": name}


def test_zip_symlinks_are_refused():
    err = refused(samples.zip_with_symlink(), "application/zip", CHALLENGES)
    assert err.code == "file_archive_link"


def test_a_1_gib_zip_bomb_is_refused():
    bomb = samples.zip_bomb()
    assert len(bomb) < 2 << 20
    assert refused(bomb, "application/zip", CHALLENGES).code == "file_archive_bomb"


def test_many_members_that_add_up_past_the_total_are_a_bomb():
    bomb = samples.zip_bomb(total=600 << 20, members=12)  # 50 MiB each, under the ratio alone
    assert refused(bomb, "application/zip", CHALLENGES).code == "file_archive_bomb"


def test_nesting_beyond_two_levels_is_a_bomb():
    accepted(samples.nested_zip(2), "application/zip", CHALLENGES)
    assert refused(samples.nested_zip(3), "application/zip", CHALLENGES).code == "file_archive_bomb"


def test_nested_zip_slip_is_found():
    inner = samples.zip_of({"../../escape.txt": b"x"})
    outer = samples.zip_of({"inner.zip": inner})
    assert refused(outer, "application/zip", CHALLENGES).code == "file_archive_unsafe_path"


def test_tarballs_with_links_or_slip_paths_are_refused():
    good, _ = accepted(samples.tar_gz({"a/b.txt": b"hi"}), "application/gzip", CHALLENGES)
    assert good.details["members"] == 1
    err = refused(samples.tar_gz({"a.txt": b"x"}, symlink="shadow"), "application/gzip", CHALLENGES)
    assert err.code == "file_archive_link"
    err = refused(samples.tar_gz({"../x": b"x"}), "application/gzip", CHALLENGES)
    assert err.code == "file_archive_unsafe_path"


def test_a_gzip_bomb_is_refused():
    assert refused(samples.gzip_bomb(), "application/gzip", CHALLENGES).code == "file_archive_bomb"


# -- Paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["", "/abs", "a/../b", "..", "a//b", "a/./b", "a\\b", "a\x01b", "x" * 1025]
)
def test_unsafe_object_paths(path):
    with pytest.raises(UploadRefused) as caught:
        check_object_path(path)
    assert caught.value.code == "file_path_invalid" and caught.value.http_status == 400


def test_safe_object_paths():
    assert check_object_path("0d4f/avatar.png") == "0d4f/avatar.png"
    assert check_object_path("a/b c/é.txt") == "a/b c/é.txt"


# -- Transformations (Supabase /render/image parameters) --------------------------------------


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(samples.image("PNG", size=(800, 600)))
    return path


@pytest.mark.parametrize(
    ("resize", "size"), [("cover", (256, 100)), ("contain", (133, 100)), ("fill", (256, 100))]
)
def test_resize_modes(photo, resize, size):
    out = images.transform(photo, 256, 100, resize, 80, "webp")
    assert (out.width, out.height) == size and out.content_type == "image/webp"
    assert Image.open(io.BytesIO(out.data)).size == size


def test_one_side_keeps_the_aspect_ratio_and_never_enlarges(photo):
    assert (
        images.transform(photo, width=400).width,
        images.transform(photo, width=400).height,
    ) == (
        400,
        300,
    )
    big = images.transform(photo, width=2000)
    assert (big.width, big.height) == (800, 600)


def test_origin_keeps_the_format_and_quality_changes_the_size(photo):
    assert images.transform(photo, 100, 100).content_type == "image/png"
    low = images.transform(photo, 300, 300, quality=20, format="jpeg")
    high = images.transform(photo, 300, 300, quality=100, format="jpeg")
    assert low.content_type == "image/jpeg" and len(low.data) < len(high.data)


@pytest.mark.parametrize(
    "kwargs",
    [{"width": 0}, {"width": 2501}, {"resize": "stretch"}, {"quality": 10}, {"format": "bmp"}],
)
def test_bad_transformation_parameters(photo, kwargs):
    with pytest.raises(ValueError):
        images.transform(photo, **kwargs)


def test_a_bomb_is_refused_by_transform_too(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(samples.png_bomb())
    with pytest.raises(UploadRefused) as caught:
        images.transform(path, 64, 64)
    assert caught.value.code == "file_image_too_large"


def test_avatar_variants_are_square_webp(photo):
    out = images.variants(photo)
    assert sorted(out) == [64, 128, 256]
    for size, variant in out.items():
        assert Image.open(io.BytesIO(variant.data)).size == (size, size)
        assert variant.content_type == "image/webp"
