with snapshots as (
    select event_id, occurred_at, properties
    from {{ source('events', 'events') }} final
    where event_type = 'follower.snapshot'
)

select
    event_id,
    occurred_at as observed_at,
    lower(trim(coalesce({{ prop_string('platform') }}, ''))) as platform,
    replaceRegexpOne(trim(coalesce({{ prop_string('handle') }}, '')), '^@', '') as handle,
    replaceRegexpOne(trim(coalesce({{ prop_string('follower_handle') }}, '')), '^@', '') as follower_handle,
    {{ prop_string('follower_name') }} as follower_name,
    {{ prop_count('follower_followers') }} as follower_followers,
    {{ prop_count('follower_following') }} as follower_following,
    {{ prop_count('follower_posts') }} as follower_posts,
    {{ prop_string('follower_bio') }} as follower_bio,
    {{ prop_bool('follower_has_picture') }} as follower_has_picture,
    {{ prop_bool('follower_verified') }} as follower_verified,
    {{ prop_bool('follower_private') }} as follower_private,
    {{ prop_string('follower_external_url') }} as follower_external_url
from snapshots
where platform != '' and handle != '' and follower_handle != ''
