{{
    config(
        engine='ReplacingMergeTree(computed_at)',
        order_by='(platform, handle, day)',
        partition_by='toYYYYMM(day)',
        incremental_strategy='append',
    )
}}

select
    platform,
    handle,
    toDate(observed_at) as day,
    argMaxIf(followers, (observed_at, event_id), followers is not null) as followers,
    argMaxIf(following, (observed_at, event_id), following is not null) as following,
    argMaxIf(posts, (observed_at, event_id), posts is not null) as posts,
    count() as snapshots,
    now64(3, 'UTC') as computed_at
from {{ ref('stg_events__profile_snapshots') }}
where platform in {{ string_list(var('creator_platforms')) }}
{%- if is_incremental() %}
  and observed_at >= (
      select toDateTime64(max(day) - {{ var('incremental_days', 3) | int }}, 3, 'UTC') from {{ this }}
  )
{%- endif %}
group by platform, handle, day
having followers is not null
