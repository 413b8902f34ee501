"""A small secret scanner for the tree: key shapes that must never be committed.

Scans the files git tracks (plus new, not ignored ones). A finding is `path:line rule`;
accepted findings (test fixtures, documented public values) are listed with a reason in
`secret-scan-allowlist.txt` as `path rule sha256-prefix-of-the-match  # reason`, so a new
secret in the same file is still reported.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flagship import config

ALLOWLIST = config.ROOT / "secret-scan-allowlist.txt"
RULES = (  # (rule, pattern)
    ("stripe_live_key", r"\b[rsp]k_live_[0-9A-Za-z]{10,}"),
    ("stripe_test_key", r"\b[rs]k_test_[0-9A-Za-z]{10,}"),
    ("webhook_secret", r"\bwhsec_[A-Za-z0-9+/=]{16,}"),
    ("resend_key", r"\bre_[A-Za-z0-9]{6,}_[A-Za-z0-9]{16,}"),
    ("private_key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("aws_secret_key", r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    ("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("openai_key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"),
    ("fsk_api_key", r"\bfsk_[0-9a-f]{8}_[0-9a-f]{64}\b"),
)
PATTERNS = {name: re.compile(rx) for name, rx in RULES}
SKIPPED_SUFFIXES = (".png", ".jpg", ".pdf", ".ico", ".gz", ".zip", ".woff", ".woff2")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    digest: str  # sha256 of the matched text, first 16 hex digits

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.rule} {self.digest}"


def tracked_files(root: Path = config.ROOT) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({p for p in out.splitlines() if p and not p.endswith(SKIPPED_SUFFIXES)})


def scan_text(path: str, text: str) -> list[Finding]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for rule, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                digest = hashlib.sha256(match.group(0).encode()).hexdigest()[:16]
                found.append(Finding(path, number, rule, digest))
    return found


def allowed(path: Path = ALLOWLIST) -> set[tuple[str, str, str]]:
    """(path, rule, digest) entries; each line needs a `# reason`."""
    entries = set()
    if not path.exists():
        return entries
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition("#")
        fields = entry.split()
        if len(fields) != 3 or not reason.strip():
            raise ValueError(f"{path.name}: want 'path rule digest  # reason': {raw!r}")
        entries.add((fields[0], fields[1], fields[2]))
    return entries


def scan(root: Path = config.ROOT) -> list[Finding]:
    """Findings not in the allowlist."""
    accepted = allowed()
    findings = []
    for name in tracked_files(root):
        file = root / name
        if not file.is_file():
            continue
        try:
            text = file.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        findings += [f for f in scan_text(name, text) if (f.path, f.rule, f.digest) not in accepted]
    return findings
