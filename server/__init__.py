"""The HelpBridge vendor service: REST and websockets on FastAPI/uvicorn.

Imports neither Qt nor anything from ``client``.
"""

from __future__ import annotations

__version__ = "0.1.0"
