"""A scene for the storage tests: users, a course, a visible and a hidden forum post, a
contribution, and one object in every bucket (rows written as the platform owner, so the
files guard trigger runs on them exactly as on Storage's own writes)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flagship.testing.harness import User, create_user, grant_roles, scalar


@dataclass
class StorageScene:
    owner: User
    other: User
    staff: User
    teacher: User
    admin: User
    course: str
    post: int
    hidden_post: int
    contribution: int
    ids: dict


def put_object(db, bucket: str, name: str, owner: str | None, mimetype: str, size: int = 100):
    db.execute(
        "insert into storage.objects (bucket_id, name, owner_id, owner, metadata)"
        " values (%s, %s, %s, %s::uuid, %s)",
        (bucket, name, owner, owner, json.dumps({"mimetype": mimetype, "size": size})),
    )


def _post(db, category: int, author: User, title: str, hidden: bool = False) -> int:
    thread = db.execute(
        "insert into community.threads (category_id, author_id, title, hidden_at)"
        " values (%s, %s, %s, case when %s then now() end) returning id",
        (category, author.id, title, hidden),
    ).fetchone()["id"]
    return db.execute(
        "insert into community.posts (thread_id, post_number, author_id, body, hidden_at)"
        " values (%s, 1, %s, 'body', case when %s then now() end) returning id",
        (thread, author.id, hidden),
    ).fetchone()["id"]


def build_storage_scene(db) -> StorageScene:
    owner = create_user(db, username="st_owner")
    other = create_user(db, username="st_other")
    staff = grant_roles(db, create_user(db, username="st_staff"), "moderator")
    teacher = grant_roles(db, create_user(db, username="st_teacher"), "instructor")
    admin = grant_roles(db, create_user(db, username="st_admin"), "admin")
    course = scalar(
        db,
        teacher,
        "select api.learning_create_course('storage-course', 'Storage course') ->> 'id'",
    )
    category = db.execute(
        "insert into community.categories (slug, name) values ('storage-cat', 'Storage')"
        " returning id"
    ).fetchone()["id"]
    post = _post(db, category, owner, "Visible")
    hidden_post = _post(db, category, owner, "Hidden", hidden=True)
    contribution = db.execute(
        "insert into community.contributions (author_id, kind, title, body)"
        " values (%s, 'article', 'Draft', 'text') returning id",
        (owner.id,),
    ).fetchone()["id"]
    ids = {
        "owner": owner.id,
        "course": course,
        "post": post,
        "hidden_post": hidden_post,
        "contribution": contribution,
        "avatar": f"{owner.id}/me.png",
        "cover": f"{course}/cover.png",
        "certificate": f"{owner.id}/FLG-0123456789ABCDEF01234567.pdf",
        "forum_image": f"{owner.id}/{post}/shot.png",
        "forum_pdf": f"{owner.id}/{post}/notes.pdf",
        "hidden_image": f"{owner.id}/{hidden_post}/shot.png",
        "contribution_file": f"{owner.id}/{contribution}/draft.zip",
    }
    put_object(db, "avatars", ids["avatar"], owner.id, "image/png")
    put_object(db, "course-covers", ids["cover"], teacher.id, "image/png")
    put_object(db, "certificates", ids["certificate"], None, "application/pdf")
    put_object(db, "forum-attachments", ids["forum_image"], owner.id, "image/png")
    put_object(db, "forum-attachments", ids["forum_pdf"], owner.id, "application/pdf")
    put_object(db, "forum-attachments", ids["hidden_image"], owner.id, "image/png")
    put_object(db, "contribution-files", ids["contribution_file"], owner.id, "application/zip")
    return StorageScene(
        owner, other, staff, teacher, admin, course, post, hidden_post, contribution, ids
    )
