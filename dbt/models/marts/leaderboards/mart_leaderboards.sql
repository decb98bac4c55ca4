{{ config(order_by='(platform, dimension, bucket, rank)') }}

{%- set known = ['platform', 'category', 'country', 'growth', 'engagement'] -%}
{%- set dimensions = var('leaderboard_dimensions') -%}
{%- for dimension in dimensions if dimension not in known -%}
    {{ exceptions.raise_compiler_error("unknown leaderboard dimension " ~ dimension ~ " (known: " ~ known | join(', ') ~ ")") }}
{%- endfor -%}
{%- set boards = {
    'platform':   {'bucket': "''",       'score': 'toFloat64(followers)', 'where': 'true'},
    'category':   {'bucket': 'category', 'score': 'toFloat64(followers)', 'where': 'category is not null'},
    'country':    {'bucket': 'country',  'score': 'toFloat64(followers)', 'where': 'country is not null'},
    'growth':     {'bucket': "''",       'score': 'followers_growth_30d', 'where': 'followers_growth_30d is not null'},
    'engagement': {'bucket': "''",       'score': 'engagement_rate',      'where': 'engagement_rate is not null'},
} %}

with creators as (
    select * from {{ ref('int_creators_enriched') }}
),

entries as (
    {%- for dimension in dimensions %}
    select
        toString(platform) as platform,
        '{{ dimension }}' as dimension,
        assumeNotNull({{ boards[dimension].bucket }}) as bucket,
        creator_id,
        handle,
        display_name,
        assumeNotNull({{ boards[dimension].score }}) as score,
        followers,
        engagement_rate,
        followers_growth_30d as growth_30d,
        updated_at
    from creators
    where {{ boards[dimension].where }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform, dimension, bucket
            order by score desc, followers desc, creator_id asc
        ) as position
    from entries
)

select
    platform,
    dimension,
    bucket,
    creator_id,
    handle,
    display_name,
    toUInt32(position) as rank,
    score,
    toUInt64(followers) as followers,
    engagement_rate,
    growth_30d,
    updated_at
from ranked
where position <= {{ var('leaderboard_size') | int }}
