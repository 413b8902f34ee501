"""Data export and account deletion."""

from flagship.testing.harness import api_error, as_user


def test_export_contains_everything_about_me_only(db, cast):
    db.execute(
        "select private.record_activity(%s, 'lesson.completed', 'lesson', 'l1', '{}', 5)",
        (cast.owner.id,),
    )
    with as_user(db, cast.owner):
        export = db.execute("select api.accounts_export_my_data() as e").fetchone()["e"]
    section = export["accounts"]
    assert export["format"] == "flagship-export/1"
    assert section["user"]["email"] == cast.owner.email
    assert section["profile"]["username"] == "owner_user"
    assert [a["verb"] for a in section["activity"]] == ["lesson.completed"]
    assert section["roles"][0]["role"] == "member"
    assert cast.member.email not in str(export)
    with as_user(db, "anon"), api_error(db, None, "42501"):
        db.execute("select api.accounts_export_my_data()")


def test_delete_my_account(db, cast):
    with as_user(db, cast.owner):
        with api_error(db, "confirmation_mismatch", "22023"):
            db.execute("select api.accounts_delete_my_account('someone_else')")
        db.execute("select api.accounts_delete_my_account('OWNER_USER')")
    for table, col in [
        ("auth.users", "id"),
        ("accounts.profiles", "id"),
        ("accounts.user_roles", "user_id"),
    ]:
        n = db.execute(f"select count(*) as n from {table} where {col} = %s", (cast.owner.id,))
        assert n.fetchone()["n"] == 0
    audit = db.execute(
        "select * from ops.audit_log where action = 'accounts.user_deleted' and target_id = %s",
        (cast.owner.id,),
    ).fetchall()
    assert len(audit) == 1
    job = db.execute(
        "select payload from ops.outbox where topic = 'accounts.user_deleted' and dedupe_key = %s",
        (cast.owner.id,),
    ).fetchone()
    assert job["payload"] == {"user_id": cast.owner.id}


def test_last_admin_cannot_delete_themselves(db, cast):
    db.execute(
        "delete from accounts.user_roles where role = 'admin' and user_id <> %s", (cast.admin.id,)
    )
    with as_user(db, cast.admin), api_error(db, "role_protected", "PT409"):
        db.execute("select api.accounts_delete_my_account('admin_user')")


def test_admin_delete_user(db, cast):
    with as_user(db, cast.moderator), api_error(db, "forbidden", "42501"):
        db.execute("select api.accounts_delete_user(%s, 'spam account')", (cast.member.id,))
    with as_user(db, cast.admin):
        with api_error(db, "invalid_argument", "22023"):
            db.execute("select api.accounts_delete_user(%s, '')", (cast.member.id,))
        with api_error(db, "user_not_found", "PT404"):
            db.execute(
                "select api.accounts_delete_user('00000000-0000-4000-8000-000000000000', 'gone')"
            )
        db.execute("select api.accounts_delete_user(%s, 'spam account')", (cast.member.id,))
    gone = db.execute("select count(*) as n from auth.users where id = %s", (cast.member.id,))
    assert gone.fetchone()["n"] == 0
