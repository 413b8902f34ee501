"""The Python SDK (sdk/python, `flagship_sdk`) against the whole gateway: sign-up and
sign-in, a learning flow, a CTF submission, API keys with and without the needed scope,
and the typed errors each refusal becomes (family, code, HTTP status)."""

from __future__ import annotations

import datetime as dt
import uuid

import flagship_sdk as fs
import pytest
from auth_helpers import last_link, module_gateway, unique_email
from flagship_sdk import models

from flagship.database import connect
from flagship.testing import samples
from flagship.testing.harness import User, grant_roles

PASSWORD = "sdk-client-pass-7"


@pytest.fixture(scope="module")
def gw(test_server):
    """The whole gateway; the edge's uploads go to its own /storage/v1."""
    mp = pytest.MonkeyPatch()
    for server in module_gateway(test_server):
        mp.setenv("STORAGE_URL", f"{server.url}/storage/v1")
        yield server
    mp.undo()


def sdk(gw, **kw) -> fs.Flagship:
    return fs.Flagship(gw.url, gw.anon_key, **kw)


def confirmed_user(gw, prefix: str, *roles: str) -> tuple[fs.Flagship, str]:
    """A user signed up and confirmed through the SDK (roles granted in SQL), signed in."""
    client = sdk(gw)
    email = unique_email(prefix)
    signed = client.auth.sign_up(email=email, password=PASSWORD, display_name=prefix)
    assert signed.session is None and signed.email == email
    client.auth.verify_email(token_hash=last_link(gw, email, "signup")["token"])
    if roles:
        with connect(gw.admin_url) as conn:
            grant_roles(conn, User(signed.user_id, email, {}), *roles)
            conn.commit()
    session = client.auth.sign_in(email=email, password=PASSWORD)
    assert session.user_id == signed.user_id and session.email == email
    return client, signed.user_id


@pytest.fixture(scope="module")
def course(gw) -> str:
    """A published free course, built through the SDK by an instructor."""
    teacher, teacher_id = confirmed_user(gw, "sdk-teacher", "instructor")
    slug = f"sdk-{teacher_id[:8]}"
    created = teacher.learning.create_course(slug=slug, title="Web security with the SDK")
    assert isinstance(created, models.LearningCreateCourseResult) and created.status == "draft"
    course_id = str(created.id)
    module_id = teacher.learning.create_module(course_id=course_id, title="Basics")
    assert isinstance(module_id, uuid.UUID)
    teacher.learning.create_lesson(
        module_id=module_id, title="Welcome", kind="article", changes={"body_md": "# Hi"}
    )
    teacher.learning.publish_course(course_id=course_id)
    return course_id


@pytest.fixture(scope="module")
def challenge(gw) -> str:
    """A visible static-flag challenge in a running individual event."""
    organiser, _ = confirmed_user(gw, "sdk-organiser", "instructor")
    event = organiser.ctf.create_event(
        event={"slug": "sdk-ctf", "title": "SDK CTF", "mode": "individual"}
    )
    with connect(gw.admin_url) as conn:
        conn.execute(
            "update ctf.events set starts_at = now() - interval '1 hour',"
            " ends_at = now() + interval '1 day' where id = %s",
            (str(event),),
        )
        conn.commit()
    cid = organiser.ctf.save_challenge(
        event_id=event,
        challenge={"state": "visible", "title": "Warmup", "category": "misc", "initial": 100},
    )
    organiser.ctf.add_flag(challenge_id=cid, kind="static", content="flag{sdk}")
    return str(cid)


