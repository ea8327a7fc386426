"""Remote assist, Qt-free: the customer's host (capture, RFB server, input)
and the agent's viewer and VNC bridge (RFB client), over the service's relay.

See ``protocol.assist`` for the session and the stream, and
``docs/remote-assist-protocol.md`` for the RFB side.
"""
