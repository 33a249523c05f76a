"""The chat page: a Gradio layout over the assistant, served behind a guard.

- `page.build_demo(settings)`: the page (layout and events); `conversation`: a session's
  conversation and article; `answering`: the loop that answers its questions; `articles`: reading
  a pasted article; `guard`: the ASGI middleware (hosts, headers, refused routes, logins);
  `limits`: rate limits and the vote registry; `launch`: `launch_options`, the theme;
- `strings`, `article_html`, `chat_html`: the HTML and the words (pure functions, no Gradio);
- `static/page.css`, `static/page.js`: the page's style and script, loaded by Gradio.

Importing this package imports nothing else: `strings` and the HTML modules stay free of Gradio.
"""
