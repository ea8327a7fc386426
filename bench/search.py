"""Knowledge-base search benchmark.

Builds a synthetic mixed Chinese/English help-centre corpus (deterministic
seed) in a temporary SQLite database through the real migrations and
``SearchIndex``, then times ``SearchIndex.search`` over a varied query mix:
one- and two-character Chinese, longer Chinese words, English words,
prefixes being typed, several words, mixed Chinese/English, filters, typos
and queries that find nothing.

    python bench/search.py --articles 100000 --json

prints one JSON line ``{"articles", "index_s", "p50_ms", "p95_ms", "queries",
"backend", ...}``; without ``--json`` a readable summary (with the slowest
query kinds).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Table, delete, func, insert, select

from server import models
from server.db import Database, sqlite_url
from server.kb.search import SearchIndex

SEED = 20261123
WARM_UP = 200

PRODUCTS = ["LedgerPro", "PayrollCloud", "InventoryHub", "TaxDesk", "CRM Suite", "POS Lite"]
PRODUCT_WEIGHTS = [30, 20, 18, 14, 10, 8]

ZH_CATEGORIES = [
    "安装与升级",
    "账户与登录",
    "发票管理",
    "报表",
    "数据备份",
    "打印",
    "网络与同步",
    "权限设置",
    "工资核算",
    "库存管理",
    "税务申报",
    "常见错误",
]
EN_CATEGORIES = [
    "Installation",
    "Account & sign-in",
    "Invoices",
    "Reports",
    "Backup",
    "Printing",
    "Network & sync",
    "Permissions",
    "Payroll",
    "Inventory",
    "Tax filing",
    "Errors",
]


def _words(text: str) -> list[str]:
    return text.split()


# Help-desk vocabulary, roughly most common first (picked with Zipf weights).
ZH_WORDS = _words(
    """
数据 用户 系统 设置 发票 账户 登录 密码 报表 导出 打印 同步 配置 服务器 网络 错误
安装 升级 版本 权限 备份 恢复 数据库 客户端 文件 导入 凭证 科目 税率 工资 库存
订单 客户 供应商 付款 收款 对账 结账 期末 月结 年度 审核 打印机 模板 字段 格式
表格 单据 明细 汇总 余额 金额 日期 编号 名称 管理员 角色 部门 员工 考勤 社保
公积金 个税 申报 电子 税务局 证书 签名 授权 许可 激活 试用 注册 手机 邮箱 验证码
短信 通知 消息 提醒 任务 计划 自动 手动 批量 单个 删除 修改 新增 查询 搜索 筛选
排序 分页 刷新 缓存 日志 诊断 端口 防火墙 代理 连接 超时 断开 重连 速度 性能 内存
磁盘 空间 清理 迁移 合并 拆分 冲突 锁定 解锁 冻结 启用 停用 默认 自定义 高级 基础
共享 云端 本地 离线 在线 移动 网页 插件 接口 集成 对接 银行 支付 微信 支付宝 扫码
条码 标签 仓库 盘点 调拨 入库 出库 采购 销售 退货 折扣 价格 成本 利润 毛利 预算
费用 报销 审批 流程 节点 状态 异常 失败 成功 完成 取消 重试 提示 窗口 按钮 菜单
页面 首页 工具栏 快捷键 帮助 文档
"""
)
ZH_GLUE = _words(
    """
的 了 在 是 请 如果 可以 您 点击 然后 后 时 中 无法 需要 进行 已经 没有 如何
为什么 怎么 再 并 将 对 从 到 和 或 与 及 等 会 能 不 也 都 就 还 先 一下
所有 每个 这个 该 其他 相关 正确 重新
"""
)
EN_WORDS = _words(
    """
