"""``python -m client``: the same as the ``helpbridge`` command."""

from __future__ import annotations

import sys

from client.main import main

sys.exit(main())
