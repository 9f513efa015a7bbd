"""The sample data behind `crm demo`: properties a person can check, not a snapshot of the output."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from attrs import frozen

from crm.core.demo import SampleData, window_start, write_sample_data

FUNNEL = ("lead", "prospect", "opportunity", "customer")
DEAL_STAGES = ("qualified", "proposal", "negotiation", "won", "lost")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MONEY = re.compile(r"^\d+\.\d{2}$")


@frozen
class Loaded:
    sample: SampleData
    customers: list[dict[str, str]]
    interactions: list[dict[str, str]]

    def of_kind(self, kind: str) -> list[dict[str, str]]:
        return [row for row in self.interactions if row["kind"] == kind]

    def orders_by_customer(self) -> dict[str, set[str]]:
        orders: dict[str, set[str]] = defaultdict(set)
        for row in self.of_kind("purchase"):
            orders[row["customer_id"]].add(row["order_id"])
        return orders


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _load(directory: Path, **kwargs: Any) -> Loaded:
    sample = write_sample_data(directory, **kwargs)
    return Loaded(sample, _read(sample.customers_csv), _read(sample.interactions_csv))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The default data set: 2,000 customers, two years ending 2026-06-30."""
    return _load(tmp_path_factory.mktemp("demo"), duplicates=0.0)


def _one_time_share(data: Loaded) -> float:
    orders = data.orders_by_customer()
    return sum(len(ids) == 1 for ids in orders.values()) / len(orders)


