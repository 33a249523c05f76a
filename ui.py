"""The chat page: a thin Gradio adapter over `assistant.answer_stream`.

Run `python ui.py` (or `make run`) and open http://127.0.0.1:7860. Host, port, login, queue,
limits and the feedback file come from `Settings.from_env()` (ASSISTANT_UI_HOST,
ASSISTANT_UI_PORT, ASSISTANT_UI_AUTH=user:password, ASSISTANT_UI_CONCURRENCY,
ASSISTANT_UI_QUEUE_SIZE, ASSISTANT_FEEDBACK_PATH...). The page itself lives in `assistant.web`:
layout and events in `page.py`, style and script in `static/`, the guard in `guard.py`.
"""

from __future__ import annotations

import logging
import os
import threading

# Before gradio is imported: no analytics, no version check, nothing leaves the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.config import Settings
from assistant.web.conversation import (
    GENERIC_EXAMPLES,
    MAX_WAITING,
    Conversation,
    example_questions,
)
from assistant.web.guard import (
    LOGIN_FAILURES,
    Guard,
    allowed_hosts,
    parse_auth,
)
from assistant.web.launch import THEME, launch_options, warm_up
from assistant.web.limits import RateLimiter, Votes
from assistant.web.page import build_demo

RATE_LIMIT = Settings().ui_rate_limit  # questions per client address per minute, by default

__all__ = [
    "GENERIC_EXAMPLES", "LOGIN_FAILURES", "MAX_WAITING", "RATE_LIMIT", "THEME", "Conversation",
    "Guard", "RateLimiter", "Votes", "allowed_hosts", "build_demo", "demo", "example_questions",
    "launch_options", "parse_auth",
]

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    current = Settings.from_env()
    options = launch_options(current)  # a malformed ASSISTANT_UI_AUTH stops here, before serving
    threading.Thread(target=warm_up(current), daemon=True).start()
    demo.launch(**options)
