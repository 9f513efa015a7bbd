"""`[idic]` options. Every check runs when the options are built, so a bad table fails at load time
with one line per problem under its key path (`crm.toml: idic.identify.merge_weight: ...`).

Identification (`[idic.identify]`) is described in the README; the defaults suit a shop's customer
file where e-mail and phone identify a person well and names and birth dates help.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from attrs import field, frozen
from cattrs.errors import AttributeValidationNote

from crm.core.config import Conditions
from crm_idic.identify.fields import BLOCKING_KEYS, FIELD_LEVELS

#: Candidate pairs: two customers are compared when they agree on every key of one rule.
DEFAULT_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("phone",),
    ("email_local",),
    ("name", "birth_date"),
    ("birth_date", "city"),
    ("surname", "phone_tail"),
)


def _raise_problems(cls: type, problems: list[tuple[str, str]]) -> None:
    """One cattrs note per (attribute, message), so crm reports `idic.identify.<key>: ...`
    (the pattern of crm_rfm.options)."""
    if not problems:
        return
    errors: list[Exception] = []
    for attribute, message in problems:
        exc = ValueError(message, getattr(attrs.fields(cls), attribute))
        exc.__notes__ = [AttributeValidationNote(f"{cls.__name__}.{attribute}", attribute, None)]
        errors.append(exc)
    error = cattrs.ClassValidationError(f"invalid {cls.__name__}", errors, cls)
    error.__notes__ = [AttributeValidationNote(cls.__name__, "", cls)]
    raise error


@frozen(kw_only=True)
class EmailDomainRule:
    """How a mail provider reads addresses: dots in the local part ignored (Gmail), a "+tag"
    suffix delivered to the same mailbox (most providers), or another name for a domain."""

    ignore_dots: bool = False
    plus_addressing: bool = True
    same_as: str | None = None


#: Providers whose rules are published; `[idic.identify.email_domains]` adds or replaces entries.
DEFAULT_EMAIL_DOMAINS: Mapping[str, EmailDomainRule] = {
    "gmail.com": EmailDomainRule(ignore_dots=True),
    "googlemail.com": EmailDomainRule(ignore_dots=True, same_as="gmail.com"),
    "outlook.com": EmailDomainRule(),
    "hotmail.com": EmailDomainRule(),
    "icloud.com": EmailDomainRule(),
    "fastmail.com": EmailDomainRule(),
    "proton.me": EmailDomainRule(),
}


@frozen(kw_only=True)
class FieldProbabilities:
    """Fixed m and/or u probabilities of one field by level name (EM then leaves them alone)."""

    m: Mapping[str, float] | None = None
    u: Mapping[str, float] | None = None


@frozen(kw_only=True)
class IdentifyOptions:
    """`[idic.identify]`: normalisation, blocking, the match model and the decision thresholds."""

    #: Region (ISO 3166 code, "DE") for phone numbers written without a country code.
    default_region: str | None = None
    #: Customer country (as stored) -> region, for national phone numbers of that country.
    country_regions: Mapping[str, str] = field(factory=dict)
    email_domains: Mapping[str, EmailDomainRule] = field(factory=dict)
    #: Key of `attributes` that holds a postcode, where customers have one.
    postcode_attribute: str = "postcode"
    blocking: tuple[tuple[str, ...], ...] = DEFAULT_BLOCKING
    #: Blocks with more customers than this are skipped (a common value says little).
    max_block_size: int = 100
    #: Random pairs drawn to estimate u (the agreement rates of two different people).
    random_pairs: int = 300_000
    em_iterations: int = 50
    #: Pairs at or above `merge_weight` are merged automatically, down to `review_weight`
    #: they are listed for review (match weights: log2 of the odds of a match).
    merge_weight: float = 8.0
    review_weight: float = 0.0
    #: Fields that must not disagree outright for an automatic merge: a pair whose names differ
    #: goes to review however strong the rest (households share phone, address and surname).
    merge_requires: tuple[str, ...] = ("name",)
    #: Larger clusters are sent to review whole: a long chain of links is rarely one person.
    max_cluster_size: int = 6
    fields: Mapping[str, FieldProbabilities] = field(factory=dict)
    #: Fields whose exact agreement weighs by the frequency of the value agreed on (a rare
    #: name counts more than a common one; see crm_idic.identify.frequencies).
    term_frequencies: tuple[str, ...] = tuple(FIELD_LEVELS)
    seed: int = 20261201

    def __attrs_post_init__(self) -> None:
        import phonenumbers

        problems: list[tuple[str, str]] = []
        regions = phonenumbers.SUPPORTED_REGIONS
        if self.default_region is not None and self.default_region not in regions:
            problems.append(
                (
                    "default_region",
                    f"expected a region code such as 'DE', got {self.default_region!r}",
                )
            )
        bad_regions = {k: v for k, v in self.country_regions.items() if v not in regions}
        if bad_regions:
            problems.append(("country_regions", f"unknown region codes in {bad_regions}"))
        for rule in self.blocking:
            unknown = [key for key in rule if key not in BLOCKING_KEYS]
            if not rule or unknown:
                problems.append(
                    (
                        "blocking",
                        f"rule {list(rule)} has unknown keys {unknown}; "
                        f"expected keys from {', '.join(BLOCKING_KEYS)}",
                    )
                )
        counts = {
            "max_block_size": self.max_block_size,
            "random_pairs": self.random_pairs,
            "em_iterations": self.em_iterations,
            "max_cluster_size": self.max_cluster_size,
        }
        for name, value in counts.items():
            if value < 2:
                problems.append((name, f"expected an integer of at least 2, got {value}"))
        if self.review_weight > self.merge_weight:
            problems.append(
                (
                    "review_weight",
                    f"{self.review_weight} is above merge_weight {self.merge_weight}; "
                    "review covers the weights below automatic merging",
                )
            )
        for key in ("merge_requires", "term_frequencies"):
            unknown_fields = [f for f in getattr(self, key) if f not in FIELD_LEVELS]
            if unknown_fields:
                known = ", ".join(FIELD_LEVELS)
                problems.append((key, f"unknown fields {unknown_fields}; expected some of {known}"))
        for name, given in self.fields.items():
            if name not in FIELD_LEVELS:
                known = ", ".join(FIELD_LEVELS)
                problems.append(("fields", f"unknown field {name!r}; expected one of {known}"))
                continue
            for kind in ("m", "u"):
                values: Mapping[str, float] | None = getattr(given, kind)
                levels = FIELD_LEVELS[name]
                if values is None:
                    continue
                if set(values) != set(levels) or not all(0 < v <= 1 for v in values.values()):
                    problems.append(
                        (
                            "fields",
                            f"{name}.{kind}: expected a probability in (0, 1] for each level "
                            f"{', '.join(levels)}, got {dict(values)}",
                        )
                    )
                elif abs(sum(values.values()) - 1) > 1e-6:
                    problems.append(("fields", f"{name}.{kind}: the probabilities must sum to 1"))
        _raise_problems(IdentifyOptions, problems)

    def email_rules(self) -> dict[str, EmailDomainRule]:
        return {**DEFAULT_EMAIL_DOMAINS, **self.email_domains}


@frozen(kw_only=True)
class ValueOptions:
    """`[idic.value]`: the value measure, ABC classes and key accounts.

    `measure`: "auto" (the clv plugin's `clv_metric` when clv is enabled, else historical
    revenue), "clv" (required) or "revenue". `abc`: cumulative value shares of classes A, B, C.
    """

    measure: str = "auto"
    clv_metric: str = "clv.clv"
    abc: tuple[float, float, float] = (0.80, 0.15, 0.05)
    key_accounts_top: int = 20
    #: Or every customer worth at least this much (currency units); both may apply.
    key_account_threshold: float | None = None
    #: The Pareto line: the share of value brought by this top share of customers.
    pareto_top: float = 0.20

    def __attrs_post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.measure not in ("auto", "clv", "revenue"):
            problems.append(
                ("measure", f"expected 'auto', 'clv' or 'revenue', got {self.measure!r}")
            )
        if abs(sum(self.abc) - 1) > 1e-9 or min(self.abc) <= 0:
            problems.append(
                ("abc", f"expected three positive shares summing to 1, got {list(self.abc)}")
            )
        if not 0 < self.pareto_top < 1:
            problems.append(
                ("pareto_top", f"expected a share between 0 and 1, got {self.pareto_top}")
            )
        _raise_problems(ValueOptions, problems)


@frozen(kw_only=True)
class EngagementOptions:
    """`[idic.engagement]`: recency-weighted interaction counts.

    Each interaction counts `kinds[kind] * channels[channel] * 0.5 ** (age_days / half_life_days)`
    (a channel not listed counts 1, a kind not listed 0); service signals are kinds too
    (a complaint counts negatively by default).
    """

    half_life_days: float = 90.0
    kinds: Mapping[str, float] = field(
        factory=lambda: {
            "purchase": 3.0, "visit": 1.0, "email_open": 0.5, "campaign": 0.2,
            "ticket": -0.5, "complaint": -2.0, "feedback": 1.0, "stage": 0.5,
        }
    )  # fmt: skip
    channels: Mapping[str, float] = field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.half_life_days <= 0:
            _raise_problems(
                EngagementOptions,
                [
                    (
                        "half_life_days",
                        f"expected a positive number of days, got {self.half_life_days}",
                    )
                ],
            )


@frozen(kw_only=True)
class PotentialOptions:
    """`[idic.potential]`: signals (weights) averaged as percentile ranks into a 0..1 score.

    `growth`: spend in the last `window_days` against the window before; `engagement`: the
    engagement score; `transactions`: the clv plugin's predicted transactions (when enabled).
    Customers at or above `high` have high potential in the ABCD matrix.
    """

    window_days: int = 180
    weights: Mapping[str, float] = field(
        factory=lambda: {"growth": 1.0, "engagement": 1.0, "transactions": 1.0}
    )
    transactions_metric: str = "clv.expected_transactions"
    high: float = 0.5

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.weights) - {"growth", "engagement", "transactions"})
        if unknown:
            _raise_problems(
                PotentialOptions,
                [
                    (
                        "weights",
                        f"unknown signals {unknown}; expected growth, engagement, transactions",
                    )
                ],
            )


@frozen(kw_only=True)
class ActionRule:
    """One next-best action: customers matching every condition of `when` get it, highest
    `priority` first (conditions as in rule segmentations, over any column, score or other
    segmentation's segment)."""

    action: str
    channel: str
    priority: int
    #: One condition, or a list that must all hold (as a rule segmentation's `when`).
    when: Conditions
    description: str = ""


@frozen(kw_only=True)
class DefaultAction:
    action: str = "No action: keep in the regular newsletter"
    channel: str = "email"


@frozen(kw_only=True)
class ActionsOptions:
    """`[idic.actions]`: `[[idic.actions.rules]]` and the `default` action for everyone else."""

    rules: tuple[ActionRule, ...] = ()
    default: DefaultAction = field(factory=DefaultAction)


@frozen(kw_only=True)
class IdicOptions:
    """The `[idic]` table; each step has a sub-table (`[idic.identify]`, `[idic.value]`, ...)."""

    identify: IdentifyOptions = field(factory=IdentifyOptions)
    value: ValueOptions = field(factory=ValueOptions)
    engagement: EngagementOptions = field(factory=EngagementOptions)
    potential: PotentialOptions = field(factory=PotentialOptions)
    actions: ActionsOptions = field(factory=ActionsOptions)
    #: Whether `crm segment` publishes the `idic.duplicate_weight` metric: from the cached
    #: search while the customers are unchanged (crm_idic.identify.cache), else by searching.
    identify_in_runs: bool = True
    #: `crm idic`: a customer without an interaction in this many days misses "interact".
    interact_within_days: int = 180


def defaults() -> dict[str, Any]:
    """The effective identification settings as plain data (for the README and tests)."""
    return attrs.asdict(IdentifyOptions())
