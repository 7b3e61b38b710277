"""Random command lines: a documented exit code and a clear message, never a traceback.

Only commands that do not provision or serve are drawn, so each example stays in-process and fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from stagetui.cli import exit_codes
from stagetui.cli.main import main
from tests.unit.fuzz_settings import fuzz

DOCUMENTED = {
    exit_codes.OK,
    exit_codes.FAILED,
    exit_codes.BAD_INPUT,
    exit_codes.NOT_FOUND,
    exit_codes.CONFLICT,
    exit_codes.STATE_ERROR,
    exit_codes.BUDGET_EXCEEDED,
    exit_codes.TARGET_MISSED,
    exit_codes.INTERRUPTED,
}
COMMANDS: dict[tuple[str, ...], tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    # command: (positional arguments, flags, options taking a value)
    ("ls",): (0, ("--json", "--all"), ()),
    ("show",): (1, ("--json",), ()),
    ("down",): (1, ("--json",), ()),
    ("gc", "--dry-run"): (0, ("--json",), ()),
    ("audit",): (0, ("--json", "--data"), ("--env", "--since", "--action", "--limit")),
    ("snapshot", "ls"): (0, ("--json",), ("--runtime",)),
    ("config", "check"): (0, ("--json",), ()),
    ("keys",): (0, ("--json",), ()),
    ("bench",): (0, ("--json", "--fail-on-miss"), ()),
    ("experiment", "list"): (0, ("--json",), ()),
    ("experiment", "show"): (1, ("--json",), ()),
    ("experiment", "stop"): (1, ("--json", "--cancel"), ()),
    ("compare",): (0, ("--json",), ()),
    ("budget",): (0, ("--json",), ()),
    ("note", "list"): (0, ("--json",), ()),
    ("note", "show"): (1, ("--json",), ()),
    ("tests", "list"): (0, ("--json",), ()),
    ("tests", "record"): (2, ("--json",), ()),
    ("outcomes", "import"): (1, ("--json",), ()),
    ("drift", "check"): (1, ("--json", "--all"), ("--format", "--against")),
    ("drift", "approvals"): (0, ("--json",), ()),
    ("pool", "status"): (0, ("--json",), ()),
    ("nodes",): (0, ("--json",), ("--runtime",)),
    ("scale",): (2, ("--json",), ()),
    ("reconfigure",): (1, ("--json",), ("--set", "--unset")),
    ("export",): (0, (), ("--format", "--since")),
    ("metrics",): (0, (), ()),
}
WORDS = st.one_of(
    st.sampled_from(
        ["", "-", "--", "x", "main", "feat/x", "../../etc/passwd", "-1", "0", "99999999999999999999", "1h",
         "-5m", "2026-13-01", "json", "csv", "yaml", "local", "docker", "aws", "a=b", "=", "%s", "$(id)",
         "'; DROP TABLE x; --", "\u202e", "é", "--json", "-h", "--bogus", "missing.xml", "*"]
    ),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12),
)  # fmt: skip


@st.composite
def _argv(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    positionals, flags, options = COMMANDS[command]
    argv = [*command, *(draw(WORDS) for _ in range(positionals))]
    for flag in flags:
        if draw(st.booleans()):
            argv.append(flag)
    for option in options:
        if draw(st.booleans()):
            argv += [option, draw(WORDS)]
    if draw(st.integers(0, 4)) == 0:  # now and then something argparse must refuse
        argv.insert(draw(st.integers(0, len(argv))), draw(WORDS))
    return argv


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse: 2 on bad usage, 0 for --help
        assert isinstance(exit_.code, int | None), exit_.code
        return exit_.code or 0


@fuzz(120)
@given(argv=_argv())
def test_random_command_lines(
    argv: list[str], small_config: Path, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # anything a command writes by a relative path stays here
    code = _run(["--config", str(small_config), *argv])
    event(f"exit {code}")
    assert code in DOCUMENTED, (argv, code)


@fuzz(40)
@given(argv=st.lists(WORDS, max_size=5))
def test_random_words(
    argv: list[str], small_config: Path, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # No subcommand means the terminal UI: give one that parses only, so nothing opens.
    code = _run(["--config", str(small_config), "config", "check", *argv])
    event(f"exit {code}")
    assert code in DOCUMENTED, (argv, code)


@pytest.mark.parametrize(
    "argv",
    [
        # Regressions: a duration too long for a timedelta raised OverflowError, `²` a bare ValueError.
        ["audit", "--since", "99999999999999999999"],
        ["export", "--since", "9" * 30 + "d"],
        ["audit", "--since", "²"],
    ],
)
def test_absurd_durations_are_bad_input(
    argv: list[str], small_config: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--config", str(small_config), *argv]) == exit_codes.BAD_INPUT
    assert "--since" in capsys.readouterr().err
