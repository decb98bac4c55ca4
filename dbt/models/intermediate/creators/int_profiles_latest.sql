{{ config(order_by='(platform, handle)') }}

select
    platform,
    handle,
    argMax(creator_id, (observed_at, event_id)) as creator_id,
    argMaxIf(display_name, (observed_at, event_id), display_name is not null) as display_name,
    argMaxIf(bio, (observed_at, event_id), bio is not null) as bio,
    argMaxIf(category, (observed_at, event_id), category is not null) as category,
    argMaxIf(country, (observed_at, event_id), match(coalesce(country, ''), '^[A-Z]{2}$')) as country,
    argMaxIf(language, (observed_at, event_id), match(coalesce(language, ''), '^[a-z]{2}$')) as language,
    argMaxIf(followers, (observed_at, event_id), followers is not null) as followers,
    argMaxIf(following, (observed_at, event_id), following is not null) as following,
    argMaxIf(posts, (observed_at, event_id), posts is not null) as posts,
    argMaxIf(verified, (observed_at, event_id), verified is not null) as verified,
    argMaxIf(reported_engagement_rate, (observed_at, event_id), reported_engagement_rate is not null)
        as reported_engagement_rate,
    min(observed_at) as first_seen_at,
    max(observed_at) as last_seen_at
from {{ ref('stg_events__profile_snapshots') }}
where platform in {{ string_list(var('creator_platforms')) }}
  and match(handle, '^[A-Za-z0-9._-]{1,64}$')
group by platform, handle
