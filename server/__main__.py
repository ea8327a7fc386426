"""``python -m server`` is ``helpbridge-server``."""

from __future__ import annotations

import sys

from server.cli import main

sys.exit(main())
