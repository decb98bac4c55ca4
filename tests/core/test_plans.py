from __future__ import annotations

import pytest

from barista_core.plans import (
    PLANS,
    Feature,
    Limits,
    Plan,
    effective_features,
    effective_limits,
    minimum_plan_for,
)

ORDER = [Plan.FREE, Plan.SAAS, Plan.PAID]


@pytest.mark.parametrize("name", Limits.field_names())
def test_each_limit_grows_with_the_plan(name):
    values = [getattr(PLANS[p].limits, name) for p in ORDER]
    assert values == sorted(values), f"{name} must not shrink on a more expensive plan: {values}"
    assert values[0] < values[-1]


def test_features_only_grow_with_the_plan():
    assert PLANS[Plan.FREE].features < PLANS[Plan.SAAS].features < PLANS[Plan.PAID].features
    assert PLANS[Plan.PAID].features == frozenset(Feature)


@pytest.mark.parametrize(
    ("feature", "plan"),
    [
        (Feature.DISCOVERY, Plan.FREE),
        (Feature.LEADERBOARDS, Plan.SAAS),
        (Feature.WEBHOOKS, Plan.SAAS),
        (Feature.FAKE_FOLLOWER_SCORING, Plan.PAID),
        (Feature.DEDICATED_TENANCY, Plan.PAID),
    ],
)
def test_minimum_plan_for_feature(feature, plan):
    assert minimum_plan_for(feature) == plan


def test_overrides_are_capped_except_on_paid():
    saas = effective_limits("SAAS", {"apiRequestsPerMinute": 10**6, "eventsPerSecond": 100, "storageGiB": None})
    assert saas.api_requests_per_minute == PLANS[Plan.SAAS].limits.api_requests_per_minute
    assert saas.events_per_second == 100
    assert saas.storage_gib == PLANS[Plan.SAAS].limits.storage_gib
    paid = effective_limits("PAID", {"eventsPerSecond": 40_000})
    assert paid.events_per_second == 40_000


def test_unknown_limit_override_is_refused():
    with pytest.raises(KeyError, match="unknown limit 'eventsPerHour'"):
        effective_limits("FREE", {"eventsPerHour": 1})


def test_feature_overrides_can_only_switch_off_or_stay_within_the_plan():
    assert Feature.FAKE_FOLLOWER_SCORING not in effective_features("SAAS", {"fakeFollowerScoring": True})
    assert Feature.WEBHOOKS not in effective_features("SAAS", {"webhooks": False})
    assert Feature.FAKE_FOLLOWER_SCORING in effective_features("PAID", {"fakeFollowerScoring": True})


def test_limits_camel_case_round_trip():
    limits = PLANS[Plan.SAAS].limits
    assert Limits.from_camel(limits.to_camel()) == limits
    assert "storageGiB" in limits.to_camel()