def _top_fifth_revenue_share(data: Loaded) -> float:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for row in data.of_kind("purchase"):
        revenue[row["customer_id"]] += Decimal(row["amount"])
    ranked = sorted(revenue.values(), reverse=True)
    return float(sum(ranked[: len(ranked) // 5]) / sum(ranked))


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = write_sample_data(tmp_path / "a", customers=300, seed=7)
    again = write_sample_data(tmp_path / "b", customers=300, seed=7)
    other = write_sample_data(tmp_path / "c", customers=300, seed=8)
    for name in ("customers_csv", "interactions_csv"):
        assert getattr(first, name).read_bytes() == getattr(again, name).read_bytes()
        assert getattr(first, name).read_bytes() != getattr(other, name).read_bytes()


def test_files_have_the_importer_columns_and_the_counts_returned(demo: Loaded) -> None:
    assert demo.sample.customers_csv.name == "customers.csv"
    assert demo.sample.interactions_csv.name == "interactions.csv"
    with demo.sample.customers_csv.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == [
            "customer_id", "name", "email", "phone", "country", "city", "birth_date", "gender",
            "created_at", "consent_email", "consent_sms", "consent_profiling",
        ]  # fmt: skip
    with demo.sample.interactions_csv.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == [
            "interaction_id", "customer_id", "kind", "occurred_at", "amount", "channel",
            "campaign", "stage", "order_id", "category", "topic", "discount",
        ]  # fmt: skip
    assert demo.sample.customers == len(demo.customers) == 2_000
    assert demo.sample.interactions == len(demo.interactions)


def test_ids_are_unique_and_every_interaction_has_a_customer(demo: Loaded) -> None:
    customer_ids = [row["customer_id"] for row in demo.customers]
    assert customer_ids[0] == "CUST-000001" and customer_ids[-1] == "CUST-002000"
    assert len(set(customer_ids)) == 2_000
    interaction_ids = [row["interaction_id"] for row in demo.interactions]
    assert interaction_ids[0] == "INT-0000001"
    assert len(set(interaction_ids)) == len(interaction_ids)
    assert {row["customer_id"] for row in demo.interactions} <= set(customer_ids)


def test_amounts_and_orders_only_on_purchases_and_deals(demo: Loaded) -> None:
    for row in demo.interactions:
        if row["kind"] == "purchase":
            assert MONEY.match(row["amount"]) and Decimal(row["amount"]) > 0, row
            assert row["order_id"].startswith("ORD-"), row
        elif row["order_id"]:  # a deal's stage change; its first one carries the deal's value
            assert row["kind"] == "stage_change" and row["order_id"].startswith("DEAL-"), row
            assert row["stage"] in DEAL_STAGES, row
            assert (row["amount"] != "") == (row["stage"] == "qualified"), row
        else:
            assert row["amount"] == "" and row["order_id"] == "", row


def test_some_orders_have_two_lines_of_one_customer_at_one_time(demo: Loaded) -> None:
    lines: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in demo.of_kind("purchase"):
        lines[row["order_id"]].append((row["customer_id"], row["occurred_at"]))
    two = [order for order, rows in lines.items() if len(rows) == 2]
    assert 0.01 < len(two) / len(lines) < 0.10
    assert max(len(rows) for rows in lines.values()) == 2
    assert all(len(set(lines[order])) == 1 for order in two)


def test_every_time_is_utc_iso_inside_the_two_year_window(demo: Loaded) -> None:
    times = [row["occurred_at"] for row in demo.interactions]
    times += [row["created_at"] for row in demo.customers]
    assert all(ISO_UTC.match(t) for t in times)
    # Same-format ISO strings compare like the times they spell.
    assert min(times) >= "2024-07-01T00:00:00Z"
    assert max(times) <= "2026-06-30T23:59:59Z"


def test_window_follows_end_and_years(tmp_path: Path) -> None:
    assert window_start(date(2026, 6, 30), 2) == date(2024, 7, 1)
    assert window_start(date(2028, 2, 29), 1) == date(2027, 3, 1)
    data = _load(tmp_path, customers=300, end=date(2025, 3, 31), years=1)
    times = [row["occurred_at"] for row in data.interactions]
    assert min(times) >= "2024-04-01T00:00:00Z"
    assert max(times) <= "2025-03-31T23:59:59Z"


def test_rows_are_sorted_by_time_then_id(demo: Loaded) -> None:
    keys = [(row["occurred_at"], row["interaction_id"]) for row in demo.interactions]
    assert keys == sorted(keys)


def test_every_kind_is_present(demo: Loaded) -> None:
    kinds = {row["kind"] for row in demo.interactions}
    assert kinds == {
        "purchase", "visit", "email_open", "campaign_touch", "ticket", "complaint", "feedback",
        "stage_change",
    }  # fmt: skip


@pytest.mark.parametrize("seed", [20261125, 1, 2, 3])
def test_one_time_buyers_and_revenue_concentration_are_in_their_bands(
    tmp_path: Path, demo: Loaded, seed: int
) -> None:
    data = demo if seed == 20261125 else _load(tmp_path, seed=seed)
    assert 0.30 <= _one_time_share(data) <= 0.40
    assert 0.60 <= _top_fifth_revenue_share(data) <= 0.80


def test_about_fifteen_percent_never_buy(demo: Loaded) -> None:
    buyers = set(demo.orders_by_customer())
    assert 0.12 <= 1 - len(buyers) / len(demo.customers) <= 0.18


def test_funnel_stages_come_in_order_and_customer_at_first_purchase(demo: Loaded) -> None:
    stages: dict[str, list[tuple[str, str]]] = defaultdict(list)
    first_purchase: dict[str, str] = {}
    for row in demo.interactions:  # in time order
        if row["kind"] == "stage_change" and not row["order_id"]:  # not a deal's
            stages[row["customer_id"]].append((row["stage"], row["occurred_at"]))
        elif row["kind"] == "purchase":
            first_purchase.setdefault(row["customer_id"], row["occurred_at"])
    reached: Counter[str] = Counter()
    for customer in demo.customers:
        cid = customer["customer_id"]
        names = [name for name, _ in stages[cid]]
        times = [when for _, when in stages[cid]]
        assert names == list(FUNNEL[: len(names)]), (cid, names)
        assert times == sorted(set(times)), (cid, times)  # strictly increasing
        assert times[0] == customer["created_at"]
        reached[names[-1]] += 1
        if cid in first_purchase:
            assert names[-1] == "customer" and times[-1] <= first_purchase[cid]
        else:
            assert names[-1] != "customer"
    assert all(reached[stage] > 0 for stage in ("lead", "prospect", "opportunity"))


def test_nothing_happens_before_the_customer_was_created(demo: Loaded) -> None:
    created = {row["customer_id"]: row["created_at"] for row in demo.customers}
    assert all(row["occurred_at"] >= created[row["customer_id"]] for row in demo.interactions)


def test_frequent_buyers_visit_more_and_some_visit_before_buying(demo: Loaded) -> None:
    orders = demo.orders_by_customer()
    visits = Counter(row["customer_id"] for row in demo.of_kind("visit"))
    frequent = [c for c, ids in orders.items() if len(ids) >= 5]
    once = [c for c, ids in orders.items() if len(ids) == 1]
    assert sum(visits[c] for c in frequent) / len(frequent) > 2 * (
        sum(visits[c] for c in once) / len(once)
    )
    first: dict[str, str] = {}
    early = set()
    for row in demo.interactions:
        if row["kind"] == "purchase":
            first.setdefault(row["customer_id"], row["occurred_at"])
        elif row["kind"] == "visit" and row["customer_id"] not in first:
            early.add(row["customer_id"])
    assert len(early & set(orders)) > 100


def test_complaints_come_more_from_lapsed_buyers(demo: Loaded) -> None:
    last: dict[str, str] = {}
    for row in demo.of_kind("purchase"):
        last[row["customer_id"]] = row["occurred_at"]
    complained = {row["customer_id"] for row in demo.of_kind("complaint")}
    lapsed = [c for c, when in last.items() if when < "2026-01-01"]
    recent = [c for c, when in last.items() if when >= "2026-01-01"]

    def rate(group: list[str]) -> float:
        return len(complained.intersection(group)) / len(group)

    assert rate(lapsed) > 2 * rate(recent)


def test_campaign_fields_and_opens_follow_touches_with_consent(demo: Loaded) -> None:
    consent = {row["customer_id"]: row["consent_email"] for row in demo.customers}
    touched: dict[tuple[str, str], str] = {}
    for row in demo.interactions:
        if row["kind"] in ("campaign_touch", "email_open"):
            assert row["campaign"] and row["channel"], row
        if row["kind"] == "campaign_touch":
            touched[(row["customer_id"], row["campaign"])] = row["occurred_at"]
        elif row["kind"] == "email_open":
            key = (row["customer_id"], row["campaign"])
            assert key in touched and touched[key] <= row["occurred_at"], row
            assert consent[row["customer_id"]] == "true" and row["channel"] == "email"
        elif row["kind"] == "stage_change":
            assert row["stage"] in (*FUNNEL, *DEAL_STAGES) and not row["campaign"]
        else:
            assert row["stage"] == ""
    campaigns = {campaign for _, campaign in touched}
    assert 5 <= len(campaigns) <= 12
    assert any(row["campaign"] for row in demo.of_kind("purchase"))


def test_demographics_are_plausible(demo: Loaded) -> None:
    assert len({row["country"] for row in demo.customers}) >= 5
    german_cities = {"Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt"}
    assert {r["city"] for r in demo.customers if r["country"] == "Germany"} == german_cities
    end = date(2026, 6, 30)
    births = [date.fromisoformat(r["birth_date"]) for r in demo.customers if r["birth_date"]]
    ages = [end.year - b.year - ((end.month, end.day) < (b.month, b.day)) for b in births]
    assert min(ages) >= 18 and max(ages) <= 80
    assert 0 < len(births) < len(demo.customers)  # some birth dates unknown
    genders = Counter(row["gender"] for row in demo.customers)
    assert genders["female"] > 0 and genders["male"] > 0 and genders[""] > 0
    for flag in ("consent_email", "consent_sms", "consent_profiling"):
        assert {row[flag] for row in demo.customers} == {"true", "false", ""}
    emails = [row["email"] for row in demo.customers if row["email"]]
    assert len(set(emails)) == len(emails)
    assert all(e.split("@")[1] in {"example.com", "example.net", "example.org"} for e in emails)


@pytest.mark.parametrize("bad", [{"customers": 0}, {"years": 0}])
def test_rejects_arguments_without_data(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        write_sample_data(tmp_path, **bad)


def test_purchases_follow_the_documented_pareto_nbd_and_gamma_gamma(tmp_path: Path) -> None:
    """Repeat purchases match E[X(t)] of the Pareto/NBD (Schmittlein et al. 1987, eq. 18)
    for each buyer's time t since the first purchase, and the mean order value is
    p * gamma / (q - 1) = 6 * 30 / 3 = 60.00, with r=0.8, alpha=7, s=0.5, beta=12 per week."""
    r, alpha, s, beta = 0.8, 7.0, 0.5, 12.0
    sample = write_sample_data(tmp_path, customers=20_000)
    orders: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    first: dict[str, datetime] = {}
    with sample.interactions_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "purchase":
                orders[row["customer_id"]][row["order_id"]] += Decimal(row["amount"])
                first.setdefault(row["customer_id"], datetime.fromisoformat(row["occurred_at"]))
    window_end = datetime(2026, 7, 1, tzinfo=UTC)
    expected = observed = 0.0
    for customer, bought in orders.items():
        t = (window_end - first[customer]).total_seconds() / (7 * 86_400)
        expected += r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
        observed += len(bought) - 1
    assert observed / expected == pytest.approx(1.0, abs=0.06)
    values = [value for bought in orders.values() for value in bought.values()]
    assert float(sum(values)) / len(values) == pytest.approx(60.0, rel=0.05)


def test_deals_have_values_and_both_outcomes_and_some_stay_open(demo: Loaded) -> None:
    last: dict[str, str] = {}
    for row in demo.of_kind("stage_change"):
        if row["order_id"]:
            last[row["order_id"]] = row["stage"]
    outcomes = Counter(last.values())
    assert outcomes["won"] > 1000 and outcomes["lost"] > 300
    assert sum(outcomes[s] for s in ("qualified", "proposal", "negotiation")) > 5
    channels = {row["channel"] for row in demo.interactions if row["channel"]}
    assert len(channels) >= 5
