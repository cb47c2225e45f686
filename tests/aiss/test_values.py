from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiss.values import parse_bool, parse_duration, parse_list, parse_size

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 1}


@given(st.integers(min_value=1, max_value=500), st.sampled_from(sorted(UNITS)))
def test_duration_units(amount: int, unit: str) -> None:
    assert parse_duration(f"{amount}{unit}") == timedelta(seconds=amount * UNITS[unit])


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("7d", 604800), ("3600s", 3600)])
def test_the_documented_duration_forms(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@given(st.text())
def test_durations_parse_or_say_the_accepted_form(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert "30m" in str(exc)
    else:
        assert value > timedelta(0)


@pytest.mark.parametrize("text", ["", "0s", "-5m", "5 minutes", "1.5.2h", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"), [("10", 10), ("50MiB", 50 * 1024**2), ("2kb", 2000), ("1 GiB", 1024**3)]
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@given(st.text())
def test_sizes_parse_or_say_the_accepted_form(text: str) -> None:
    try:
        assert parse_size(text) > 0
    except ValueError as exc:
        assert "MiB" in str(exc)


@given(st.sampled_from(["1", "true", "YES", "On", "0", "false", "no", "OFF"]))
def test_booleans(text: str) -> None:
    assert parse_bool(text) is (text.lower() in {"1", "true", "yes", "on"})


def test_bad_boolean() -> None:
    with pytest.raises(ValueError, match="true, false"):
        parse_bool("maybe")


@given(st.lists(st.text(alphabet="abc:/.", min_size=1), max_size=5))
def test_lists_round_trip(items: list[str]) -> None:
    assert parse_list(", ".join(items)) == tuple(items)


def test_durations_past_ten_years_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 10 years"):
        parse_duration("86400000000000")
