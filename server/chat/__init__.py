"""Live chat on the service: the realtime hub, the bot, routing and storage.

``store`` holds the database work (plain functions over a short
transaction), ``bot`` the knowledge-base answers, ``routing`` the choice of
an agent, ``hub`` the websocket connections and in-process pub/sub. The hub
lives in one service process: run the service with a single worker.
"""
