"""/auth/v1 through the real supabase-py client, and the journeys that start with sign-in.

- learner: sign up → confirm through the link in the local mailbox → sign in → browse
  learning_courses → enroll (REST through the same gateway);
- admin: auth.admin.create_user with the service key → rpc('accounts_grant_role') → the
  grant in api.ops_audit_log;
- integration: rpc('accounts_create_api_key') → exchange at /functions/v1/api-keys/token →
  call the API with the exchanged token → rotate → revoke.
"""

from __future__ import annotations

import httpx
import pytest
from auth_helpers import claims, last_link, mails, module_gateway, unique_email
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from flagship.database import connect
from supabase import ClientOptions, create_client

PASSWORD = "py-client-pass-5"


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(test_server)


def new_client(gw, key: str | None = None, **options):
    opts = ClientOptions(schema="api", auto_refresh_token=False, persist_session=False, **options)
    return create_client(gw.url, key or gw.anon_key, options=opts)


def open_link(gw, email: str, kind: str = "signup") -> httpx.URL:
    """Follow the emailed link like a browser would; where Auth redirects to."""
    link = last_link(gw, email, kind)
    response = httpx.get(f"{gw.url}{link['link']}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return httpx.URL(response.headers["location"])


def admin_user(gw, service) -> tuple[str, object]:
    """An administrator (the first one is made directly in SQL) signed in through the client."""
    email = unique_email("py-admin")
    user = service.auth.admin.create_user(
        {"email": email, "password": PASSWORD, "email_confirm": True}
    ).user
    with connect(gw.admin_url) as conn:
        conn.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, 'admin')", (user.id,)
        )
        conn.commit()
    client = new_client(gw)
    client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    return user.id, client


def test_sign_up_confirm_sign_in_refresh_sign_out(gw):
    client = new_client(gw)
    email = unique_email("py")
    signed = client.auth.sign_up(
        {"email": email, "password": PASSWORD, "options": {"data": {"display_name": "Py"}}}
    )
    assert signed.session is None and signed.user.email == email
    with pytest.raises(AuthApiError) as info:
        client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    assert info.value.code == "email_not_confirmed" and info.value.status == 400
    # Confirm with the token hash from the mailbox (what a server-side confirm page does).
    link = last_link(gw, email, "signup")
    verified = client.auth.verify_otp({"token_hash": link["token"], "type": "signup"})
    assert verified.user.email_confirmed_at is not None
    session = client.auth.sign_in_with_password({"email": email, "password": PASSWORD}).session
    assert claims(session.access_token)["user_roles"] == ["member"]
    assert client.auth.get_user().user.user_metadata["display_name"] == "Py"
    refreshed = client.auth.refresh_session().session
    assert refreshed.refresh_token != session.refresh_token
    with pytest.raises(AuthApiError) as info:
        client.auth.sign_in_with_password({"email": email, "password": "wrong-pass-12"})
    assert info.value.code == "invalid_credentials"
    client.auth.sign_out()
    assert client.auth.get_session() is None
    # The signed-out refresh token is dead on the server too.
    with pytest.raises(AuthApiError) as info:
        new_client(gw).auth.refresh_session(refreshed.refresh_token)
    assert info.value.code == "refresh_token_not_found"


def test_client_errors_are_typed(gw):
    client = new_client(gw)
    with pytest.raises(AuthWeakPasswordError) as info:
        client.auth.sign_up({"email": unique_email("pyweak"), "password": "abc"})
    assert set(info.value.reasons) == {"length", "characters"}


def test_recovery_and_password_update(gw):
    service = new_client(gw, gw.service_key)
    email = unique_email("pyrec")
    service.auth.admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    client = new_client(gw)
    client.auth.reset_password_for_email(email)
    link = last_link(gw, email, "recovery")
    client.auth.verify_otp({"token_hash": link["token"], "type": "recovery"})
    client.auth.update_user({"password": "py-new-pass-6"})
    client.auth.sign_out()
    assert (
        new_client(gw)
        .auth.sign_in_with_password({"email": email, "password": "py-new-pass-6"})
        .session
    )


def test_magic_link_otp_code(gw):
    service = new_client(gw, gw.service_key)
    email = unique_email("pyotp")
    service.auth.admin.create_user({"email": email, "email_confirm": True})
    client = new_client(gw)
    client.auth.sign_in_with_otp({"email": email, "options": {"should_create_user": False}})
    code = last_link(gw, email, "magiclink")["code"]
    session = client.auth.verify_otp({"email": email, "token": code, "type": "email"}).session
    assert claims(session.access_token)["amr"][0]["method"] == "otp"


def test_admin_api(gw):
    service = new_client(gw, gw.service_key)
    email = unique_email("pyadm")
    created = service.auth.admin.create_user(
        {
            "email": email,
            "password": PASSWORD,
            "email_confirm": True,
            "user_metadata": {"display_name": "Adm"},
        }
    ).user
    assert service.auth.admin.get_user_by_id(created.id).user.email == email
    updated = service.auth.admin.update_user_by_id(
        created.id, {"app_metadata": {"tier": "gold"}}
    ).user
    assert updated.app_metadata["tier"] == "gold"
    listed = service.auth.admin.list_users(page=1, per_page=100)
    assert created.id in {u.id for u in listed}
    invited = service.auth.admin.invite_user_by_email(unique_email("pyinv"))
    assert invited.user.invited_at is not None
    link = service.auth.admin.generate_link({"type": "magiclink", "email": email})
    assert link.properties.verification_type == "magiclink"
    assert link.properties.action_link.startswith(f"{gw.url}/auth/v1/verify?token=")
    service.auth.admin.delete_user(created.id)
    with pytest.raises(AuthApiError) as info:
        service.auth.admin.get_user_by_id(created.id)
    assert info.value.code == "user_not_found"
    # The same calls with the anon key are refused.
    with pytest.raises(AuthApiError) as info:
        new_client(gw).auth.admin.list_users()
    assert info.value.status == 403 and info.value.code == "not_admin"


