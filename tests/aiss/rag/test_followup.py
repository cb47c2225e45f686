"""Follow-ups: the searches without a model, the rewrite, and the history a prompt carries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aiss.rag.followup import (
    CHARS_PER_TOKEN,
    CONTEXT_WEIGHT,
    RECENT,
    Turn,
    history_messages,
    rewrite_messages,
    searches,
    standalone,
    uncited,
)
from aiss.rag.prompt import messages


def test_a_first_question_is_searched_alone() -> None:
    assert searches("How do I copy with rsync?", []) == [("How do I copy with rsync?", 1.0)]


def test_a_follow_up_is_searched_alone_with_the_last_questions_and_they_alone() -> None:
    history = [Turn(f"question {i}", f"answer {i}") for i in range(5)]
    found = searches("and then?", history)
    assert [w for _, w in found] == [1.0, 1.0, CONTEXT_WEIGHT]
    assert found[0][0] == "and then?"
    earlier = "\n".join(f"question {i}" for i in (4, 3, 2))  # the newest first, RECENT of them
    assert found[1][0] == f"and then?\n{earlier}" and found[2][0] == earlier
    assert RECENT == 3


def test_the_rewrite_sees_the_recent_turns_without_citations() -> None:
    history = [Turn("How do I copy with rsync?", "Run rsync -a src/ dst/ [1]. It is fast [1, 2].")]
    sent = rewrite_messages("and delete too?", history)
    assert sent[0]["role"] == "system" and "standalone" in sent[0]["content"]
    user = sent[1]["content"]
    assert "User: How do I copy with rsync?" in user and "[1]" not in user
    assert "Assistant: Run rsync -a src/ dst/. It is fast." in user
    assert "Last question: and delete too?" in user


def test_the_standalone_question_is_the_first_line_unlabelled() -> None:
    assert standalone('Standalone question: "How do I make rsync delete?"\nmore') == (
        "How do I make rsync delete?"
    )
    assert standalone("\n\n  How does tar store owners?  ") == "How does tar store owners?"
    assert standalone("   ") is None
    assert standalone("x" * 5000) is None


def test_history_keeps_the_newest_turns_within_the_budget_oldest_first() -> None:
    history = [Turn(f"q{i}", "a" * 400 + f" [{i}]") for i in range(30)]
    sent = history_messages(history, tokens=500)
    assert sum(len(m["content"]) for m in sent) <= 500 * CHARS_PER_TOKEN
    assert [m["role"] for m in sent[:2]] == ["user", "assistant"]
    asked = [m["content"] for m in sent if m["role"] == "user"]
    assert asked == [f"q{i}" for i in range(30 - len(asked), 30)] and len(asked) == 4
    assert all("[" not in m["content"] for m in sent)


def test_the_newest_turn_is_kept_even_when_its_answer_is_too_long() -> None:
    sent = history_messages([Turn("old", "short"), Turn("new", "b" * 10_000)], tokens=100)
    assert [m["content"][:3] for m in sent] == ["new", "bbb"]
    assert len(sent[1]["content"]) == 100 * CHARS_PER_TOKEN - 3


@given(st.lists(st.tuples(st.text(max_size=50), st.text(max_size=300)), max_size=20))
def test_history_messages_alternate_and_fit(turns: list[tuple[str, str]]) -> None:
    sent = history_messages([Turn(q, a) for q, a in turns], tokens=200)
    assert [m["role"] for m in sent] == ["user", "assistant"] * (len(sent) // 2)
    assert sum(len(m["content"]) for m in sent) <= 200 * CHARS_PER_TOKEN + len("(no answer)") * 10


def test_the_prompt_carries_the_history_between_system_and_sources() -> None:
    history = history_messages([Turn("How do I copy with rsync?", "Use rsync -a [1].")])
    sources = [{"n": 1, "title": "rsync.txt", "page": None, "text": "--delete removes files"}]
    sent = messages("Rules.", "and delete too?", sources, history)
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "How do I copy with rsync?"
    assert sent[2]["content"] == "Use rsync -a."
    assert "[1] rsync.txt" in sent[3]["content"] and "and delete too?" in sent[3]["content"]
    assert uncited("a [1][2] b [3, 4]") == "a b"
