"""Secret redaction: no secret of a known shape survives, ordinary text does."""

from __future__ import annotations

import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiss.terminals.redact import MARK, redact

ALNUM = string.ascii_letters + string.digits


def run(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=low, max_size=high)


SECRETS = st.one_of(
    st.builds(lambda s: "AKIA" + s, run(string.ascii_uppercase + string.digits, 16, 16)),
    st.builds(lambda s: "ghp_" + s, run(ALNUM, 36, 40)),
    st.builds(lambda s: "xoxb-" + s, run(ALNUM + "-", 20, 40)),
    st.builds(lambda s: "sk-" + s, run(ALNUM, 20, 48)),
    st.builds(lambda s: "sk-ant-" + s, run(ALNUM, 20, 48)),
    st.builds(lambda s: "AIza" + s, run(ALNUM, 35, 35)),
    st.builds(
        lambda a, b, c: f"eyJ{a}.{b}.{c}",
        run(ALNUM, 10, 30),
        run(ALNUM, 10, 30),
        run(ALNUM, 10, 30),
    ),
    st.builds(lambda s: "aiss_" + s, run(ALNUM, 24, 40)),
)
NAMED = st.sampled_from(
    ["PASSWORD={}", "export GITHUB_TOKEN={}", "--password {}", "--api-key={}", "db_passwd: {}",
     '"client_secret": "{}"', "Authorization: Bearer {}", "https://bob:{}@example.org/x",
     "mysql --password={} -u root", "AWS_SECRET_ACCESS_KEY={}"]
)  # fmt: skip
VALUES = run(ALNUM + "!#%&*+?", 8, 40).filter(lambda v: v.strip() and not v.isdigit())
WORDS = st.lists(st.sampled_from(["ls", "-la", "cd", "/tmp", "make", "test", "ok", "git"]))


@given(SECRETS, WORDS, WORDS)
def test_known_token_shapes_are_removed(secret: str, before: list[str], after: list[str]) -> None:
    text = " ".join([*before, secret, *after])
    cleaned = redact(text)
    assert secret not in cleaned and MARK in cleaned


@given(NAMED, VALUES, WORDS)
def test_values_of_secret_names_are_removed(shape: str, value: str, words: list[str]) -> None:
    text = " ".join([*words, shape.format(value)])
    cleaned = redact(text)
    assert value not in cleaned.replace(MARK, "")


@given(st.lists(st.sampled_from(["make", "test", "ls", "-la", "/etc/hosts", "exit", "0", "ok"])))
def test_ordinary_commands_are_left_alone(words: list[str]) -> None:
    text = " ".join(words)
    assert redact(text) == text


@given(st.text(max_size=300))
def test_redaction_is_stable(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_private_keys_and_random_runs() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    assert redact(f"cat id\n{key}\n$ ") == f"cat id\n{MARK}\n$ "
    assert redact("id Zq8vK2mP9xR4tW7yB3nD6fH1jL5sA0cE here") == f"id {MARK} here"
    git = "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
    assert redact(git) == git  # hashes are lower case hex: kept


COMMAND_SHAPES = st.sampled_from(
    ["mysql -u root -p{} shop", "mysqldump -p{} --all-databases", "mariadb -h db -p{}",
     "sshpass -p {} ssh deploy@host", "sshpass -p{} scp a b:", "curl -u alice:{} https://x",
     "curl --user alice:{} https://x", "wget --user=bob --password {} https://x",
     "docker login -u ci -p {} registry.example.org", "podman login -u ci -p {} quay.io",
     "PGPASSWORD={} psql -h db", "PGPASSWORD='{}' pg_dump shop",
     "mysql --password={} shop", "tool --password={}",
     "openssl pkcs12 -in a.p12 -passin pass:{} -nodes",
     "openssl rsa -in k.pem -passout pass:{} -out k2.pem",
     "openssl enc -aes256 -pass pass:{} -in f"]
)  # fmt: skip
PLAIN_VALUES = run(ALNUM + "!#%&*+?.", 6, 30).filter(lambda v: v.strip() and not v.isdigit())


@given(COMMAND_SHAPES, PLAIN_VALUES, WORDS)
def test_passwords_on_command_lines_are_removed(shape: str, value: str, words: list[str]) -> None:
    text = " ".join([*words, shape.format(value)])
    cleaned = redact(text)
    assert value not in cleaned.replace(MARK, ""), cleaned
    assert MARK in cleaned


LOOKALIKES = ["mkdir -p build/out", "ssh -p 2222 host", "cp -p a b", "ps -p 1",
              "curl -u alice https://x", "useradd -u 1001 bob", "git push -u origin"]  # fmt: skip


@given(st.sampled_from(LOOKALIKES))
def test_lookalike_options_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.timeout(30)  # backtracking that explodes never ends at all
@pytest.mark.parametrize("word", ["mysql ", "docker login ", "sshpass ", "podman login -u x "])
def test_a_line_of_many_lookalikes_costs_linear_time(word: str) -> None:
    """A ratio in one run, not a time: 8x the text may cost about 8x, not 64x."""
    small, large = word * 200, word * 1600
    started = time.perf_counter()
    redact(small)
    once = time.perf_counter() - started
    started = time.perf_counter()
    redact(large)
    assert time.perf_counter() - started < max(0.2, once * 16)
