{{ config(order_by='(platform, handle)') }}

{%- set lookback = var('lookback_days') | int -%}
{%- set window = var('growth_window_days') | int %}

with profiles as (
    select * from {{ ref('int_profiles_latest') }}
),

-- the newest snapshot of each post published (or first seen) within the lookback window
posts as (
    select
        platform,
        post_id,
        argMax(handle, observed_at) as handle,
        argMax(likes, observed_at) as likes,
        argMax(comments, observed_at) as comments,
        coalesce(min(posted_at), min(observed_at)) as published_at
    from {{ ref('stg_events__post_snapshots') }}
    group by platform, post_id
    having handle != '' and published_at >= now64(3) - toIntervalDay({{ lookback }})
),

interactions as (
    select
        platform,
        handle,
        count() as recent_posts,
        avg(coalesce(likes, 0) + coalesce(comments, 0)) as interactions_per_post
    from posts
    group by platform, handle
),

-- followers on the newest day and on the oldest day within the growth window
series as (
    select
        platform,
        handle,
        argMax(followers, day) as followers_now,
        argMin(followers, day) as followers_then,
        max(day) - min(day) as days_covered
    from {{ ref('int_followers_daily') }} final
    where day >= today() - {{ window }}
    group by platform, handle
),

shares as (
    select creator_id, fake_share as fake_follower_share
    from {{ ref('stg_scoring__creator_fake_shares') }}
)

select
    p.platform as platform,
    p.handle as handle,
    p.creator_id as creator_id,
    coalesce(p.display_name, '') as display_name,
    coalesce(p.bio, '') as bio,
    p.category as category,
    p.country as country,
    p.language as language,
    coalesce(p.followers, 0) as followers,
    coalesce(p.following, 0) as following,
    coalesce(p.posts, 0) as posts,
    coalesce(p.verified, false) as verified,
    if(
        i.recent_posts > 0 and coalesce(p.followers, 0) > 0,
        i.interactions_per_post / p.followers,
        p.reported_engagement_rate
    ) as engagement_rate,
    if(
        s.days_covered >= 1 and s.followers_then > 0,
        (toFloat64(s.followers_now) - s.followers_then) / s.followers_then,
        null
    ) as followers_growth_30d,
    if(f.fake_follower_share is null, null, least(greatest(f.fake_follower_share, 0), 1)) as fake_follower_share,
    p.last_seen_at as updated_at
from profiles as p
left join interactions as i on i.platform = p.platform and i.handle = p.handle
left join series as s on s.platform = p.platform and s.handle = p.handle
left join shares as f on f.creator_id = p.creator_id
settings join_use_nulls = 1
