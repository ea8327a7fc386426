"""Remote assist, the customer's side: consent, "Get remote help", the
banner and border while sharing (client/ui/assist/controller.py)."""

from __future__ import annotations

from client.ui.assist.controller import AssistController

__all__ = ["AssistController"]