invoice account password report export print sync settings configuration server network error
install upgrade version permission backup restore database client file import voucher ledger tax
rate payroll inventory order customer supplier payment receipt reconciliation reconcile closing
period month year audit printer template field format table document detail summary balance
amount date number name administrator role department employee attendance insurance withholding
filing electronic certificate signature license activation trial registration phone email
verification code message notification reminder task schedule automatic manual batch single
delete modify create query search filter sort page refresh cache log diagnostics port firewall
proxy connection timeout disconnect reconnect speed performance memory disk space cleanup
migration merge split conflict lock unlock freeze enable disable default custom advanced basic
shared cloud local offline online mobile web plugin interface integration bank transfer wallet
barcode label warehouse stocktake purchase sales return discount price cost profit margin budget
expense approval workflow status failure success complete cancel retry prompt window button menu
homepage toolbar shortcut help invoices accounts reports exported printing synchronization
configured installed upgrading permissions backups restored databases clients files imported
vouchers ledgers payments customers
"""
)
EN_GLUE = _words(
    """
the a an to of in on for with and or if you your can cannot is are was be not then when after
before this that it from by as at click open select choose check make sure please need how why
what which all each other new again also only first
"""
)


def _zipf(words: list[str], s: float = 1.0) -> list[float]:
    """Cumulative Zipf weights (``random.choices(cum_weights=...)``)."""
    return list(itertools.accumulate(1.0 / (i + 1) ** s for i in range(len(words))))


class Corpus:
    """Deterministic synthetic articles."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.zh_w = _zipf(ZH_WORDS, 0.8)
        self.en_w = _zipf(EN_WORDS, 0.8)

    def code(self) -> str:
        return f"{self.rng.choice(['LP', 'PC', 'IH', 'TD', 'ERR'])}-{self.rng.randint(1000, 1999)}"

    def zh_sentence(self) -> str:
        rng = self.rng
        parts: list[str] = []
        for _ in range(rng.randint(3, 7)):
            if rng.random() < 0.45:
                parts.append(rng.choice(ZH_GLUE))
            parts.append(rng.choices(ZH_WORDS, cum_weights=self.zh_w)[0])
        if rng.random() < 0.12:
            parts.append(rng.choice([" SQL Server ", " VPN ", " Excel ", " PDF ", " API "]))
        if rng.random() < 0.08:
            parts.append(f"（{self.code()}）")
        return "".join(parts) + rng.choice("。。。，；！？")

    def en_sentence(self) -> str:
        rng = self.rng
        words: list[str] = []
        for _ in range(rng.randint(6, 14)):
            if rng.random() < 0.4:
                words.append(rng.choice(EN_GLUE))
            else:
                words.append(rng.choices(EN_WORDS, cum_weights=self.en_w)[0])
        if rng.random() < 0.08:
            words.append(self.code())
        s = " ".join(words)
        return s[0].upper() + s[1:] + rng.choice("...?")

    def body(self, zh: bool) -> str:
        rng = self.rng
        sentence = self.zh_sentence if zh else self.en_sentence
        blocks: list[str] = []
        for _ in range(rng.randint(3, 7)):
            kind = rng.random()
            if kind < 0.15:
                blocks.append("## " + sentence().rstrip("。.!?！？"))
            elif kind < 0.35:
                blocks.append("\n".join(f"- {sentence()}" for _ in range(rng.randint(2, 4))))
            elif kind < 0.42:
                blocks.append(f"```\n{self.code()} timeout=30\n```")
            else:
                text = (" " if not zh else "").join(sentence() for _ in range(rng.randint(2, 5)))
                if rng.random() < 0.3:
                    w = rng.choice(ZH_WORDS if zh else EN_WORDS)
                    text += f" **{w}** [{w}](https://help.example.com/{rng.randint(1, 999)})"
                blocks.append(text)
        return "\n\n".join(blocks)

    def article(self, i: int, now: datetime) -> dict[str, Any]:
        rng = self.rng
        zh = rng.random() < 0.55
        if zh:
            title = "".join(rng.choices(ZH_WORDS, cum_weights=self.zh_w, k=rng.randint(2, 4)))
            title += rng.choice(["", "失败", "的方法", "常见问题", "说明", "怎么办"])
        else:
            title = " ".join(
                rng.choices(EN_WORDS, cum_weights=self.en_w, k=rng.randint(2, 5))
            ).capitalize()
            title = rng.choice(["How to ", "", "Troubleshooting: ", "About "]) + title
        cats = ZH_CATEGORIES if zh else EN_CATEGORIES
        when = now - timedelta(minutes=i)
        return {
            "id": i + 1,
            "locale": "zh_CN" if zh else "en",
            "title": title[:300],
            "body": self.body(zh),
            "category": rng.choice(cats),
            "tags": rng.sample(ZH_WORDS[:40] if zh else EN_WORDS[:40], rng.randint(0, 3)),
            "product": rng.choices(PRODUCTS, PRODUCT_WEIGHTS)[0],
            "published": rng.random() > 0.05,
            "created_at": when,
            "updated_at": when,
        }


