"""Supply chain checks of `flagship audit`: the secret scanner and bandit's configuration.

(pip-audit needs PyPI's vulnerability data and runs in `make test` through `flagship audit`.)
"""

from __future__ import annotations

import subprocess

import pytest

from flagship import audit, config, secretscan

# Built at run time so this file holds no key shape itself.
SAMPLES = {
    "stripe_live_key": "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "webhook_secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "resend_key": "re_" + "123abc45" + "_" + "ZyXwVuTsRqPoNmLkJiHgFeDc",
    "private_key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    "aws_access_key": "AKIA" + "IOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "a" * 36,
    "fsk_api_key": "fsk_" + "0a1b2c3d" + "_" + "e" * 64,
}


@pytest.mark.parametrize("rule", sorted(SAMPLES))
def test_the_scanner_finds_each_key_shape(rule):
    found = secretscan.scan_text("x.py", f"token = '{SAMPLES[rule]}'\n")
    assert [f.rule for f in found] == [rule]


def test_plain_text_is_not_a_secret():
    text = "re_render = 1\nsk_test = 'short'\nwhsec_ = None\n-----BEGIN PUBLIC KEY-----\n"
    assert secretscan.scan_text("x.py", text) == []


def test_the_tree_has_no_secret_outside_the_allowlist():
    assert [str(f) for f in secretscan.scan()] == []


def test_an_allowlist_entry_needs_a_reason(tmp_path):
    bad = tmp_path / "allow.txt"
    bad.write_text("tests/x.py webhook_secret 0123456789abcdef\n")
    with pytest.raises(ValueError, match="reason"):
        secretscan.allowed(bad)
    bad.write_text("tests/x.py webhook_secret 0123456789abcdef  # a fixture\n")
    assert secretscan.allowed(bad) == {("tests/x.py", "webhook_secret", "0123456789abcdef")}


def test_a_new_secret_in_an_allowlisted_file_is_still_found():
    allowed = secretscan.allowed()
    finding = secretscan.scan_text("tests/edge/test_http.py", SAMPLES["webhook_secret"])[0]
    assert (finding.path, finding.rule, finding.digest) not in allowed


def test_bandit_passes_with_the_documented_configuration():
    assert audit.bandit()


def test_bandit_still_reports_what_is_not_accepted(tmp_path):
    (tmp_path / "bad.py").write_text(
        "import subprocess\nsubprocess.call('ls ' + input(), shell=True)\n"
    )
    done = subprocess.run(
        [audit._tool("bandit"), "-c", str(config.ROOT / "pyproject.toml"), "-r", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "B602" in done.stdout
