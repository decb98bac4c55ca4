{#- The score step creates the table on its first run; until then this model is empty. -#}
{%- set shares = source('scoring', 'creator_fake_share') -%}
{%- set present = execute and adapter.get_relation(database=shares.database, schema=shares.schema,
                                                   identifier=shares.identifier) is not none -%}

{% if present %}
select
    creator_id,
    followers_scored,
    fake,
    suspicious,
    fake_share,
    suspicious_share,
    mean_probability,
    computed_at
from {{ shares }} final
{% else %}
select
    '' as creator_id,
    toUInt64(0) as followers_scored,
    toUInt64(0) as fake,
    toUInt64(0) as suspicious,
    toFloat64(0) as fake_share,
    toFloat64(0) as suspicious_share,
    toFloat64(0) as mean_probability,
    now64(3, 'UTC') as computed_at
where false
{% endif %}
