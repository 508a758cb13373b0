"""Coordination: how the agents of a multi-agent run coordinated: answers, votes and
their reasons, the winner, restarts and reliability."""

from __future__ import annotations

from ... import safe
from ...analyses import coordination as an
from ...model import Run
from ..display import Block, Omitted


def has_content(run: Run) -> str | None:
    """Something to say for a multi-agent run (answers, votes or per-agent status)."""
    kinds = set(run.events["kind"].dropna().astype(str))
    if kinds & {"answer", "vote"} or run.meta.get("agent_status"):
        return None
    if any(m.get("agent_status") for m in run.meta.get("runs") or []):
        return None
    return "not a multi-agent run (no answers, votes or per-agent status)"


def winner(run: Run) -> Block:
    """The answer the agents chose, and the votes each agent received."""
    return Block(safe.note(f"winner: {run.meta.get('winner') or 'none recorded'}", emphasis=False),
                 safe.show(an.vote_counts(run), empty="no votes were cast"))


def answers(run: Run) -> Block | Omitted:
    """Each answer in the order given, by agent and round."""
    table = an.answers(run)
    return Block(safe.show(table)) if len(table) else Omitted("no answers recorded")


def votes(run: Run) -> Block | Omitted:
    """Each vote, whom it was for, and the reason given (escaped)."""
    table = an.votes(run)
    return Block(safe.show(table, max_chars=300)) if len(table) else Omitted("no votes recorded")


def reliability(run: Run) -> Block | Omitted:
    """Per agent: status, restarts, enforcement retries, buffer characters lost, unknown
    tools and timeouts."""
    table = an.agent_reliability(run)
    return Block(safe.show(table)) if len(table) else Omitted("no per-agent status recorded")
