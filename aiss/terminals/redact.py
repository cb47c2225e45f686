"""Removing secrets from terminal text before it becomes searchable knowledge.

What goes: private key blocks; tokens of well-known formats (cloud, GitHub,
Slack, LLM providers, JWTs, AISS API keys); the values of anything named like
a password, secret, token or key (`PASSWORD=…`, `--token …`, `api_key: …`);
bearer credentials; passwords in URLs and on command lines (`mysql -pX`,
`sshpass -p X`, `curl -u user:X`, `docker login -p X`, openssl's `pass:X`); and
long mixed-case letter-digit runs
that look random. Each is replaced by `[REDACTED]` (the name is kept).
Input typed with echo off never reaches the command log in the first place.
"""

from __future__ import annotations

import re

MARK = "[REDACTED]"
_SECRET_WORD = r"[A-Za-z0-9_.-]*(?:pass(?:wd|word)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)[A-Za-z0-9_.-]*"  # noqa: E501

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        MARK,
    ),
    # URLs carrying a password: keep the user, drop the password.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(@)", re.I), rf"\1{MARK}\2"),
    # Authorization headers, whatever their scheme: the rest of the header goes.
    (re.compile(r"(\bauthorization\s*[:=]\s*)[^\n'\"]+", re.I), rf"\1{MARK}"),
    # Bearer / Basic credentials elsewhere.
    (re.compile(r"(\b(?:bearer|basic)\s+)(?!\[REDACTED\])\S{6,}", re.I), rf"\1{MARK}"),
    # NAME=value, NAME: value, "name": "value" where the name says secret.
    (
        re.compile(rf"""(\b{_SECRET_WORD}["']?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|[^\s"',;]+)""", re.I),
        rf"\1{MARK}",
    ),
    # --password value, --token=value, -password value.
    (re.compile(rf"(--?{_SECRET_WORD}(?:=|\s+))(\S+)", re.I), rf"\1{MARK}"),
    # Passwords that commands take as short options: `mysql -pSECRET`, `sshpass -p SECRET`,
    # `docker login -p SECRET` (only after those commands: `mkdir -p` is no password).
    # The gaps are bounded, so a line of many such words costs linear time.
    (
        re.compile(r"(\b(?:mysql\w*|mariadb\w*)\b[^\n|;&]{0,300}?\s-p)(?=[^\s-])(\S+)"),
        rf"\1{MARK}",
    ),
    (
        re.compile(
            r"(\b(?:sshpass|(?:docker|podman|buildah|helm|skopeo|oras)\b[^\n|;&]{0,100}?\blogin)"
            r"\b[^\n|;&]{0,300}?\s-p\s*)(?!\[REDACTED\])(\S+)"
        ),
        rf"\1{MARK}",
    ),
    # user:password after -u / --user (curl, wget); a bare user stays.
    (re.compile(r"((?:\s-u\s*|\s--user[=\s]+)[^\s:]+:)(?!\[REDACTED\])(\S+)"), rf"\1{MARK}"),
    # openssl's pass:SECRET (also env:NAME and file:PATH, which are not secret).
    (re.compile(r"(\bpass:)(?!\[REDACTED\])(\S+)"), rf"\1{MARK}"),
    # Well-known token formats.
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MARK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}\b"), MARK),
    (re.compile(r"\bxox[abpors]-[A-Za-z0-9-]{10,}\b"), MARK),
    (re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}\b"), MARK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}\b"), MARK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b"), MARK),
    (re.compile(r"\baiss_[A-Za-z0-9_-]{16,}\b"), MARK),
)
# A long run of letters and digits with upper case, lower case and digits: random-looking.
_RANDOM = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}")


def _random_looking(match: re.Match[str]) -> str:
    text = match.group()
    if (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    ):
        return MARK
    return text


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _RANDOM.sub(_random_looking, text)
