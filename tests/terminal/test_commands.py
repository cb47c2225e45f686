"""The command log: OSC 133 marks from shell integration, and the prompt guess."""

from __future__ import annotations

from terminal.commands import Command, CommandLog, clean


def marks(*parts: bytes) -> bytes:
    return b"".join(parts)


def test_shell_integration_marks_make_commands() -> None:
    done: list[Command] = []
    log = CommandLog(done.append, heuristic=False)
    log.output(b"\x1b]7;file://host/home/al%20ice\x07\x1b]133;A\x07$ ")
    log.output(b"make test\r\n\x1b]133;C\x07")
    log.output(b"\x1b[31mFAILED\x1b[0m 3 tests\r\n")
    log.output(
        b"\x1b]633;E;make test\x07\x1b]133;D;2\x07\x1b]7;file://host/tmp\x07\x1b]133;A\x07$ "
    )
    assert len(done) == 1
    command = done[0]
    assert command.command == "make test" and command.exit_code == 2
    assert command.cwd == "/home/al ice" and command.output == "FAILED 3 tests\n"
    assert log.cwd == "/tmp"


def test_an_empty_line_is_no_command() -> None:
    done: list[Command] = []
    log = CommandLog(done.append, heuristic=False)
    log.output(b"\x1b]133;D;0\x07\x1b]133;A\x07$ \r\n\x1b]133;D;0\x07")
    assert done == []


def test_the_prompt_guess_for_ssh() -> None:
    done: list[Command] = []
    log = CommandLog(done.append, heuristic=True)
    log.output(b"Welcome\r\nbob@web-1:~/app$ ")
    log.input(b"git statx\x7fus\r", echo_off=False)
    log.output(b"git status\r\nnothing to commit\r\nbob@web-1:~/app$ ")
    assert [c.command for c in done] == ["git status"]
    assert done[0].exit_code is None and "nothing to commit" in done[0].output
    log.input(b"secret\r", echo_off=True)  # a password prompt: never a command
    log.output(b"bob@web-1:~/app$ ")
    assert len(done) == 1


def test_clean_applies_backspaces_and_drops_escapes() -> None:
    assert clean(b"ab\bc\x1b[1;31mred\x1b[0m\r\n") == "acred\n"
