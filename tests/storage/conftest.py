"""A gateway over a database of this package's own, with its own byte directory, and a
scene: avatar owners, a course with its teacher, an enrolled learner and an outsider."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from flagship import config, tokens
from flagship.database import connect
from flagship.testing.gateway import GatewayServer, serve_gateway
from flagship.testing.harness import User, create_user, grant_roles, scalar


@dataclass
class StorageGateway:
    server: GatewayServer
    admin_url: str
    root: Path
    scene: dict

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def storage_url(self) -> str:
        return f"{self.server.url}/storage/v1"

    def token(self, who: str) -> str:
        """The bearer token of a scene user, or a project key ('anon' / 'service')."""
        if who == "anon":
            return self.server.anon_key
        if who == "service":
            return self.server.service_key
        return self.scene["users"][who]["token"]

    def headers(self, who: str) -> dict[str, str]:
        return {"apikey": self.server.anon_key, "authorization": f"Bearer {self.token(who)}"}

    def stored_files(self) -> set[str]:
        """Every object version file in the byte directory."""
        return {p.name for p in (self.root / "objects").rglob("*") if p.is_file()}

    def temp_files(self) -> list[Path]:
        return [p for p in (self.root / "tmp").iterdir()]

    def rows(self, bucket: str) -> list[dict]:
        with connect(self.admin_url, autocommit=True) as conn:
            return conn.execute(
                "select name, version, owner_id, metadata from storage.objects"
                " where bucket_id = %s order by name",
                (bucket,),
            ).fetchall()


def _token(user: User) -> str:
    return tokens.sign(user.claims, config.Settings.from_env().jwt_secret)


def build_scene(admin_url: str) -> dict:
    tag = uuid.uuid4().hex[:8]
    with connect(admin_url) as conn:
        users = {
            name: create_user(conn, username=f"{name}_{tag}")
            for name in ("owner", "other", "teacher", "learner", "outsider", "organiser", "player")
        }
        users["teacher"] = grant_roles(conn, users["teacher"], "instructor")
        users["organiser"] = grant_roles(conn, users["organiser"], "instructor")
        event = scalar(
            conn,
            users["organiser"],
            "select api.ctf_create_event(%s::jsonb)",
            (f'{{"slug": "files-{tag}", "title": "Files CTF", "mode": "individual"}}',),
        )
        conn.execute(
            "update ctf.events set starts_at = now() + interval '1 day',"
            " ends_at = now() + interval '2 days' where id = %s",
            (event,),
        )
        scalar(conn, users["player"], "select api.ctf_register(%s)", (event,))
        teacher = users["teacher"]
        course = scalar(
            conn,
            teacher,
            "select api.learning_create_course(%s, %s, 'Basics')",
            (f"files-{tag}", f"Files {tag}"),
        )["id"]
        module = scalar(conn, teacher, "select api.learning_create_module(%s, 'One')", (course,))
        scalar(
            conn,
            teacher,
            "select api.learning_create_lesson(%s, 'Intro', 'article', %s)",
            (module, '{"body_md": "# Intro"}'),
        )
        scalar(conn, teacher, "select api.learning_publish_course(%s)", (course,))
        scalar(conn, users["learner"], "select api.learning_enroll(%s)", (course,))
        conn.commit()
    return {
        "tag": tag,
        "course": str(course),
        "event": str(event),
        "users": {n: {"id": u.id, "token": _token(u)} for n, u in users.items()},
    }


@pytest.fixture(scope="module")
def storage_gw(test_server, tmp_path_factory) -> Iterator[StorageGateway]:
    name = test_server.clone()
    root = tmp_path_factory.mktemp("storage")
    try:
        admin = test_server.admin(name)
        scene = build_scene(admin)
        with serve_gateway(test_server.app(name), storage_root=str(root)) as server:
            yield StorageGateway(server, admin, root, scene)
    finally:
        test_server.drop(name)


def png_bytes(size: tuple[int, int] = (64, 48), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (1600, 1250)) -> bytes:
    """A photo-like JPEG (a gradient, so it does not compress to nothing)."""
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()
