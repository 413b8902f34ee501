"""RLS matrix of the files domain: the storage.objects policies of every new bucket, the
files tables and the files_ API, role by role.

Roles: anon, owner (uploads avatars, forum and contribution files; holds a certificate),
other (a member), staff (moderator), teacher (owner of the course), admin, service_role.
course-content and challenge-files keep their rows in the learning and CTF matrices.
"""

from __future__ import annotations

import pytest
from storage_scene import build_storage_scene

from flagship.testing.harness import as_user
from flagship.testing.matrix import Matrix

ROLES = ["anon", "owner", "other", "staff", "teacher", "admin", "service_role"]
M = Matrix(["files"], ROLES)
ALL = M.same("yes")
OWNER_STAFF = M.cells(
    anon="no",
    owner="yes",
    other="no",
    staff="yes",
    teacher="no",
    admin="yes",
    service_role="yes",
)


def read(bucket: str, key: str, expected, label: str) -> None:
    where = f"bucket_id = '{bucket}' and name = %({key})s"
    M.select("storage.objects", where, expected, label=label)


def write(label: str, sql: str, expected) -> None:
    M.execute("storage.objects", sql, expected, label=label)


# -- Reading ----------------------------------------------------------------------------------
read("avatars", "avatar", ALL, "read avatars")
read(
    "course-covers",
    "cover",
    M.cells(
        anon="no",
        owner="no",
        other="no",
        staff="no",
        teacher="yes",
        admin="yes",
        service_role="yes",
    ),
    "read cover of a draft course",
)
read(
    "certificates",
    "certificate",
    M.cells(
        anon="no",
        owner="yes",
        other="no",
        staff="no",
        teacher="no",
        admin="yes",
        service_role="yes",
    ),
    "read certificates",
)
read("forum-attachments", "forum_image", ALL, "read image of a visible post")
read("forum-attachments", "forum_pdf", OWNER_STAFF, "read pdf of a visible post")
read("forum-attachments", "hidden_image", OWNER_STAFF, "read image of a hidden post")
read("contribution-files", "contribution_file", OWNER_STAFF, "read contribution files")

# -- Writing: each role tries its own folder (or the scene's course / post) -----------------
META = """'{"mimetype": "image/png", "size": 10}'"""
MINE = "coalesce((select auth.uid())::text, 'anon')"
DENY_BUT = {r: "deny" for r in ROLES}
write(
    "insert own avatar",
    f"insert into storage.objects (bucket_id, name, owner_id, metadata)"
    f" values ('avatars', {MINE} || '/new.png', {MINE}, {META})",
    M.cells(
        **DENY_BUT
        | {
            "owner": "yes",
            "other": "yes",
            "staff": "yes",
            "teacher": "yes",
            "admin": "yes",
            "service_role": "yes",
        }
    ),
)
write(
    "insert into the owner's avatar folder",
    f"insert into storage.objects (bucket_id, name, metadata)"
    f" values ('avatars', %(owner)s || '/evil.png', {META})",
    M.cells(**DENY_BUT | {"owner": "yes", "service_role": "yes"}),
)
write(
    "insert course cover",
    f"insert into storage.objects (bucket_id, name, metadata)"
    f" values ('course-covers', %(course)s || '/c2.png', {META})",
    M.cells(**DENY_BUT | {"teacher": "yes", "admin": "yes", "service_role": "yes"}),
)
write(
    "insert certificate",
    "insert into storage.objects (bucket_id, name, metadata) values ('certificates',"
    f" {MINE} || '/FLG-FFFFFFFFFFFFFFFFFFFFFFFF.pdf',"
    """ '{"mimetype": "application/pdf", "size": 10}')""",
    M.cells(**DENY_BUT | {"service_role": "yes"}),
)
write(
    "insert attachment of the owner's post",
    f"insert into storage.objects (bucket_id, name, metadata)"
    f" values ('forum-attachments', {MINE} || '/' || %(post)s || '/a.png', {META})",
    M.cells(**DENY_BUT | {"owner": "yes", "service_role": "yes"}),
)
write(
    "insert contribution file",
    f"insert into storage.objects (bucket_id, name, metadata)"
    f" values ('contribution-files', {MINE} || '/' || %(contribution)s || '/b.png', {META})",
    M.cells(**DENY_BUT | {"owner": "yes", "service_role": "yes"}),
)
NO_WRITE = M.cells(
    anon="no",
    owner="yes",
    other="no",
    staff="yes",
    teacher="no",
    admin="yes",
    service_role="yes",
)
write(
    "delete forum attachment",
    "delete from storage.objects where bucket_id = 'forum-attachments' and name = %(forum_pdf)s",
    NO_WRITE,
)
write(
    "delete contribution file",
    "delete from storage.objects where bucket_id = 'contribution-files'"
    " and name = %(contribution_file)s",
    NO_WRITE,
)
write(
    "replace avatar",
    "update storage.objects set metadata = metadata || '{\"size\": 20}'"
    " where bucket_id = 'avatars' and name = %(avatar)s",
    M.cells(
        anon="no",
        owner="yes",
        other="no",
        staff="no",
        teacher="no",
        admin="no",
        service_role="yes",
    ),
)
write(
    "delete certificate",
    "delete from storage.objects where bucket_id = 'certificates' and name = %(certificate)s",
    M.cells(**{r: "no" for r in ROLES} | {"service_role": "yes"}),
)

