with snapshots as (
    select event_id, occurred_at, properties
    from {{ source('events', 'events') }} final
    where event_type = 'profile.snapshot'
),

parsed as (
    select
        event_id,
        occurred_at as observed_at,
        lower(trim(coalesce({{ prop_string('platform') }}, ''))) as platform,
        replaceRegexpOne(trim(coalesce({{ prop_string('handle') }}, '')), '^@', '') as handle,
        nullIf(trim(coalesce({{ prop_string('display_name') }}, '')), '') as display_name,
        nullIf(trim(coalesce({{ prop_string('bio') }}, '')), '') as bio,
        nullIf(lower(trim(coalesce({{ prop_string('category') }}, ''))), '') as category,
        nullIf(upper(trim(coalesce({{ prop_string('country') }}, ''))), '') as country,
        nullIf(lower(trim(coalesce({{ prop_string('language') }}, ''))), '') as language,
        {{ prop_count('followers') }} as followers,
        {{ prop_count('following') }} as following,
        {{ prop_count('posts') }} as posts,
        {{ prop_bool('verified') }} as verified,
        {{ prop_float('engagement_rate') }} as reported_engagement_rate
    from snapshots
)

select
    event_id,
    observed_at,
    platform,
    handle,
    concat(platform, ':', handle) as creator_id,
    display_name,
    bio,
    category,
    country,
    language,
    followers,
    following,
    posts,
    verified,
    if(isFinite(reported_engagement_rate) and reported_engagement_rate >= 0, reported_engagement_rate, null)
        as reported_engagement_rate
from parsed
where platform != '' and handle != ''
