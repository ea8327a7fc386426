"""``python -m client.agent``: the same as the ``helpbridge-agent`` command."""

from __future__ import annotations

import sys

from client.agent.main import main

sys.exit(main())
