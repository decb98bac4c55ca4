{#- Typed access to an event's properties (the `properties` column holds JSON text).
    Numbers may arrive as JSON numbers or numeric strings (protobuf Struct numbers are doubles). -#}

{% macro prop_string(name) -%}
    JSONExtract(properties, '{{ name }}', 'Nullable(String)')
{%- endmacro %}

{% macro prop_float(name) -%}
    JSONExtract(properties, '{{ name }}', 'Nullable(Float64)')
{%- endmacro %}

{#- a non-negative count, NULL when absent -#}
{% macro prop_count(name) -%}
    toUInt64OrNull(toString(greatest(0, round(JSONExtract(properties, '{{ name }}', 'Nullable(Float64)')))))
{%- endmacro %}

{% macro prop_bool(name) -%}
    JSONExtract(properties, '{{ name }}', 'Nullable(Bool)')
{%- endmacro %}

{#- an ISO-8601 timestamp property as DateTime64(3, 'UTC'), NULL when absent or unparseable -#}
{% macro prop_timestamp(name) -%}
    parseDateTime64BestEffortOrNull(JSONExtractString(properties, '{{ name }}'), 3, 'UTC')
{%- endmacro %}

{#- a quoted list of strings for IN (...) from a list var -#}
{% macro string_list(values) -%}
    ({% for value in values %}'{{ value | replace("'", "") }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
