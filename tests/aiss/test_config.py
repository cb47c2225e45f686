from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from aiss.config import ConfigError, Secret, Settings, variable_names

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k" * 8 + "Q3x9vR2mZ7pL4tW8nB6yH1cF5dJ0sG"


def load(env: dict[str, str], env_file: str | None = None) -> Settings:
    return Settings.from_env(env, env_file=env_file)


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(env)
    return caught.value.problems


def test_defaults_run_on_embedded_stores() -> None:
    settings = load({"HOME": "/home/u"})
    assert settings.environment == "development"
    assert settings.jwt_expiration == timedelta(minutes=30)
    assert settings.refresh_token_expiration == timedelta(days=7)
    assert settings.mongodb_uri is None and settings.qdrant_url is None
    assert settings.s3_endpoint is None
    assert settings.data_dir == Path("/home/u/.local/share/aiss")
    assert settings.port == 8080


def test_classic_variables_are_read() -> None:
    settings = load(
        {
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "DEBUG",
            "API_GATEWAY_PORT": "9000",
            "JWT_SECRET": "s",
            "JWT_EXPIRATION": "3600s",
            "REFRESH_TOKEN_EXPIRATION": "14d",
            "MONGODB_URI": "mongodb://m:27017",
            "MONGODB_DATABASE": "kb",
            "MONGODB_USER": "u",
            "MONGODB_PASSWORD": "p",
            "QDRANT_URL": "http://q:6333",
            "QDRANT_API_KEY": "qk",
            "GENERAL_EMBEDDING_MODEL": "BAAI/bge-large-en-v1.5",
            "PERSONAL_EMBEDDING_MODEL": "BAAI/bge-small-en-v1.5",
            "USE_GPU": "true",
            "USE_FP16": "1",
            "MINIO_ROOT_USER": "minio",
            "MINIO_ROOT_PASSWORD": "mp",
            "MINIO_BUCKET": "docs",
            "DEFAULT_LLM_PROVIDER": "ollama",
            "OPENAI_API_KEY": "ok",
            "ANTHROPIC_API_KEY": "ak",
            "OLLAMA_HOST": "http://ollama:11434",
            "CORS_ALLOWED_ORIGINS": "http://a.test, http://b.test",
        }
    )
    assert settings.log_level == "debug"
    assert settings.port == 9000
    assert settings.jwt_expiration == timedelta(hours=1)
    assert settings.refresh_token_expiration == timedelta(days=14)
    assert settings.mongodb_uri == Secret("mongodb://m:27017")
    assert settings.use_gpu and settings.use_fp16
    assert settings.default_llm_provider == "ollama"
    assert settings.cors_allowed_origins == ("http://a.test", "http://b.test")
    assert settings.personal_embedding_model == "BAAI/bge-small-en-v1.5"


def test_every_bad_value_is_reported_with_its_name_and_accepted_form() -> None:
    found = problems(
        {
            "JWT_EXPIRATION": "soon",
            "API_GATEWAY_PORT": "70000",
            "USE_GPU": "perhaps",
            "AISS_ROLE": "kitchen",
            "AISS_MAX_UPLOAD_MB": "big",
        }
    )
    text = "\n".join(found)
    assert "JWT_EXPIRATION='soon': expected a duration such as 30m, 7d" in text
    assert "API_GATEWAY_PORT='70000': expected a whole number from 0 to 65535" in text
    assert "USE_GPU='perhaps': expected one of true, false" in text
    assert "AISS_ROLE='kitchen': expected one of all, gateway" in text
    assert "AISS_MAX_UPLOAD_MB='big': expected a whole number" in text


@pytest.mark.parametrize("weights", ["nan,1", "1,inf", "1e309,1", "-1,1", "0,0", "1,1,1", "1;2"])
def test_hybrid_weights_are_two_finite_weights(weights: str) -> None:
    (problem,) = problems({"AISS_HYBRID_WEIGHTS": weights})
    assert problem.startswith(f"AISS_HYBRID_WEIGHTS={weights!r}: expected two weights")
    assert load({"AISS_HYBRID_WEIGHTS": "0,2.5"}).hybrid_weights == (0.0, 2.5)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "JWT_SECRET: required"),
        ({"JWT_SECRET": "change-me-please-change-me-please-xx"}, "JWT_SECRET: a placeholder"),
        ({"JWT_SECRET": "tooshort"}, "JWT_SECRET: a placeholder or short"),
        ({"JWT_SECRET": STRONG, "MINIO_ROOT_PASSWORD": "minioadmin"}, "MINIO_ROOT_PASSWORD"),
        ({"JWT_SECRET": STRONG, "MONGODB_PASSWORD": "your_password"}, "MONGODB_PASSWORD"),
        ({"JWT_SECRET": STRONG, "JWT_PREVIOUS_SECRETS": "x,example"}, "JWT_PREVIOUS_SECRETS"),
    ],
)
def test_production_refuses_placeholder_secrets(env: dict[str, str], needle: str) -> None:
    found = problems({"ENVIRONMENT": "production", **env})
    assert any(needle in p for p in found), found


def test_production_accepts_real_secrets() -> None:
    settings = load({"ENVIRONMENT": "production", "JWT_SECRET": STRONG})
    assert settings.jwt_secret == Secret(STRONG)


def test_secrets_come_from_files_and_never_show(tmp_path: Path) -> None:
    secret = tmp_path / "jwt"
    secret.write_text(STRONG + "\n")
    settings = load({"JWT_SECRET_FILE": str(secret), "JWT_PREVIOUS_SECRETS": "old1, old2"})
    assert settings.jwt_secret == Secret(STRONG)
    assert [s.reveal() for s in settings.jwt_previous_secrets] == ["old1", "old2"]
    assert STRONG not in repr(settings)
    both = problems({"JWT_SECRET": "a", "JWT_SECRET_FILE": str(secret)})
    assert both == ["JWT_SECRET and JWT_SECRET_FILE are both set: set only one"]
    missing = problems({"OPENAI_API_KEY_FILE": str(tmp_path / "absent")})
    assert missing[0].startswith("OPENAI_API_KEY_FILE=")


def test_dotenv_file_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("MONGODB_DATABASE=from_file\nMINIO_BUCKET=file_bucket\n")
    settings = load({"AISS_ENV_FILE": str(env_file), "MINIO_BUCKET": "from_env"})
    assert settings.mongodb_database == "from_file"
    assert settings.minio_bucket == "from_env"
    with pytest.raises(ConfigError, match="AISS_ENV_FILE"):
        load({"AISS_ENV_FILE": str(tmp_path / "nope.env")})


def test_readme_and_env_example_list_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z0-9_]+)`", readme, re.MULTILINE))
    example = set(re.findall(r"^#? ?([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for name in variable_names():
        if name.endswith("_FILE") and name != "AISS_ENV_FILE":
            continue
        assert name in table, f"{name} is missing from the README's configuration table"
        assert name in example, f"{name} is missing from .env.example"
    assert table <= set(variable_names()), "the README documents a variable nothing reads"


def test_one_process_trusts_no_forwarded_headers_by_default() -> None:
    """Local shells connect from loopback: they must not name a client of their choice."""
    assert Settings.from_env({}, env_file=None).forwarded_allow_ips == ""
    users = Settings.from_env({"AISS_ROLE": "users"}, env_file=None)
    assert users.forwarded_allow_ips == "127.0.0.1"
