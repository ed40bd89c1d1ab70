"""AppTest fixtures: the app run in-process against an isolated model store."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.viz.style import WORD_JOINER

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")
TIMEOUT = 120


@pytest.fixture(scope="session")
def first_use_store(tmp_path_factory):
    """A model store as the app's first use leaves it (the default model trained and
    active), trained once per test worker: training it for every test cost 2-4 s each."""
    from segmentation.store import ModelStore
    from segmentation.workflows import ensure_active_model

    root = tmp_path_factory.mktemp("first-use-store")
    ensure_active_model(ModelStore(root))
    return root


@pytest.fixture
def app(isolated_models_dir, first_use_store):
    """A fresh session of the app on its Home page, its store holding what first use
    trains (a copy per test; first use itself: tests/test_store.py, tests/e2e)."""
    shutil.copytree(first_use_store, isolated_models_dir, dirs_exist_ok=True)
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
