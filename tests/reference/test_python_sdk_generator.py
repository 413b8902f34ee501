"""The Python SDK generator on a small hand-made OpenAPI document, and the SDK's decoder,
query builder and error mapping without a server."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
import uuid
from pathlib import Path

import pytest
from flagship_sdk import _codec, errors
from flagship_sdk.query import View

from flagship.reference import python_sdk

SAMPLE = json.loads(Path(__file__).with_name("sample_openapi.json").read_text())


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The sample's modules, written and imported under throw-away names."""
    files = python_sdk.generate(SAMPLE)
    out = tmp_path_factory.mktemp("sdk")
    (out / "sample_sdk_models.py").write_text(files["models.py"])
    ops_source = files["_operations.py"].replace("flagship_sdk.models", "sample_sdk_models")
    (out / "sample_sdk_ops.py").write_text(ops_source)
    models = load("sample_sdk_models", out / "sample_sdk_models.py")
    ops = load("sample_sdk_ops", out / "sample_sdk_ops.py")
    yield files, models, ops
    del sys.modules["sample_sdk_models"], sys.modules["sample_sdk_ops"]


class FakeTransport:
    """Records the RPCs a generated method makes and answers with a canned JSON value."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def rpc(self, name, args, result):
        self.calls.append((name, dict(args)))
        return _codec.decode(result, self.answer) if result is not None else None


def test_methods_are_grouped_by_domain_with_keyword_arguments(generated):
    _, models, ops = generated
    t = FakeTransport({"correct": True, "points": 100, "solved_at": "2026-12-01T10:00:00+00:00"})
    domains = ops.Domains(t)
    result = domains.ctf.submit(challenge_id=uuid.UUID(int=1), flag="flag{x}")
    assert t.calls == [
        ("ctf_submit", {"p_challenge_id": uuid.UUID(int=1), "p_flag": "flag{x}", "p_team_id": None})
    ]
    assert isinstance(result, models.CtfSubmitResult)
    assert result.correct is True and result.points == 100
    assert result.solved_at == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    assert result.first_blood is None and result.badges is None
    with pytest.raises(TypeError):
        domains.ctf.submit(uuid.UUID(int=1), "flag{x}")  # keyword-only
    assert domains.learning.enroll(course_id="c") is None
    assert isinstance(domains.learning.courses, View)
    assert domains.learning.courses.columns == (
        "id", "slug", "title", "level", "published_at", "price_cents"
    )  # fmt: skip


def test_keywords_nested_objects_and_scalar_results(generated):
    files, models, ops = generated
    assert (
        "def import_(self, *, spec: Mapping[str, Any], tags: Sequence[str] | None"
        in (files["_operations.py"])
    )
    answer = [str(uuid.UUID(int=7))]
    assert ops.CtfApi(FakeTransport(answer)).import_(spec={}) == [uuid.UUID(int=7)]
    badge = _codec.decode(models.CtfSubmitResult, {
        "correct": False, "points": 0, "badges": [{"slug": "a", "class": "gold"}]
    })  # fmt: skip
    assert badge.badges[0].class_ == "gold"
    assert _codec.encode(badge)["badges"] == [{"slug": "a", "class": "gold"}]
    assert ops.LearningApi(FakeTransport(3)).course_count() == 3


def test_one_of_results_are_named_by_their_constant_and_told_apart(generated):
    files, models, ops = generated
    assert "CtfGuessResult = CtfGuessResultRight | CtfGuessResultWrong" in files["models.py"]
    assert "correct: Literal[True] | None = None" in files["models.py"]
    right = ops.CtfApi(FakeTransport({"status": "right", "points": 5})).guess()
    assert type(right) is models.CtfGuessResultRight and right.points == 5
    # Both members could take this answer by their fields; the constant decides.
    wrong = ops.CtfApi(FakeTransport({"status": "wrong", "points": 3})).guess()
    assert type(wrong) is models.CtfGuessResultWrong and wrong.attempts_left is None
    with pytest.raises(errors.ResponseShapeError):
        ops.CtfApi(FakeTransport({"status": "maybe", "points": 1})).guess()
    # Outside a union an unknown enum value (a newer server) is kept as it came.
    row = _codec.decode(models.LearningCoursesRow, {
        "id": str(uuid.UUID(int=5)), "slug": "s", "title": "T", "level": "expert"
    })  # fmt: skip
    assert row.level == "expert"


def test_view_rows_decode_into_typed_models(generated):
    _, models, _ = generated
    row = _codec.decode(
        models.LearningCoursesRow,
        {"id": str(uuid.UUID(int=5)), "slug": "s", "title": "T", "level": None, "extra": 1},
    )
    assert row.id == uuid.UUID(int=5) and row.level is None and row.published_at is None
    with pytest.raises(errors.ResponseShapeError, match="missing 'slug'"):
        _codec.decode(models.LearningCoursesRow, {"id": str(uuid.UUID(int=5)), "title": "T"})
    with pytest.raises(errors.ResponseShapeError, match=r"\$.id: expected UUID"):
        _codec.decode(models.LearningCoursesRow, {"id": "nope", "slug": "s", "title": "T"})
    with pytest.raises(errors.ResponseShapeError, match="expected int"):
        _codec.decode(models.LearningCoursesRow, {
            "id": str(uuid.UUID(int=5)), "slug": "s", "title": "T", "price_cents": "12"
        })  # fmt: skip


def test_output_is_deterministic_and_fits_the_line_length(generated):
    files, _, _ = generated
    assert python_sdk.generate(SAMPLE) == files
    for name, source in files.items():
        compile(source, name, "exec")
        assert all(len(line) <= 100 for line in source.splitlines()), name


def test_unknown_shapes_are_refused():
    bad = {"paths": {"/rpc/nodomain": {"post": {"summary": "x"}}}}
    with pytest.raises(python_sdk.SdkError, match="no <domain>_ prefix"):
        python_sdk.generate(bad)
    bad = {"paths": {"/rpc/ctf_x": {"post": {"responses": {"200": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/missing"}}}}}}}}}  # fmt: skip
    with pytest.raises(python_sdk.SdkError, match="unresolvable"):
        python_sdk.generate(bad)


@pytest.mark.parametrize(
    ("status", "sqlstate", "family"),
    [
        (400, "22023", errors.InvalidArgumentError),
        (401, "42501", errors.NotAuthenticatedError),
        (403, "42501", errors.PermissionDeniedError),
        (403, "PT403", errors.RefusedError),
        (404, "PT404", errors.NotFoundError),
        (409, "PT409", errors.ConflictError),
        (413, None, errors.PayloadTooLargeError),
        (422, None, errors.InvalidArgumentError),
        (429, "PT429", errors.RateLimitedError),
        (503, None, errors.ServerError),
        (None, None, errors.ServerError),
    ],
)
def test_error_families(status, sqlstate, family):
    err = errors.error_for(
        status, "some_code", "m", details='{"retry_after": 3}', sqlstate=sqlstate
    )
    assert type(err) is family and err.code == "some_code" and err.status == status
    assert err.details == {"retry_after": 3}
    if family is errors.RateLimitedError:
        assert err.retry_after == 3.0


def test_refused_credentials_are_not_authenticated_whatever_the_status():
    for status in (401, 403):
        err = errors.error_for(status, "edge_api_key_revoked", "m", sqlstate="42501")
        assert type(err) is errors.NotAuthenticatedError and err.status == status
    err = errors.error_for(403, "scope_missing", "m", details={"scope": "a", "object": "api.x"})
    assert type(err) is errors.PermissionDeniedError and (err.scope, err.object) == ("a", "api.x")


def test_query_builder_refuses_bad_columns_and_limits():
    view = View(None, "learning_courses", dict, ["id", "title"])
    with pytest.raises(errors.InvalidArgumentError, match="no column 'nope'"):
        view.query().eq("nope", 1)
    with pytest.raises(errors.InvalidArgumentError, match="limit"):
        view.query().limit(0)
    with pytest.raises(errors.InvalidArgumentError, match="operator"):
        view.query().where("id", "contains", 1)
