"""Cost and tokens: what the run cost and where the tokens went. A call without a price
is counted as such, never summed as free; an estimated cost (``events.est_cost_usd``, a
price table's estimate for calls whose source gave none) is shown beside the reported one,
never added to it."""

from __future__ import annotations

import pandas as pd

from ... import formatting as fmt
from ... import plots, safe
from ...analyses import cost as an
from ...analyses import overview
from ...model import Run
from ..display import Block, Omitted, new_figure
from ..headline import estimated_cost


def _known(value) -> bool:
    return not fmt.missing(value)


def has_content(run: Run) -> str | None:
    """Something to say when the run records any cost or token count."""
    for table in (run.tasks, run.events, run.messages):
        for column in ("cost_usd", "input_tokens", "output_tokens"):
            if column in table.columns and table[column].notna().any():
                return None
    if not pd.isna(estimated_cost(run.events)[0]):
        return None
    return "no cost or token counts in this run"


def totals(run: Run) -> Block:
    """Cost (reported, and estimated where a price table filled gaps), tokens and cache use."""
    t = overview.totals(run)
    est, est_calls = estimated_cost(run.events)
    cached, prompt = t["cached_tokens"], t["input_tokens"]
    values = {"cost (reported)": t["cost_usd"]}
    formats = {"cost (reported)": "cost"}
    if _known(est):
        label = f"cost (estimated, {fmt.counted(est_calls, 'call')} without a price)"
        values[label], formats[label] = est, "cost"
    values.update({"input tokens": prompt, "output tokens": t["output_tokens"], "cached tokens": cached,
                   "cache hit rate": cached / prompt if _known(cached) and _known(prompt) and prompt else None,
                   "model calls without a price": t["unpriced_calls"]})
    formats.update({"cache hit rate": "percent", "model calls without a price": "count"})
    shown = {k: v for k, v in values.items() if _known(v)}
    unknown = [m for r in (run.meta.get("runs") or [run.meta]) for m in r.get("unpriced_models") or []]
    note = (safe.note(f"Not in the price table ({run.meta.get('price_table') or 'genai-prices'}), so left "
                      f"unpriced: {', '.join(sorted(set(unknown)))}.") if unknown else None)
    return Block(safe.show(shown, formats=formats), note)


def _with_estimate(table: pd.DataFrame, run: Run, by: str) -> pd.DataFrame:
    """``table`` with an ``est_cost_usd`` column beside ``cost_usd`` where the events carry
    estimates (a separate column: the two are never summed)."""
    if "est_cost_usd" not in run.events.columns or table.empty or by not in table.columns:
        return table
    est = pd.to_numeric(run.events["est_cost_usd"], errors="coerce")
    if not est.notna().any():
        return table
    per = est.groupby(run.events[by].astype("string")).sum(min_count=1)
    table = table.copy()
    position = list(table.columns).index("cost_usd") + 1 if "cost_usd" in table.columns else len(table.columns)
    table.insert(position, "est_cost_usd", table[by].astype("string").map(per).to_numpy())
    return table


def by_model(run: Run) -> Block | Omitted:
    """Cost and tokens of each model; ``unpriced calls`` counts calls without a price."""
    table = an.cost_by(run, by="name")
    if table.empty:
        return Omitted("no per-call cost or token data")
    fig = new_figure(9, max(3.0, 0.4 * min(len(table), 20) + 1.2))
    plots.cost_bars(run, by="model", ax=fig.add_subplot())
    return Block(safe.show(_with_estimate(table, run, "name")), fig)


def by_agent_and_task(run: Run) -> Block | Omitted:
    """The same totals per agent, and the ten most expensive tasks."""
    by_agent = an.cost_by(run, by="agent")
    by_task = an.cost_by(run, by="task_id")
    if by_agent.empty and by_task.empty:
        return Omitted("no per-agent or per-task cost data")
    if len(by_task) and "cost_usd" in by_task:
        by_task = by_task.sort_values("cost_usd", ascending=False, kind="stable")
    return Block(
        safe.show(_with_estimate(by_agent, run, "agent"), caption="by agent", empty="no per-agent cost data"),
        safe.show(by_task, max_rows=10, caption="most expensive tasks", empty="no per-task cost data"),
    )


def per_success(run: Run) -> Block | Omitted:
    """Total cost divided by the tasks that passed."""
    table = an.cost_per_success(run)
    if table.empty or table["cost_usd"].isna().all():
        return Omitted("no reported cost, so no cost per successful task")
    return Block(safe.show(table))


def agent_vs_framework(run: Run) -> Block | Omitted:
    """The agent's own calls against the framework's (user simulator, evaluator, experts)."""
    table = an.agent_vs_framework(run)
    if len(table) < 2:
        return Omitted("no framework calls (user simulator, evaluator, experts) to set against the agent's")
    return Block(safe.show(table))
