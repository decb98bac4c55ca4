{{
    config(
        engine='ReplacingMergeTree',
        order_by='(platform, handle, observed_at)',
        incremental_strategy='append',
    )
}}

select
    toLowCardinality(s.platform) as platform,
    s.handle as handle,
    s.observed_at as observed_at,
    toUInt64(coalesce(s.followers, 0)) as followers,
    toUInt64(coalesce(s.following, 0)) as following,
    toUInt64(coalesce(s.posts, 0)) as posts,
    toFloat64(coalesce(s.reported_engagement_rate, e.engagement_rate, 0)) as engagement_rate,
    s.event_id as event_id
from {{ ref('stg_events__profile_snapshots') }} as s
left join {{ ref('int_engagement_daily') }} as e final
    on e.platform = s.platform and e.handle = s.handle and e.day = toDate(s.observed_at)
where s.platform in {{ string_list(var('creator_platforms')) }}
  and match(s.handle, '^[A-Za-z0-9._-]{1,64}$')
  and s.followers is not null
{%- if is_incremental() %}
  and s.observed_at >= (
      select max(observed_at) - toIntervalDay({{ var('incremental_days', 3) | int }}) from {{ this }}
  )
{%- endif %}
settings join_use_nulls = 1
