"""The current tenant as the API shows it, and its usage against the plan's limits."""

from __future__ import annotations

import datetime

from barista_core.registry import TenantRecord
from barista_core.usage import UsageCounter
from barista_gateway.models import TenantPublic, UsageFigure, UsagePublic


def tenant_public(tenant: TenantRecord) -> TenantPublic:
    return TenantPublic(
        name=tenant.name,
        display_name=tenant.display_name,
        plan=tenant.plan.value,
        tenancy=tenant.tenancy,
        state=tenant.state,
        limits=tenant.limits.to_camel(),
        features=sorted(f.value for f in tenant.features),
    )


async def tenant_usage(usage: UsageCounter, *, tenant: TenantRecord) -> UsagePublic:
    counts = await usage.read(tenant.name)
    today, month = counts["today"], counts["month"]
    limits = tenant.limits
    return UsagePublic(
        tenant=tenant.name,
        plan=tenant.plan.value,
        day=datetime.datetime.now(datetime.UTC).date(),
        requests=UsageFigure(
            today=today["requests"],
            month=month["requests"],
            limit=limits.api_requests_per_minute,
            limit_period="minute",
        ),
        requests_this_minute=counts["minute"]["requests"],
        events=UsageFigure(
            today=today["events"], month=month["events"], limit=limits.events_per_second, limit_period="second"
        ),
        scrapes=UsageFigure(
            today=today["scrapes"],
            month=month["scrapes"],
            limit=limits.scrape_requests_per_minute,
            limit_period="minute",
        ),
    )
