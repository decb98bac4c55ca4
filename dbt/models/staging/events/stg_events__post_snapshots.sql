with snapshots as (
    select event_id, occurred_at, properties
    from {{ source('events', 'events') }} final
    where event_type = 'post.snapshot'
)

select
    event_id,
    occurred_at as observed_at,
    lower(trim(coalesce({{ prop_string('platform') }}, ''))) as platform,
    trim(coalesce({{ prop_string('post_id') }}, '')) as post_id,
    replaceRegexpOne(trim(coalesce({{ prop_string('handle') }}, '')), '^@', '') as handle,
    {{ prop_count('likes') }} as likes,
    {{ prop_count('comments') }} as comments,
    {{ prop_count('views') }} as views,
    {{ prop_timestamp('posted_at') }} as posted_at
from snapshots
where platform != '' and post_id != ''
