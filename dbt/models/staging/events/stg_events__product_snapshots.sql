with snapshots as (
    select event_id, occurred_at, properties
    from {{ source('events', 'events') }} final
    where event_type = 'product.snapshot'
)

select
    event_id,
    occurred_at as observed_at,
    lower(trim(coalesce({{ prop_string('platform') }}, ''))) as platform,
    trim(coalesce({{ prop_string('product_id') }}, '')) as product_id,
    replaceRegexpOne(trim(coalesce({{ prop_string('handle') }}, '')), '^@', '') as handle,
    coalesce({{ prop_string('title') }}, '') as title,
    nullIf(lower(trim(coalesce({{ prop_string('category') }}, ''))), '') as category,
    {{ prop_float('price') }} as price,
    nullIf(upper(trim(coalesce({{ prop_string('currency') }}, ''))), '') as currency,
    {{ prop_bool('available') }} as available
from snapshots
where platform != '' and product_id != ''