def test_learner_signs_up_browses_and_enrolls(gw, course):
    learner, _ = confirmed_user(gw, "sdk-learner")
    found = learner.learning.courses.list(where={"id": course}, order=["title"], limit=5)
    assert [type(c) for c in found] == [models.LearningCoursesRow]
    (row,) = found
    assert row.id == uuid.UUID(course) and row.status == "published"
    assert isinstance(row.published_at, dt.datetime) and row.published_at.tzinfo is not None
    # The same through the chainable query, with an operator filter and descending order.
    newest = (
        learner.learning.courses.query()
        .ilike("slug", "sdk-%")
        .order("published_at", desc=True)
        .limit(1)
        .first()
    )
    assert newest == row
    enrollment = learner.learning.enroll(course_id=course)
    assert isinstance(enrollment, models.LearningEnrollResult)
    assert enrollment.course_id == uuid.UUID(course) and enrollment.progress_pct == 0.0
    (enrolled,) = learner.learning.my_enrollments.list()
    assert isinstance(enrolled, models.LearningMyEnrollmentsRow)
    assert enrolled.course_id == uuid.UUID(course) and enrolled.status == "active"
    assert isinstance(enrolled.enrolled_at, dt.datetime)
    learner.auth.sign_out()
    assert learner.auth.session() is None
    with pytest.raises(fs.NotAuthenticatedError) as info:
        learner.learning.enroll(course_id=course)
    assert info.value.code == "not_authenticated" and info.value.status == 401


def test_ctf_submit_wrong_then_right_flag(gw, challenge):
    player, _ = confirmed_user(gw, "sdk-player")
    event_id = player.ctf.challenges.list(where={"id": challenge})[0].event_id
    player.ctf.register(event_id=event_id)
    wrong = player.ctf.submit(challenge_id=challenge, flag="flag{nope}")
    assert isinstance(wrong, models.CtfSubmitResultIncorrect)  # the oneOf member by `status`
    assert (wrong.correct, wrong.status) == (False, "incorrect")
    right = player.ctf.submit(challenge_id=challenge, flag="flag{sdk}")
    assert isinstance(right, models.CtfSubmitResultCorrect)
    assert (right.correct, right.points, right.first_blood) == (True, 100, True)
    assert right.blood_rank == 1
    again = player.ctf.submit(challenge_id=challenge, flag="flag{sdk}")
    assert isinstance(again, models.CtfSubmitResultAlreadySolved) and again.correct is False
    with pytest.raises(fs.InvalidArgumentError) as info:
        player.ctf.submit(challenge_id=challenge, flag="x" * 600)
    err = info.value
    assert (err.code, err.status, err.sqlstate) == ("ctf_flag_too_long", 400, "22023")
    assert err.details == {"max_length": 512}
    with pytest.raises(fs.NotFoundError) as info:
        player.ctf.submit(challenge_id=uuid.uuid4(), flag="flag{sdk}")
    assert (info.value.code, info.value.status) == ("ctf_challenge_not_found", 404)


def test_api_key_calls_with_and_without_the_scope(gw, course):
    owner, owner_id = confirmed_user(gw, "sdk-integrator")
    key = owner.accounts.create_api_key(name="ci", scopes=["profile:read"])
    assert isinstance(key, models.AccountsCreateApiKeyResult) and key.scopes == ["profile:read"]
    assert key.owner_id == uuid.UUID(owner_id) and key.expires_at is None
    assert isinstance(key.created_at, dt.datetime) and key.key.startswith(key.prefix)
    keyed = sdk(gw, api_key=key.key)
    account = keyed.accounts.get_my_account()
    assert isinstance(account, models.AccountsGetMyAccountResult)
    assert account.id == uuid.UUID(owner_id) and "member" in account.roles
    me = keyed.edge.me()
    assert isinstance(me, fs.Me) and (me.user_id, me.scopes) == (owner_id, ["profile:read"])
    assert me.via_api_key == str(key.id) and me.account["id"] == owner_id
    with pytest.raises(fs.PermissionDeniedError) as info:
        keyed.learning.enroll(course_id=course)
    err = info.value
    assert (err.code, err.status) == ("scope_missing", 403)
    assert err.scope == "learning:progress:write" and err.object == "api.learning_enroll"
    with pytest.raises(fs.PermissionDeniedError) as info:  # views: the pre-request check
        keyed.learning.courses.list(limit=1)
    assert info.value.code == "scope_missing" and info.value.scope == "learning:courses:read"
    # A key token never manages keys (sessions only).
    with pytest.raises(fs.PermissionDeniedError) as info:
        keyed.accounts.create_api_key(name="more", scopes=["profile:read"])
    assert info.value.status == 403
    token = keyed.edge.exchange_api_key(key.key)
    assert isinstance(token, fs.TokenResponse) and token.scopes == ["profile:read"]
    assert token.api_key_id == str(key.id) and token.expires_in > 0
    assert owner.accounts.revoke_api_key(id=key.id) is None
    # Tokens already exchanged stop at once: the edge says 401, PostgREST 403 (a signed-in
    # role); either way the family is NotAuthenticatedError and the code the same.
    with pytest.raises(fs.NotAuthenticatedError) as info:
        keyed.edge.me()
    assert (info.value.code, info.value.status) == ("edge_api_key_revoked", 401)
    with pytest.raises(fs.NotAuthenticatedError) as info:
        keyed.accounts.get_my_account()
    assert (info.value.code, info.value.status) == ("edge_api_key_revoked", 403)
    with pytest.raises(fs.NotAuthenticatedError) as info:
        sdk(gw, api_key="fsk_00000000_" + "0" * 64)
    assert info.value.code == "edge_api_key_invalid" and info.value.request_id