def queries(n: int, seed: int = SEED + 1) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, query, filters) triples: a fixed mix of what people type."""
    rng = random.Random(seed)
    zh_chars = sorted({c for w in ZH_WORDS + ZH_GLUE for c in w})
    common_zh = [c for c in "的数据用户系统设置发票账密码"]

    def typo(word: str) -> str:
        i = rng.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    makers: list[tuple[str, Callable[[], str]]] = [
        ("zh-1char", lambda: rng.choice(zh_chars)),
        ("zh-1char-common", lambda: rng.choice(common_zh)),
        ("zh-2char", lambda: rng.choice([w for w in ZH_WORDS if len(w) == 2])),
        ("zh-phrase", lambda: rng.choice([w for w in ZH_WORDS if len(w) >= 3])),
        ("zh-multi", lambda: " ".join(rng.sample(ZH_WORDS[:80], 2))),
        (
            "zh-sentence",
            lambda: rng.choice(ZH_GLUE[20:30]) + rng.choice(ZH_WORDS) + rng.choice(ZH_WORDS),
        ),
        ("en-word", lambda: rng.choice(EN_WORDS)),
        (
            "en-prefix",
            lambda: (lambda w: w[: rng.randint(3, max(3, len(w) - 1))])(rng.choice(EN_WORDS)),
        ),
        ("en-multi", lambda: " ".join(rng.sample(EN_WORDS[:120], rng.randint(2, 3)))),
        ("en-question", lambda: f"how to {rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)}"),
        (
            "mixed",
            lambda: (
                f"{rng.choice(['LP', 'ERR', 'TD'])}-{rng.randint(1000, 1999)} "
                + rng.choice(ZH_WORDS)
            ),
        ),
        (
            "mixed-en-zh",
            lambda: f"{rng.choice(['SQL', 'VPN', 'Excel', 'PDF'])} {rng.choice(ZH_WORDS)}",
        ),
        ("typo", lambda: typo(rng.choice([w for w in EN_WORDS if len(w) >= 6]))),
        (
            "no-hit",
            lambda: rng.choice(["kubernetes", "xylophone", "量子纠缠", "zzzz", "qwertyuiop"]),
        ),
        (
            "syntax",
            lambda: rng.choice(['"invoice', "export*", "(report", "NEAR(a b)", "a AND -b", "^x:y"]),
        ),
    ]
    out: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(n):
        kind, make = makers[i % len(makers)]
        filters: dict[str, Any] = {}
        r = rng.random()
        if r < 0.5:
            zh_query = kind.startswith("zh") or kind == "mixed"
            filters["locale"] = "zh_CN" if zh_query else "en"
        if rng.random() < 0.2:
            filters["product"] = rng.choice(PRODUCTS)
        if rng.random() < 0.1:
            filters["category"] = rng.choice(ZH_CATEGORIES + EN_CATEGORIES)
        if rng.random() < 0.1:
            filters["page"] = rng.randint(2, 5)
        out.append((kind, make(), filters))
    return out


def build(db: Database, n: int, batch: int = 5000) -> float | None:
    """Insert ``n`` articles, then index them all at once (the bulk-import
    path); returns the indexing seconds, None when a kept database already
    holds the corpus."""
    index = SearchIndex(db)  # on the empty index: nothing to rebuild yet
    with db.engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(models.Article)) == n:
            return None
    corpus = Corpus()
    now = datetime.now(UTC)
    table = models.Article.__table__  # a Table at run time
    assert isinstance(table, Table)
    with db.engine.begin() as conn:
        conn.execute(delete(table))
        for start in range(0, n, batch):
            rows = [corpus.article(i, now) for i in range(start, min(n, start + batch))]
            conn.execute(insert(table), rows)
    t0 = time.perf_counter()
    index.rebuild()
    return time.perf_counter() - t0


def _percentile(sorted_times: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_times[max(0, math.ceil(q * len(sorted_times)) - 1)]


def run(n: int, n_queries: int, data_dir: Path) -> dict[str, Any]:
    db = Database(sqlite_url(data_dir))
    db.upgrade()
    index_s = build(db, n)
    index = SearchIndex(db)
    # Warm-up with other queries of the same kinds (another seed): the page
    # cache, compiled regexes and imports, as on a service that has been up
    # for a while, without timing a query that has already run.
    for _kind, q, f in queries(WARM_UP, seed=SEED + 2):
        index.search(q, **f)
    mix = queries(n_queries)
    times: list[float] = []
    slowest: list[tuple[float, str, str, dict[str, Any], int]] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    totals: dict[str, list[int]] = defaultdict(list)
    for kind, q, f in mix:
        t0 = time.perf_counter()
        res = index.search(q, **f)
        dt = (time.perf_counter() - t0) * 1000
        times.append(dt)
        by_kind[kind].append(dt)
        totals[kind].append(res.total)
        slowest.append((dt, kind, q, f, res.total))
    db.dispose()
    times.sort()
    slowest.sort(key=lambda x: x[0], reverse=True)
    return {
        "articles": n,
        "index_s": None if index_s is None else round(index_s, 2),
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(_percentile(times, 0.95), 3),
        "p99_ms": round(_percentile(times, 0.99), 3),
        "max_ms": round(times[-1], 3),
        "queries": len(times),
        "backend": "sqlite-fts5" if db.is_sqlite else db.engine.dialect.name,
        "by_kind": {
            k: {
                "p50_ms": round(statistics.median(v), 3),
                "max_ms": round(max(v), 3),
                "median_total": int(statistics.median(totals[k])),
            }
            for k, v in sorted(by_kind.items())
        },
        "slowest": [
            {"ms": round(dt, 2), "kind": k, "query": q, "filters": f, "total": t}
            for dt, k, q, f, t in slowest[:10]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=600)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--keep", type=Path, help="build in this folder and keep the database")
    args = ap.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args.articles, args.queries, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="hb-search-bench-") as tmp:
            result = run(args.articles, args.queries, Path(tmp))
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k not in ("by_kind", "slowest")}))
        return 0
    built = (
        "kept from an earlier run"
        if result["index_s"] is None
        else f"indexed in {result['index_s']} s"
    )
    print(f"{result['articles']} articles {built} ({result['backend']})")
    print(
        f"{result['queries']} queries: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    print(f"{'kind':<18}{'p50 ms':>9}{'max ms':>9}{'median total':>14}")
    for kind, s in result["by_kind"].items():
        print(f"{kind:<18}{s['p50_ms']:>9}{s['max_ms']:>9}{s['median_total']:>14}")
    print("slowest queries:")
    for s in result["slowest"]:
        print(
            f"  {s['ms']:>8} ms  {s['kind']:<16} {s['query']!r} {s['filters']} total={s['total']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
