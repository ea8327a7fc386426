"""Chat routing rules, the rate limiter and the bot's language choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.chat import bot, routing
from server.chat.hub import TokenBucket
from server.chat.routing import AgentSlot


def test_least_loaded_agent_wins() -> None:
    agents = [AgentSlot(1, 3, 5), AgentSlot(2, 1, 5), AgentSlot(3, 2, 5)]
    pick = routing.pick_agent(agents, "")
    assert pick is not None and pick.agent_id == 2


def test_ties_go_round_robin() -> None:
    agents = {i: AgentSlot(i, 0, 10) for i in (1, 2, 3)}
    order = []
    for clock in range(1, 7):
        pick = routing.pick_agent(agents.values(), "")
        assert pick is not None
        order.append(pick.agent_id)
        agents[pick.agent_id] = AgentSlot(pick.agent_id, pick.load + 1, 10, (), float(clock))
    assert order == [1, 2, 3, 1, 2, 3]


def test_full_agents_leave_the_conversation_waiting() -> None:
    agents = [AgentSlot(1, 2, 2), AgentSlot(2, 5, 5)]
    assert routing.eligible(agents, "PhotoTool") == agents  # someone could take it later
    assert routing.pick_agent(agents, "PhotoTool") is None
    assert routing.pick_agent([AgentSlot(1, 0, 0)], "") is None  # capacity 0: takes none


def test_products_narrow_who_serves_a_conversation() -> None:
    ledger = AgentSlot(1, 0, 5, ("LedgerPro",))
    anything = AgentSlot(2, 3, 5)
    assert routing.eligible([ledger], "PhotoTool") == []
    pick = routing.pick_agent([ledger, anything], "LedgerPro")
    assert pick is not None and pick.agent_id == 1
    pick = routing.pick_agent([ledger, anything], "PhotoTool")
    assert pick is not None and pick.agent_id == 2


def test_queue_order_is_tier_then_waiting_time() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    waiting = [
        ("normal", t0, 1),
        ("vip", t0 + timedelta(minutes=5), 2),
        ("svip", t0 + timedelta(minutes=9), 3),
        ("vip", t0 + timedelta(minutes=1), 4),
        ("normal", t0 - timedelta(minutes=1), 5),
    ]
    ordered = sorted(waiting, key=lambda w: routing.queue_key(*w))
    assert [w[2] for w in ordered] == [3, 4, 2, 5, 1]
    assert routing.queue_name("svip", "PhotoTool") == "svip/PhotoTool"
    assert routing.queue_name("normal", "") == "normal"


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(20, 40, clock=lambda: now[0])
    assert all(bucket.take() for _ in range(40))
    assert not bucket.take()
    now[0] += 0.5  # ten tokens back
    assert sum(bucket.take() for _ in range(20)) == 10
    now[0] += 100  # never more than the burst
    assert sum(bucket.take() for _ in range(100)) == 40


def test_bot_speaks_the_customer_s_language() -> None:
    assert bot.locale_of("I forgot my password") == "en"
    assert bot.locale_of("忘记密码") == "zh_CN"
    assert bot.locale_of("LP-1043 错误怎么办") == "zh_CN"
    assert bot.locale_of("") == "en"
    assert bot.line("ask", "zh_CN") == "这些文章解决您的问题了吗？"
    assert bot.line("ask", "fr") == "Did this solve it?"
    assert "#10482" in bot.line("unavailable", "en", number=10482)
    assert "#10482" in bot.line("unavailable", "zh_CN", number=10482)
