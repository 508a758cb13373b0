"""Estimated cost of calls whose source recorded tokens but no price.

Many runs record tokens and no cost (a tau2 ``[PROFILE]`` log: 758 calls, cost blank). For
those calls ``events.est_cost_usd`` is the price the maintained table of ``genai-prices``
(the one Logfire uses) gives for the model and the tokens, on the day of the call. It is an
estimate beside the reported ``cost_usd``, never mixed into it: a call with a reported price
has no estimate, and a model the table does not know stays unpriced (listed in
``run.meta["unpriced_models"]``). A model is looked up as the source names it (a provider
prefix understood), in lower case, and last at OpenRouter, whose table prices the open
models (Qwen, Llama, ...) that their makers do not sell themselves. ``run.meta["price_table"]`` names the table's version.

Prices are linear in tokens for most models, so each model is priced once per day and the
calls are priced with arrays; models with tiered prices are priced call by call.

Convention: ``input_tokens`` counts every input token, cache reads included;
``cached_tokens`` is the part of them read from a cache.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .model import CONTAINER_KINDS, LLM_KINDS, Run

MTOK = 1_000_000


def estimate_costs(run: Run) -> None:
    """Fill ``run.events.est_cost_usd`` for unpriced calls with tokens and a known model
    (and for a span that reports the usage of the calls inside it, such as a MassGen round,
    priced as its model's calls: a price tiered by a call's prompt size is then applied to the
    round's sum); record the price table and the models it does not know in ``run.meta``."""
    ev = run.events
    if ev.empty:
        return
    unpriced = np.isnan(ev["cost_usd"].to_numpy(dtype="float64"))
    if not unpriced.any():
        return
    tokens = ev["input_tokens"].notna().to_numpy(dtype=bool) | ev["output_tokens"].notna().to_numpy(dtype=bool)
    need = unpriced & tokens
    if not need.any():
        return
    names = ev["name"].astype(object).to_numpy(copy=True)
    calls = ev["kind"].isin(LLM_KINDS).to_numpy(dtype=bool)
    spans = np.zeros(len(ev), dtype=bool)
    if (need & ev["kind"].isin(CONTAINER_KINDS).to_numpy(dtype=bool)).any():  # a span reporting its calls' usage
        from .analyses.cost import billing

        for i, model in billing(ev)[3].items():  # billed to its model: priced as that model's calls
            if isinstance(model, str):
                names[i], spans[i] = model, True
    need &= (calls | spans) & pd.notna(names)
    if not need.any():
        return
    rows = ev.loc[need, ["start", "end", "input_tokens", "output_tokens", "cached_tokens"]].assign(name=names[need])
    day = rows["start"].fillna(rows["end"]).dt.floor("D")
    estimates = np.full(len(rows), np.nan)
    unknown: set[str] = set()
    for (model, when), index in rows.groupby([rows["name"].astype(str), day], dropna=False, sort=False).indices.items():
        part = rows.iloc[index]
        prices = _prices(model, None if pd.isna(when) else when.to_pydatetime())
        if prices is None:
            unknown.add(model)
            continue
        estimates[index] = _price_rows(part, prices, model, when)
    column = ev["est_cost_usd"].to_numpy(dtype="float64", copy=True)
    column[np.flatnonzero(need)] = estimates
    run.events["est_cost_usd"] = column
    run.meta["price_table"] = f"genai-prices {_version()}"
    run.meta["unpriced_models"] = sorted(unknown)


def _tokens(part: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(part[column], errors="coerce").fillna(0).to_numpy(dtype="float64")


def _price_rows(part: pd.DataFrame, prices: tuple, model: str, when: Any) -> np.ndarray:
    per_call, per_input, per_cached, per_output, tiered = prices
    inputs, cached, outputs = (_tokens(part, c) for c in ("input_tokens", "cached_tokens", "output_tokens"))
    cached = np.minimum(cached, inputs)
    if not tiered:
        return per_call + per_input * (inputs - cached) + per_cached * cached + per_output * outputs
    return np.array([_exact(model, int(i), int(c), int(o), None if pd.isna(when) else when.to_pydatetime())
                     for i, c, o in zip(inputs, cached, outputs)])


def _candidates(model: str) -> list[tuple[str | None, str]]:
    """(provider, model name) to look up, in order: ``openai/gpt-4.1`` as provider and name,
    the name as written and in lower case, and last an aggregator's price for an open model
    its maker does not sell itself (``Qwen/Qwen3-8B`` is priced as OpenRouter's qwen/qwen3-8b)."""
    provider, sep, name = model.partition("/")
    out = [(provider, name)] if sep and name else []
    out += [(None, model), (None, model.lower()), ("openrouter", model.lower())]
    if sep and name:
        out.append((None, name.lower()))
    return list(dict.fromkeys(out))


def _calc(model: str, when: Any, **usage: int):
    from genai_prices import Usage, calc_price

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for provider, name in _candidates(model):
            try:
                return calc_price(Usage(**usage), name, provider_id=provider, genai_request_timestamp=when)
            except LookupError:
                continue
    raise LookupError(f"no price for {model!r}")


@lru_cache(maxsize=4096)
def _prices(model: str, when: Any) -> tuple | None:
    """(per call, per input token, per cached input token, per output token, tiered) in USD,
    or None when the table does not know the model."""
    try:
        base = _calc(model, when, input_tokens=0, output_tokens=0)
        per_input = float(_calc(model, when, input_tokens=MTOK).total_price - base.total_price) / MTOK
        per_cached = float(_calc(model, when, input_tokens=MTOK, cache_read_tokens=MTOK).total_price
                           - base.total_price) / MTOK
        per_output = float(_calc(model, when, output_tokens=MTOK).total_price - base.total_price) / MTOK
    except (LookupError, ValueError, TypeError, ArithmeticError):
        return None
    tiered = any(type(v).__name__ == "TieredPrices" for v in vars(base.model_price).values())
    return float(base.total_price), per_input, per_cached, per_output, tiered


@lru_cache(maxsize=65536)
def _exact(model: str, inputs: int, cached: int, outputs: int, when: Any) -> float:
    try:
        return float(_calc(model, when, input_tokens=inputs, cache_read_tokens=cached,
                           output_tokens=outputs).total_price)
    except (LookupError, ValueError, TypeError, ArithmeticError):
        return np.nan


def _version() -> str:
    from importlib.metadata import version

    return version("genai-prices")
