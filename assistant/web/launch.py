"""How the page is served: `launch_options(settings)` for `demo.launch`, the theme, the static
files, and the engine's warm-up before the first question."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from ..config import Settings
from .guard import Guard, allowed_hosts, max_body, parse_auth

log = logging.getLogger("assistant.ui")

STATIC = Path(__file__).resolve().parent / "static"
CSS_PATH = STATIC / "page.css"
JS_PATH = STATIC / "page.js"

# WCAG AA contrast for Gradio's subdued text (its default grey is 1.9:1 on white).
THEME = gr.themes.Default(primary_hue="amber").set(
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    block_label_text_color="*neutral_700",
    block_label_text_color_dark="*neutral_200",
    block_info_text_color="*neutral_600",
    block_info_text_color_dark="*neutral_300",
    input_placeholder_color="*neutral_500",
    input_placeholder_color_dark="*neutral_400",
    button_primary_text_color="#1f2937",
    button_primary_text_color_hover="#111827",
    button_primary_text_color_dark="#1f2937",
    button_cancel_background_fill="#b91c1c",
    button_cancel_background_fill_hover="#991b1b",
    button_cancel_background_fill_dark="#b91c1c",
    button_cancel_text_color="#ffffff",
    button_cancel_text_color_dark="#ffffff",
)


def page_script() -> str:
    """The page's script (static/page.js), run by the article panel's `js_on_load`."""
    return JS_PATH.read_text(encoding="utf-8")


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `demo.launch`: host, port, login, look, and nothing served but
    what the page needs."""
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "auth": parse_auth(settings.ui_auth),
        "css_paths": [CSS_PATH],
        "theme": THEME,
        "footer_links": [],
        "share": False,
        "show_error": False,
        "mcp_server": False,
        "max_file_size": 1,  # bytes: the page takes no uploads
        "app_kwargs": {
            "openapi_url": None,
            "docs_url": None,
            "redoc_url": None,
            "middleware": [Middleware(Guard, allowed_hosts=allowed_hosts(settings),
                                      max_body=max_body(settings))],
        },
    }


def warm_up(settings: Settings) -> Callable[[], None]:
    """Load the default engine (a thread's target), so the first question does not wait."""

    def run() -> None:
        import assistant

        try:
            assistant.get_engine(settings)
        except Exception:  # the page shows the error on the first question
            log.exception("the answer engine could not be loaded")

    return run
