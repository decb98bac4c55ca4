{{
    config(
        engine='ReplacingMergeTree(computed_at)',
        order_by='(platform, handle, day)',
        partition_by='toYYYYMM(day)',
        incremental_strategy='append',
    )
}}

with post_days as (
    -- the newest snapshot of each post on each day it was seen
    select
        platform,
        handle,
        post_id,
        toDate(observed_at) as day,
        argMax(coalesce(likes, 0) + coalesce(comments, 0), observed_at) as interactions
    from {{ ref('stg_events__post_snapshots') }}
    where handle != ''
    {%- if is_incremental() %}
      and observed_at >= (
          select toDateTime64(max(day) - {{ var('incremental_days', 3) | int }}, 3, 'UTC') from {{ this }}
      )
    {%- endif %}
    group by platform, handle, post_id, day
),

daily as (
    select platform, handle, day, count() as posts_seen, avg(interactions) as interactions_per_post
    from post_days
    group by platform, handle, day
)

select
    d.platform as platform,
    d.handle as handle,
    d.day as day,
    d.posts_seen as posts_seen,
    d.interactions_per_post as interactions_per_post,
    if(f.followers > 0, d.interactions_per_post / f.followers, null) as engagement_rate,
    now64(3, 'UTC') as computed_at
from daily as d
left join {{ ref('int_followers_daily') }} as f final
    on f.platform = d.platform and f.handle = d.handle and f.day = d.day
settings join_use_nulls = 1
