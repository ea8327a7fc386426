"""Remote assist on the service side: sessions, consent and one-time codes
(:mod:`server.assist.service`) and the stream relay (:mod:`server.assist.relay`).
The REST routes and the stream websocket are in :mod:`server.api.assist`."""
