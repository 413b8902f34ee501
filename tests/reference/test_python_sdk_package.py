"""The committed SDK: generated from docs/reference/openapi.json (regenerate with
`FLAGSHIP_UPDATE_REFERENCE=1` or `flagship reference sdk`), and a wheel and sdist that build
with the package's own metadata."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile

import pytest

from flagship.reference import python_sdk

SDK = python_sdk.PACKAGE.parents[1]  # sdk/python


def test_generated_modules_match_the_openapi_document():
    changed = python_sdk.write(check=not python_sdk.should_update())
    assert changed == [] or python_sdk.should_update(), (
        f"{', '.join(changed)} differ from what docs/reference/openapi.json generates: run "
        "`flagship reference sdk` (or FLAGSHIP_UPDATE_REFERENCE=1) and commit"
    )


def test_wheel_and_sdist_build_with_typed_metadata(tmp_path):
    # No isolation: the backend (flit_core) is pinned in requirements.lock; nothing is fetched.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(SDK)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = tmp_path.glob("flagship_sdk-0.1.0-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = email.message_from_bytes(zf.read("flagship_sdk-0.1.0.dist-info/METADATA"))
    for module in ("__init__.py", "py.typed", "models.py", "_operations.py", "errors.py"):
        assert f"flagship_sdk/{module}" in names
    assert meta["Name"] == "flagship-sdk" and meta["Version"] == "0.1.0"
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    assert {r.split(">")[0].split("<")[0] for r in meta.get_all("Requires-Dist")} == {
        "supabase",
        "httpx",
    }
    assert "pip install flagship-sdk" in meta.get_payload()  # the README is the description
    (sdist,) = tmp_path.glob("flagship_sdk-0.1.0.tar.gz")
    with tarfile.open(sdist) as tf:
        members = {m.name for m in tf.getmembers()}
    assert "flagship_sdk-0.1.0/LICENSE" in members
    assert "flagship_sdk-0.1.0/src/flagship_sdk/py.typed" in members


def test_the_sdk_imports_none_of_the_platform():
    """It is published alone: importing it must not pull in the backend's packages."""
    code = (
        "import sys, flagship_sdk; "
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'flagship', 'edge', 'gateway', 'sync', 'mail', 'files', 'ai', 'psycopg'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_operation_and_view_of_the_document_is_in_the_sdk():
    import json
    import re

    from flagship_sdk._operations import Domains, EdgeFunctions
    from flagship_sdk.query import View

    document = json.loads(python_sdk.OPENAPI.read_text())
    domains = Domains(object())  # the classes only keep the transport
    for path in document["paths"]:
        if path.startswith("/rest/v1/rpc/"):
            fn = path.rsplit("/", 1)[1]
            domain, method = python_sdk.split_domain(fn)
            assert callable(getattr(getattr(domains, domain), python_sdk.py_name(method))), fn
        elif re.fullmatch(r"/rest/v1/[a-z][a-z0-9_]*", path):
            domain, attr = python_sdk.split_domain(path.rsplit("/", 1)[1])
            api = getattr(domains, domain)
            view = getattr(api, attr, None) or getattr(api, f"{attr}_view")
            assert isinstance(view, View) and view.name == f"{domain}_{attr}"
    edge = {n for n in dir(EdgeFunctions) if not n.startswith("_")}
    assert {"me", "ai_search", "checkout", "batch", "health"} <= edge


def test_the_command_writes_then_checks(tmp_path, monkeypatch, capsys):
    from flagship import cli

    monkeypatch.setattr(python_sdk, "PACKAGE", tmp_path)
    (tmp_path / python_sdk.MODELS).write_text("# stale\n")
    with pytest.raises(SystemExit) as info:
        cli.main(["reference", "sdk", "--check"])
    assert info.value.code == 1 and "stale: models.py, _operations.py" in capsys.readouterr().out
    assert (tmp_path / python_sdk.MODELS).read_text() == "# stale\n"  # --check writes nothing
    assert cli.main(["reference", "sdk"]) == 0
    assert cli.main(["reference", "sdk", "--check"]) == 0
    assert capsys.readouterr().out.endswith(": current\n")
