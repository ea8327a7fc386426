"""The wire format HelpBridge's client and service share.

Every REST body and realtime event is a pydantic model defined here. The
package imports neither Qt nor anything from ``server`` or ``client``; both
sides import it.

``PROTOCOL_VERSION`` is bumped on any incompatible change; the service
reports it at ``/healthz`` and the client refuses to talk to a service whose
major version differs.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"

__all__ = ["API_PREFIX", "PROTOCOL_VERSION"]