# -- journeys ---------------------------------------------------------------------------------
def publish_course(gw, service) -> str:
    """An instructor (granted by an admin through the API) publishes a free course."""
    _, admin = admin_user(gw, service)
    email = unique_email("py-teacher")
    teacher_id = service.auth.admin.create_user(
        {"email": email, "password": PASSWORD, "email_confirm": True}
    ).user.id
    admin.rpc("accounts_grant_role", {"p_user_id": teacher_id, "p_role": "instructor"}).execute()
    teacher = new_client(gw)
    teacher.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    assert "instructor" in claims(teacher.auth.get_session().access_token)["user_roles"]
    slug = f"intro-{teacher_id[:8]}"
    course = (
        teacher.rpc("learning_create_course", {"p_slug": slug, "p_title": "Intro to web security"})
        .execute()
        .data
    )
    module = (
        teacher.rpc("learning_create_module", {"p_course_id": course["id"], "p_title": "Basics"})
        .execute()
        .data
    )
    teacher.rpc(
        "learning_create_lesson",
        {
            "p_module_id": module,
            "p_title": "Welcome",
            "p_kind": "article",
            "p_changes": {"body_md": "# Hello"},
        },
    ).execute()
    teacher.rpc("learning_publish_course", {"p_course_id": course["id"]}).execute()
    return course["id"]


def test_implicit_flow_link_carries_the_tokens(gw):
    client = new_client(gw, flow_type="implicit")
    email = unique_email("implicit")
    client.auth.sign_up({"email": email, "password": PASSWORD})
    landing = open_link(gw, email)
    tokens = dict(httpx.QueryParams(landing.fragment))
    assert tokens["type"] == "signup" and tokens["token_type"] == "bearer"
    client.auth.set_session(tokens["access_token"], tokens["refresh_token"])
    assert client.auth.get_user().user.email == email


def test_learner_journey(gw):
    service = new_client(gw, gw.service_key)
    course_id = publish_course(gw, service)
    learner = new_client(gw)
    email = unique_email("learner")
    learner.auth.sign_up(
        {
            "email": email,
            "password": PASSWORD,
            "options": {"email_redirect_to": "http://127.0.0.1:3000/welcome"},
        }
    )
    assert mails(gw, email)[-1]["template"] == "auth_signup"
    # supabase-py signs up with PKCE by default: the link lands on the app with ?code=,
    # which the app exchanges (with the verifier the client kept) for the session.
    landing = open_link(gw, email)
    assert str(landing).startswith("http://127.0.0.1:3000/welcome?code=")
    learner.auth.exchange_code_for_session({"auth_code": landing.params["code"]})
    assert learner.auth.get_user().user.email_confirmed_at is not None
    learner.auth.sign_out()
    learner.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    courses = learner.table("learning_courses").select("id, title").execute().data
    assert course_id in {c["id"] for c in courses}
    learner.rpc("learning_enroll", {"p_course_id": course_id}).execute()
    enrolled = learner.table("learning_my_enrollments").select("course_id").execute().data
    assert [e["course_id"] for e in enrolled] == [course_id]


def test_admin_journey(gw):
    service = new_client(gw, gw.service_key)
    admin_id, admin = admin_user(gw, service)
    target = service.auth.admin.create_user(
        {"email": unique_email("promoted"), "password": PASSWORD, "email_confirm": True}
    ).user
    admin.rpc(
        "accounts_grant_role",
        {"p_user_id": target.id, "p_role": "moderator", "p_reason": "community help"},
    ).execute()
    trail = (
        admin.table("ops_audit_log")
        .select("action, actor_id, target_id, reason")
        .eq("target_id", target.id)
        .execute()
        .data
    )
    assert {
        "action": "accounts.role_granted",
        "actor_id": admin_id,
        "target_id": target.id,
        "reason": "community help",
    } in trail
    # The role reaches the promoted user's next token.
    client = new_client(gw)
    client.auth.sign_in_with_password({"email": target.email, "password": PASSWORD})
    assert "moderator" in claims(client.auth.get_session().access_token)["user_roles"]


def test_integration_journey(gw):
    service = new_client(gw, gw.service_key)
    email = unique_email("integrator")
    service.auth.admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    owner = new_client(gw)
    owner.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    key = (
        owner.rpc("accounts_create_api_key", {"p_name": "ci", "p_scopes": ["profile:read"]})
        .execute()
        .data
    )

    def exchange(secret: str) -> httpx.Response:
        return httpx.post(
            f"{gw.url}/functions/v1/api-keys/token", json={"api_key": secret}, timeout=10
        )

    token = exchange(key["key"]).json()["access_token"]
    assert claims(token)["scopes"] == ["profile:read"]
    as_key = new_client(gw, headers={"Authorization": f"Bearer {token}"})
    account = as_key.rpc("accounts_get_my_account").execute().data
    assert account["email"] == email
    rotated = (
        owner.rpc("accounts_rotate_api_key", {"p_id": key["id"], "p_overlap": "0 seconds"})
        .execute()
        .data
    )
    assert exchange(rotated["key"]).status_code == 200
    assert exchange(key["key"]).json()["code"] == "edge_api_key_expired"
    owner.rpc("accounts_revoke_api_key", {"p_id": rotated["id"]}).execute()
    assert exchange(rotated["key"]).json()["code"] == "edge_api_key_revoked"
