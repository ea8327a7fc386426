"""The portal's Qt-free core: REST client, identity token input, keyring token
store, offline cache, safe Markdown and per-user paths.

Nothing here imports PySide6 (tests/unit/test_layering.py enforces it), so
it runs in worker threads, command-line tools and tests without a display.
"""
