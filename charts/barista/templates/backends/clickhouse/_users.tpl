{{/* ClickHouse users.d file: Barista's user (password as SHA-256), default user limited to localhost. */}}
{{- define "barista.clickhouseUsers" -}}
<clickhouse>
  <users>
    <{{ .username }}>
      <password_sha256_hex>{{ sha256sum .password }}</password_sha256_hex>
      <networks>
        <ip>::/0</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
      <access_management>1</access_management>
    </{{ .username }}>
    <default>
      <networks replace="replace">
        <ip>::1</ip>
        <ip>127.0.0.1</ip>
      </networks>
    </default>
  </users>
</clickhouse>
{{- end -}}
