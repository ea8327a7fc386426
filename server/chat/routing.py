"""Which agent gets a queued conversation, and in what order the queue is served.

Pure functions over snapshots, so the rules are tested without a service.
Queues are served by tier (svip, then vip, then normal), oldest first
within a tier. An agent takes a conversation when they are online, under
capacity and serve its product (an agent listing no products serves all);
among those, the least loaded wins and ties go round-robin (the one whose
last assignment is oldest).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

TIER_RANK = {"svip": 0, "vip": 1, "normal": 2}


def queue_name(tier: str, product: str) -> str:
    """The queue a conversation waits in, e.g. ``svip/PhotoTool`` or ``normal``."""
    return f"{tier}/{product}" if product else tier


def queue_key(
    tier: str, queued_at: datetime | None, conversation_id: int
) -> tuple[int, float, int]:
    """Sort key: higher tiers first, then the longest waiting."""
    stamp = queued_at.timestamp() if queued_at is not None else 0.0
    return (TIER_RANK.get(tier, len(TIER_RANK)), stamp, conversation_id)


@dataclass(frozen=True)
class AgentSlot:
    agent_id: int
    load: int
    capacity: int
    products: tuple[str, ...] = ()
    last_assigned: float = 0.0
    """When the agent last got a conversation (epoch seconds; 0: never)."""

    def serves(self, product: str) -> bool:
        return not self.products or product in self.products


def eligible(agents: Iterable[AgentSlot], product: str) -> list[AgentSlot]:
    """Online agents who serve ``product``, whether or not they have room."""
    return [a for a in agents if a.serves(product)]


def pick_agent(agents: Iterable[AgentSlot], product: str) -> AgentSlot | None:
    """The agent to assign, or None when everyone who serves the product is full."""
    room = [a for a in eligible(agents, product) if a.load < a.capacity]
    if not room:
        return None
    return min(room, key=lambda a: (a.load, a.last_assigned, a.agent_id))