# -- The files tables and API --------------------------------------------------------------
M.select(
    "files.quotas",
    "grantee = 'everyone'",
    M.cells(
        anon="deny",
        owner="yes",
        other="yes",
        staff="yes",
        teacher="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "files.usage",
    "user_id = %(owner)s",
    M.cells(
        anon="deny",
        owner="yes",
        other="no",
        staff="no",
        teacher="no",
        admin="no",
        service_role="yes",
    ),
)
M.select("files.uploads", "true", M.cells(**DENY_BUT | {"service_role": "no"}))
M.write("files.usage", "update", "update files.usage set bytes = 0 where user_id = %(owner)s")
M.write(
    "files.uploads",
    "insert",
    "insert into files.uploads (bucket_id, name, sha256, size, content_type, original_sha256)"
    " values ('avatars', %(avatar)s, repeat('0', 64), 1, 'image/png', repeat('0', 64))",
    M.cells(**DENY_BUT | {"service_role": "deny"}),
)
M.write("files.quotas", "update", "update files.quotas set bytes = null")
M.execute(
    "api.files_get_my_usage",
    "select api.files_get_my_usage()",
    M.cells(
        anon="deny",
        owner="yes",
        other="yes",
        staff="yes",
        teacher="yes",
        admin="yes",
        service_role="not_authenticated",
    ),
)
M.execute(
    "api.files_get_certificate_pdf",
    "select api.files_get_certificate_pdf('FLG-0123456789ABCDEF01234567')",
    M.same("learning_certificate_not_found"),
)


@pytest.fixture(scope="module")
def scene(module_db):
    return build_storage_scene(module_db)


@pytest.fixture(scope="module")
def who(scene):
    return {
        "anon": "anon",
        "owner": scene.owner,
        "other": scene.other,
        "staff": scene.staff,
        "teacher": scene.teacher,
        "admin": scene.admin,
        "service_role": "service_role",
    }


@M.parametrize("select")
def test_select(module_db, scene, who, cell):
    cell.check(module_db, who[cell.role], scene.ids)


@M.parametrize("write")
def test_write(module_db, scene, who, cell):
    cell.check(module_db, who[cell.role], scene.ids)


@M.parametrize("execute")
def test_execute(module_db, scene, who, cell):
    cell.check(module_db, who[cell.role], scene.ids)


def test_matrix_covers_every_files_object(module_db, scene):
    assert M.uncovered(module_db) == []


def test_a_public_forum_image_follows_its_post(module_db, scene):
    """Hiding the post takes its images out of public reach at once."""
    module_db.execute("savepoint hide")
    module_db.execute("update community.posts set hidden_at = now() where id = %s", (scene.post,))
    with as_user(module_db, "anon"):
        seen = module_db.execute(
            "select count(*) as n from storage.objects where name = %s", (scene.ids["forum_image"],)
        ).fetchone()["n"]
    module_db.execute("rollback to savepoint hide")
    assert seen == 0
