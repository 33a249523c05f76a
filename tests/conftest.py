"""Test setup: offline models, no analytics, and an index of the tests' own under a temp dir."""

from __future__ import annotations

import os
import tempfile

import pytest

# Before huggingface_hub, gradio or chromadb are imported: fail fast instead of reaching out.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
# The tests never touch the user's index/: one index per test session, built on first use.
os.environ["ASSISTANT_INDEX_DIR"] = tempfile.mkdtemp(prefix="assistant-test-index-")
os.environ.pop("ASSISTANT_ARTICLE", None)
# The rules alone unless a test asks for an LLM (tests/test_llm*.py build their own engines).
os.environ["ASSISTANT_LLM"] = "none"


@pytest.fixture(scope="module")
def settings(request, tmp_path_factory):
    """The environment's settings, with the chat page's votes written under a temp dir and the
    rules answering (the page must work with them alone; they are fast and deterministic)."""
    import dataclasses

    from ui_support import settings_with_feedback

    settings = settings_with_feedback(tmp_path_factory.mktemp(request.module.__name__))
    if hasattr(settings, "llm"):
        settings = dataclasses.replace(settings, llm="none")
    return settings


@pytest.fixture(scope="module")
def app(settings):
    """The chat page as `python ui.py` serves it (real models, real Chroma): (url, article)."""
    from ui_support import real_app

    with real_app(settings) as served:
        yield served