def test_errors_map_to_their_family_code_and_status(gw):
    client, _ = confirmed_user(gw, "sdk-errors")
    with pytest.raises(fs.NotFoundError) as info:
        client.learning.enroll(course_id=uuid.uuid4())
    assert (info.value.code, info.value.status, info.value.sqlstate) == (
        "learning_course_not_found",
        404,
        "PT404",
    )
    with pytest.raises(fs.AuthError) as info:
        sdk(gw).auth.sign_in(email=unique_email("nobody"), password="wrong-pass-12")
    assert (info.value.code, info.value.status) == ("invalid_credentials", 400)
    with pytest.raises(fs.AuthError) as info:
        sdk(gw).auth.sign_up(email=unique_email("weak"), password="abc")
    assert info.value.code == "weak_password" and set(info.value.details["reasons"]) >= {"length"}
    with pytest.raises(fs.InvalidArgumentError) as info:  # a filter the view cannot take
        client.learning.courses.list(where={"id": "not-a-uuid"})
    assert info.value.status == 400 and info.value.sqlstate == "22P02"
    with pytest.raises(fs.InvalidArgumentError, match="no column"):  # refused before sending
        client.learning.courses.list(where={"nope": 1})


def test_edge_routes_are_typed_too(gw):
    client, user_id = confirmed_user(gw, "sdk-edge")
    assert client.edge.health().status == "ok"
    detected = client.edge.ai_language(text="Le chat dort sur le canapé depuis ce matin.")
    assert isinstance(detected, models.LanguageResponse) and detected.language == "fr"
    uploaded = client.edge.upload(
        bucket="avatars", path=f"{user_id}/me.png", data=samples.image("PNG"),
        content_type="image/png",
    )  # fmt: skip
    assert isinstance(uploaded, fs.Uploaded) and uploaded.bucket == "avatars"
    assert uploaded.path == f"{user_id}/me.png" and uploaded.size > 0
    with pytest.raises(fs.InvalidArgumentError) as info:  # the bytes are not the declared type
        client.edge.upload(
            bucket="avatars", path=f"{user_id}/x.jpg", data=samples.image("PNG"),
            content_type="image/jpeg",
        )  # fmt: skip
    assert info.value.status in (400, 415) and info.value.request_id
    with pytest.raises(fs.InvalidArgumentError) as info:  # pydantic validation: 422
        client.edge.ai_language(text="")
    assert (info.value.code, info.value.status) == ("invalid_argument", 422)
    with pytest.raises(fs.NotAuthenticatedError) as info:
        sdk(gw).edge.me()
    assert (info.value.code, info.value.status) == ("not_authenticated", 401)
