"""The CDN purge hook: replacing, moving or deleting an object of a public bucket queues
`files.cdn_purge`; the worker's handler POSTs the object's public URLs to the purge URL."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from conftest import png_bytes

from flagship.database import connect
from mail.settings import MailSettings
from sync.cdn import public_urls
from sync.handlers import Job
from sync.settings import WorkerSettings
from sync.topics import build


def purge_jobs(gw, name: str) -> list[dict]:
    with connect(gw.admin_url, autocommit=True) as conn:
        return conn.execute(
            "select id, payload, dedupe_key from ops.outbox where topic = 'files.cdn_purge'"
            " and payload ->> 'name' = %s order by id",
            (name,),
        ).fetchall()


def send(gw, who: str, method: str, path: str, **kw) -> httpx.Response:
    r = httpx.request(
        method,
        f"{gw.storage_url}{path}",
        headers={**gw.headers(who), **kw.pop("headers", {})},
        **kw,
    )
    assert r.status_code == 200, r.text
    return r


def test_replace_move_delete_of_a_public_object_queue_purges(storage_gw):
    gw = storage_gw
    me = gw.scene["users"]["owner"]["id"]
    name = f"{me}/cdn.png"
    png = {"content": png_bytes(), "headers": {"content-type": "image/png"}}
    send(gw, "owner", "POST", f"/object/avatars/{name}", **png)
    assert purge_jobs(gw, name) == []  # a new object: nothing cached yet
    send(gw, "owner", "PUT", f"/object/avatars/{name}", **png)
    send(
        gw,
        "owner",
        "POST",
        "/object/move",
        json={"bucketId": "avatars", "sourceKey": name, "destinationKey": f"{me}/cdn2.png"},
    )
    send(gw, "owner", "DELETE", "/object/avatars", json={"prefixes": [f"{me}/cdn2.png"]})
    jobs = purge_jobs(gw, name) + purge_jobs(gw, f"{me}/cdn2.png")
    assert [j["payload"]["reason"] for j in jobs] == ["replaced", "moved", "deleted"]
    assert all(j["payload"]["bucket_id"] == "avatars" for j in jobs)
    assert len({j["payload"]["version"] for j in jobs}) == 3


def test_private_buckets_queue_nothing(storage_gw):
    gw = storage_gw
    name = f"{gw.scene['course']}/cdn/private.txt"
    text = {"content": b"x", "headers": {"content-type": "text/plain"}}
    send(gw, "teacher", "POST", f"/object/course-content/{name}", **text)
    send(gw, "teacher", "PUT", f"/object/course-content/{name}", **text)
    send(gw, "teacher", "DELETE", "/object/course-content", json={"prefixes": [name]})
    assert purge_jobs(gw, name) == []


class Receiver(BaseHTTPRequestHandler):
    """Records each POST; answers with the class's `status`."""

    seen: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).seen.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
        )
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b'{"success": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.seen, Receiver.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def settings(**kw) -> WorkerSettings:
    return WorkerSettings(
        database_url="postgresql://unused", mail=MailSettings.from_env({}, "x"), **kw
    )


def test_the_handler_posts_the_public_urls(receiver):
    job = Job(
        7,
        "files.cdn_purge",
        {"bucket_id": "avatars", "name": "u 1/a.png", "version": "v", "reason": "replaced"},
        0,
        5,
    )
    handler = build(
        settings(
            cdn_purge_url=f"{receiver}/zones/z/purge_cache",
            cdn_purge_token="tok",
            storage_public_url="https://cdn.example",
        )
    )
    handler["files.cdn_purge"](job)
    (call,) = Receiver.seen
    assert call["path"] == "/zones/z/purge_cache"
    assert call["headers"]["Authorization"] == "Bearer tok"
    assert call["headers"]["Idempotency-Key"] == job.idempotency_key
    assert call["body"] == {
        "files": [
            "https://cdn.example/storage/v1/object/public/avatars/u%201/a.png",
            "https://cdn.example/storage/v1/render/image/public/avatars/u%201/a.png",
        ]
    }
    assert public_urls("https://cdn.example/", "avatars", "u 1/a.png") == call["body"]["files"]
    # A refusal raises, so the worker retries later.
    Receiver.status = 503
    with pytest.raises(RuntimeError):
        handler["files.cdn_purge"](job)


def test_without_a_purge_url_there_is_nothing_to_call(receiver):
    job = Job(8, "files.cdn_purge", {"bucket_id": "avatars", "name": "a.png"}, 0, 5)
    build(settings())["files.cdn_purge"](job)
    assert Receiver.seen == []
