"""Test setup: offline models, no analytics, and an index of the tests' own under a temp dir."""

from __future__ import annotations

import os
import tempfile

# Before huggingface_hub, gradio or chromadb are imported: fail fast instead of reaching out.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
# The tests never touch the user's index/: one index per test session, built on first use.
os.environ["ASSISTANT_INDEX_DIR"] = tempfile.mkdtemp(prefix="assistant-test-index-")
os.environ.pop("ASSISTANT_ARTICLE", None)
