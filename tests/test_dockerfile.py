"""The Dockerfile, checked without a Docker engine (there is none on the build machine):
what the image installs matches what the app needs, it runs as a non-root user, and its
health check and command are the ones the README documents."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_runs_as_a_non_root_user_after_installing():
    steps = [word for word, _ in instructions()]
    users = [rest for word, rest in instructions() if word == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert steps.index("USER") > max(i for i, w in enumerate(steps) if w == "RUN")
    assert steps.index("USER") < steps.index("CMD")


def test_installs_what_sign_in_reports_and_engines_need():
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    for package in ("chromium", "fonts-liberation", "libpango-1.0-0", "openjdk-17-jre-headless"):
        assert package in runs, package
    copies = " ".join(rest for word, rest in instructions() if word == "COPY")
    for requirements in ("requirements.txt", "requirements-spark.txt"):
        assert requirements in copies and f"-r {requirements}" in runs
        assert (ROOT / requirements).is_file()
    assert "streamlit[auth]" in (ROOT / "requirements.txt").read_text()


def test_health_check_and_command_match_the_readme():
    health = next(rest for word, rest in instructions() if word == "HEALTHCHECK")
    assert "/_stcore/health" in health
    cmd = next(rest for word, rest in instructions() if word == "CMD")
    assert "Home.py" in cmd and "8501" in cmd
    assert ("EXPOSE", "8501") in instructions()
    readme = (ROOT / "README.md").read_text()
    assert "docker compose" in readme and "STREAMLIT_SECRETS_FILES" in readme
    assert "/app/models" in readme and "/app/models" in DOCKERFILE
