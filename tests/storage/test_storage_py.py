"""/storage/v1 through the real storage3 client (supabase-py), per role."""

from __future__ import annotations

import httpx
import pytest
from conftest import png_bytes
from storage3.exceptions import StorageApiError

from supabase import ClientOptions, create_client


def client(gw, who: str):
    """A supabase-py client whose requests carry `who`'s token (a user's or a key)."""
    opts = ClientOptions(schema="api", auto_refresh_token=False, persist_session=False,
                         headers={"Authorization": f"Bearer {gw.token(who)}"})
    key = gw.server.service_key if who == "service" else gw.server.anon_key
    return create_client(gw.url, key, options=opts)


def test_avatar_upload_list_download_sign_remove(storage_gw):
    gw = storage_gw
    owner = gw.scene["users"]["owner"]["id"]
    me = client(gw, "owner").storage.from_("avatars")
    path = f"{owner}/face.png"
    data = png_bytes()
    up = me.upload(path, data, {"content-type": "image/png", "cache-control": "120"})
    assert up.path == path and up.full_path == f"avatars/{path}"
    listed = me.list(owner)
    assert [f["name"] for f in listed] == ["face.png"]
    assert listed[0]["metadata"]["mimetype"] == "image/png"
    assert listed[0]["metadata"]["cacheControl"] == "max-age=120"
    got = me.download(path)
    assert got[:8] == b"\x89PNG\r\n\x1a\n"
    info = me.info(path)
    assert info["content_type"] == "image/png" and info["size"] == len(got)
    assert me.exists(path) and not me.exists(f"{owner}/nothing.png")
    signed = me.create_signed_url(path, 60)
    fetched = httpx.get(signed["signedURL"])
    assert fetched.status_code == 200 and fetched.content == got
    public = me.get_public_url(path)
    assert httpx.get(public).content == got
    removed = me.remove([path])
    assert [r["name"] for r in removed] == [path]
    assert gw.rows("avatars") == []
