"""``helpbridge-agent``: the support agents' console (tickets, chats, team)."""
