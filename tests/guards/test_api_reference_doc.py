"""docs/reference/openapi.json is generated from a freshly migrated database and must be
current and a valid OpenAPI 3.1 document.

`flagship reference build` (on a migrated database) or `FLAGSHIP_UPDATE_REFERENCE=1 pytest
tests/guards/test_api_reference_doc.py` rewrites it.
"""

from __future__ import annotations

import json
import os

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from flagship.reference import document, surfaces


@pytest.fixture(scope="module")
def generated(module_db, db_url) -> dict:
    return document.build(module_db, surfaces.edge_spec(db_url))


def test_the_committed_reference_is_current(generated):
    expected = document.render(generated)
    if os.environ.get("FLAGSHIP_UPDATE_REFERENCE") == "1":
        document.write(expected)
    current = document.DOC.read_text() if document.DOC.exists() else ""
    assert current == expected, "docs/reference/openapi.json is stale: `flagship reference build`"


def test_the_reference_is_a_valid_openapi_31_document(generated):
    errors = [str(e).splitlines()[0] for e in OpenAPIV31SpecValidator(generated).iter_errors()]
    assert errors == []
    assert generated["openapi"] == "3.1.0"


def test_the_validator_refuses_a_broken_document(generated):
    """The check above can fail: a path parameter nobody declares is an error."""
    broken = json.loads(document.render(generated))
    op = broken["paths"]["/auth/v1/admin/users/{user_id}"]["get"]
    op.pop("parameters")
    assert list(OpenAPIV31SpecValidator(broken).iter_errors())


def test_rendering_is_deterministic(generated, module_db, db_url):
    again = document.build(module_db, surfaces.edge_spec(db_url))
    assert document.render(again) == document.render(generated)
    assert document.render(generated).endswith("}\n")


def test_every_part_of_the_platform_is_in_it(generated):
    prefixes = {p.split("/")[1] + "/" + p.split("/")[2] for p in generated["paths"]}
    assert prefixes == {"rest/v1", "auth/v1", "storage/v1", "functions/v1"}
    paths = generated["paths"]
    assert set(paths["/rest/v1/rpc/learning_enroll"]) == {"post"}  # volatile: POST only
    assert {"get", "post"} <= set(paths["/rest/v1/rpc/accounts_get_my_account"])
    assert "get" in paths["/rest/v1/learning_courses"]
    assert "post" in paths["/auth/v1/token"] and "get" in paths["/auth/v1/admin/users/{user_id}"]
    assert "get" in paths["/storage/v1/object/public/{bucket}/{name}"]
    assert "post" in paths["/functions/v1/api-keys/token"]


def test_route_tables_and_their_query_lists_agree():
    """The query parameters documented for Auth and Storage name routes that exist."""
    from gateway.auth.app import QUERY as AUTH_QUERY
    from gateway.auth.app import ROUTES as AUTH_ROUTES
    from gateway.storage.app import QUERY as STORAGE_QUERY
    from gateway.storage.app import ROUTES as STORAGE_ROUTES
    from gateway.storage.app import StorageService

    assert set(AUTH_QUERY) <= {(m, p) for m, p, _, _ in AUTH_ROUTES}
    assert set(STORAGE_QUERY) <= {name for _, _, name, _ in STORAGE_ROUTES}
    assert all(callable(getattr(StorageService, n)) for _, _, n, _ in STORAGE_ROUTES)
    assert all(summary.strip() for *_, summary in AUTH_ROUTES + STORAGE_ROUTES)


def test_auth_and_storage_operations_document_their_parameters(generated):
    token = generated["paths"]["/auth/v1/token"]["post"]
    assert [p["name"] for p in token["parameters"]] == ["grant_type"]
    signed = generated["paths"]["/storage/v1/object/sign/{bucket}/{name}"]["get"]
    names = [(p["in"], p["name"]) for p in signed["parameters"]]
    assert names[:3] == [("path", "bucket"), ("path", "name"), ("query", "token")]
    assert signed["security"] == [{}]  # the token in the URL is the credential
