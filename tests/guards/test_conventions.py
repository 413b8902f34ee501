"""House rules that keep one way of doing each thing in SQL (docs/conventions.md).

- "Signed in?" is asked only by `private.require_user()`; an inline `auth.uid() is null`
  check that raises not_authenticated is refused (a reviewed exception is listed below).
- Argument validation uses the foundation family (`private.arg_error`, `arg_keys`,
  `arg_field`, `arg_enum`, `arg_text`); a domain-local copy of one of them is refused.
- One SQLSTATE per meaning: *_not_found codes are PT404, the conflict family PT409, the
  authentication and privilege codes 42501.
"""

from __future__ import annotations

import re

from flagship import config

FOUNDATION = "20261124080000_foundation_schemas.sql"
ACCOUNTS_ROLES = "20261124080200_accounts_roles.sql"

# An inline "not signed in" refusal: a null check of the caller followed by not_authenticated.
INLINE_SIGNED_IN = re.compile(
    r"if\s+(?:\(select auth\.uid\(\)\)|v_uid|v_user|v_me)\s+is\s+null\s+then\s+"
    r"perform\s+private\.raise_error\(\s*'not_authenticated'",
    re.IGNORECASE,
)
# Reviewed: the lesson reader says "sign in and enroll" after it has decided the lesson is
# not a preview, which require_user() at the top could not say.
INLINE_ALLOWED = {"20261124100100_learning_catalog_enrollment.sql": 1}

# The shapes of the shared validators; outside the foundation they are copies.
VALIDATOR_NAME = re.compile(
    r"create (?:or replace )?function private\.([a-z]+_(?:field|check_keys|enum_field|"
    r"field_error|check_text|require_text))\(",
    re.IGNORECASE,
)
VALIDATOR_BODY = (
    "is not a known field.",  # arg_keys
    "is not a valid %s.",  # arg_field
    "is over %s characters.",  # arg_text
)


def migrations() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(config.MIGRATIONS_DIR.glob("*.sql"))}


def test_signed_in_is_asked_only_by_require_user():
    found = {}
    for name, text in migrations().items():
        hits = len(INLINE_SIGNED_IN.findall(text))
        if name == ACCOUNTS_ROLES:
            hits -= 1  # the definition of private.require_user itself
        if hits > INLINE_ALLOWED.get(name, 0):
            found[name] = hits
    assert found == {}, f"inline 'not signed in' checks (use private.require_user()): {found}"


def test_the_pattern_finds_an_inline_check():
    sample = (
        "begin\n    if v_uid is null then\n        perform private.raise_error('not_authenticated',"
    )
    assert INLINE_SIGNED_IN.search(sample)


def test_no_domain_local_validation_helpers():
    copies = []
    for name, text in migrations().items():
        if name == FOUNDATION:
            continue
        copies += [f"{name}: private.{m}" for m in VALIDATOR_NAME.findall(text)]
        copies += [f"{name}: {b!r}" for b in VALIDATOR_BODY if b in text]
    assert copies == [], "use the foundation's private.arg_* validators instead:\n" + "\n".join(
        copies
    )


def test_the_patterns_find_a_copy():
    assert VALIDATOR_NAME.search("create function private.ctf_field(p jsonb)")
    assert not VALIDATOR_NAME.search("create function private.validate_profile_field(p jsonb)")


def test_foundation_has_each_validator():
    text = migrations()[FOUNDATION]
    for fn in ("arg_error", "arg_keys", "arg_field", "arg_enum", "arg_text"):
        assert f"create function private.{fn}(" in text
    for body in VALIDATOR_BODY:
        assert body in text


def test_one_sqlstate_per_meaning(db):
    rows = db.execute("select code, sqlstate from ops.error_codes order by code").fetchall()
    wrong = []
    for r in rows:
        code, state = r["code"], r["sqlstate"]
        if code.endswith("_not_found") or code == "not_found":
            wrong += [] if state == "PT404" else [(code, state, "PT404")]
        elif code == "conflict" or code.startswith("already_") or "_already_" in code:
            wrong += [] if state == "PT409" else [(code, state, "PT409")]
        elif code in ("not_authenticated", "forbidden") or code.endswith("_forbidden"):
            wrong += [] if state == "42501" else [(code, state, "42501")]
        elif code in ("invalid_argument", "text_too_long"):
            wrong += [] if state == "22023" else [(code, state, "22023")]
    assert wrong == [], f"(code, sqlstate, expected): {wrong}"
