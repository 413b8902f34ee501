"""/storage/v1 through the real supabase-js (tests/js/storage.mjs), per role."""

from __future__ import annotations

import base64
import json

from conftest import png_bytes

from flagship import config
from flagship.testing.node import run_node

SCRIPT = config.ROOT / "tests" / "js" / "storage.mjs"


def run_js(gw, step: str) -> dict:
    scene = {**gw.scene, "png": base64.b64encode(png_bytes((40, 30))).decode()}
    return run_node(
        SCRIPT,
        step,
        env={
            "SUPABASE_URL": gw.url,
            "SUPABASE_ANON_KEY": gw.server.anon_key,
            "SUPABASE_SERVICE_KEY": gw.server.service_key,
            "SCENE": json.dumps(scene),
        },
    )


def test_js_avatars(storage_gw):
    owner = storage_gw.scene["users"]["owner"]["id"]
    r = run_js(storage_gw, "avatars")
    assert r["up_error"] is None and r["up"]["fullPath"] == f"avatars/{owner}/js.png"
    assert r["dup_error"]["statusCode"] == "409"
    assert r["list"] == [{"name": "js.png", "mimetype": "image/png", "cache": "max-age=60"}]
    assert r["download_type"] == "image/png" and r["download_size"] > 0
    assert r["public_status"] == 200 and r["public_cache"] == "public, max-age=60"
    assert r["transform_status"] == 200 and r["transform_type"] == "image/webp"
    assert r["signed_status"] == 200 and r["signed_cache"] == "private, no-store"
    assert r["info_error"] is None and r["info"]["contentType"] == "image/png"
    assert r["exists"] is True and r["missing"] is False
    assert r["other_up_error"]["statusCode"] == "403"
    assert r["other_rm"] == []
    assert r["anon_up_error"]["statusCode"] == "403"
    assert r["anon_dl_size"] == r["download_size"]
    assert r["raw_error"] is None
    assert r["removed"] == [f"{owner}/js.png"]


def test_js_course_content(storage_gw):
    course = storage_gw.scene["course"]
    r = run_js(storage_gw, "course")
    assert r["up_error"] is None
    assert r["learner_text"] == "js notes" and r["learner_list"] == ["notes.txt"]
    assert r["learner_up_error"]["statusCode"] == "403"
    assert r["signed_status"] == 200 and r["signed_disposition"] == "attachment;"
    assert r["outsider_dl_error"]["statusCode"] == "404" and r["outsider_list"] == []
    assert r["anon_dl_error"]["statusCode"] == "404"
    assert r["move_error"] is None and r["move"]["message"] == "Successfully moved"
    assert r["copy_error"] is None and r["copy"]["path"] == f"course-content/{course}/js/copy.txt"
    assert r["signed_upload_error"] is None
    assert r["after"] == ["copy.txt", "moved.txt", "signed.txt"]
    assert sorted(r["removed"]) == [
        f"{course}/js/{n}" for n in ("copy.txt", "moved.txt", "signed.txt")
    ]


def test_js_buckets(storage_gw):
    r = run_js(storage_gw, "buckets")
    tag = storage_gw.scene["tag"]
    assert r["created_error"] is None and r["created"] == {"name": f"js-{tag}"}
    assert r["bucket"]["file_size_limit"] == 1024 and r["bucket"]["public"] is True
    assert r["big_error"]["statusCode"] == "413"
    assert r["wrong_error"]["statusCode"] == "415"
    assert r["user_create_error"]["statusCode"] == "403"
    assert all(b["id"] != f"js-{tag}" for b in r["user_list"])
    assert r["deleted_error"] is None
