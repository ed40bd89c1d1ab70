"""The README's first commands work on a fresh Debian machine, and CI runs what it says."""

from __future__ import annotations

import re

from tests.helpers import ROOT

VENV = "python3 -m venv .venv && . .venv/bin/activate && "


def readme_commands() -> list[str]:
    """The lines of the README's first code block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "the README starts with no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_first_commands_make_a_venv_and_say_where_to_look():
    """As a new user on Debian's Python I copy the first command and it does not fail on
    "externally-managed-environment"; the README tells me the address to open."""
    run, test = readme_commands()[:2]
    assert run.startswith(VENV) and test.startswith(VENV)
    assert run.endswith("python -m streamlit run Home.py")
    assert test.endswith("python -m pytest")
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:2000]
    assert "http://localhost:8501" in head


def test_ci_runs_the_readme_test_command():
    """.ci/run's comment and the command it runs are the README's test part."""
    test_part = readme_commands()[1].removeprefix(VENV)
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert any(line.startswith(test_part) for line in commands), test_part
    comments = [line.lstrip("# ").rstrip() for line in script.splitlines() if line.startswith("#")]
    assert test_part in comments
