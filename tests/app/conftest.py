"""AppTest fixtures: the app run in-process against an isolated model store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.viz.style import WORD_JOINER

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")
TIMEOUT = 120


@pytest.fixture
def app(isolated_models_dir):
    """A fresh session of the app on its Home page (the default model trained at first use)."""
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch to ``pages/<page>`` and run it, as a click in the sidebar menu would."""
    at.switch_page(f"pages/{page}")
    at.run()
    return at


def plain(markdown: str) -> str:
    """The text a Markdown body shows: backslash escapes undone, word joiners removed
    (see ``segmentation.viz.style.md_escape``)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def pretend_active_model_is_from_another_scikit_learn() -> None:
    """Mark the active version as saved by scikit-learn 0.1, as an old store would be."""
    from segmentation.app import ui

    store = ui.store()
    path = store.root / store.active_version() / "metadata.json"
    meta = json.loads(path.read_text())
    meta["library_versions"]["scikit-learn"] = "0.1"
    path.write_text(json.dumps(meta))
    ui.clear_model_cache()
