{{ config(order_by='(platform, handle)') }}

select
    toString(platform) as platform,
    handle,
    creator_id,
    display_name,
    bio,
    category,
    country,
    language,
    toUInt64(followers) as followers,
    toUInt64(following) as following,
    toUInt64(posts) as posts,
    engagement_rate,
    fake_follower_share,
    followers_growth_30d,
    verified,
    updated_at
from {{ ref('int_creators_enriched') }}
