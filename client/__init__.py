"""HelpBridge desktop side: the customer portal and (later) the agent console.

``client.core`` is Qt-free (API client, identity, token store, cache);
``client.ui`` holds the PySide6 widgets.
"""

from __future__ import annotations

__version__ = "0.1.0"
