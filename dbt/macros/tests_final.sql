{#- Generic tests that see a table as readers do: through FINAL where the engine has it.
    A plain `unique` test on a ReplacingMergeTree fails until ClickHouse merged the parts, though
    every FINAL reader sees one row. `SETTINGS final = 1` in the subquery applies FINAL to engines
    that support it and leaves MergeTree tables and views alone. -#}

{% macro final_rows(model) -%}
    (select * from {{ model }} settings final = 1)
{%- endmacro %}

{% test unique_final(model, column_name) %}
    select {{ column_name }} as unique_field, count() as n_records
    from {{ final_rows(model) }}
    where {{ column_name }} is not null
    group by {{ column_name }}
    having n_records > 1
{% endtest %}

{% test unique_combination_final(model, columns) %}
    select {{ columns | join(', ') }}, count() as n_records
    from {{ final_rows(model) }}
    group by {{ columns | join(', ') }}
    having n_records > 1
{% endtest %}

{% test accepted_range_final(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }}
    from {{ final_rows(model) }}
    where {{ column_name }} is not null
      and (
        {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
      )
{% endtest %}
