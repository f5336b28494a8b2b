"""Rendering systemd unit files (sentinel/service/units.py): quoting that gives a process exactly its arguments."""

from __future__ import annotations

from sentinel.service.units import command_line, environment_line, quote_word, render_unit, seconds


def test_words_quoted_only_when_needed_and_never_expanded() -> None:
    assert quote_word("/usr/bin/env") == "/usr/bin/env"
    assert quote_word("a b") == '"a b"'
    assert quote_word("$HOME") == '"$$HOME"'
    assert quote_word("100%") == "100%%"
    assert quote_word('say "hi"\\') == '"say \\"hi\\"\\\\"'
    assert quote_word("") == '""'
    assert command_line(["/bin/sh", "-c", "echo $1; exit 0"]) == '/bin/sh -c "echo $$1; exit 0"'


def test_environment_lines_hold_any_value() -> None:
    assert environment_line("MODE", "a b%c") == '"MODE=a b%%c"'
    assert environment_line("Q", 'x"y\nz') == '"Q=x\\"y\\nz"'


def test_render_and_durations() -> None:
    text = render_unit([("Unit", [("Description", "x")]), ("Service", [("Type", "simple")])], header="made here")
    assert text == "# made here\n\n[Unit]\nDescription=x\n\n[Service]\nType=simple\n"
    assert render_unit([("Unit", [])]) == "[Unit]\n"
    assert (seconds(30.0), seconds(1.5)) == ("30s", "1.5s")
