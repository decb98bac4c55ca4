{{/*
Rules across values that values.schema.json cannot express. Each failure says what to change.
*/}}
{{- define "barista.validateValues" -}}
{{- $problems := list -}}
{{- $used := list -}}
{{- if .Values.operator.enabled }}{{ $used = concat $used .Values.operator.backends }}{{ end -}}
{{- if .Values.gateway.enabled }}{{ $used = concat $used .Values.gateway.backends }}{{ end -}}
{{- if .Values.ingest.enabled }}{{ $used = concat $used .Values.ingest.backends }}{{ end -}}
{{- if .Values.scoring.enabled }}{{ $used = concat $used .Values.scoring.backends }}{{ end -}}
{{- if .Values.airflow.enabled }}{{ $used = concat $used .Values.airflow.backends }}{{ end -}}
{{- range $backend := list "postgres" "redis" "broker" "clickhouse" }}
{{- $key := include "barista.backendKey" $backend -}}
{{- $v := index $.Values $key -}}
{{- if $v.enabled -}}
{{- if or $v.url $v.existingSecret -}}
{{- $problems = append $problems (printf "%s: %s.enabled=true deploys one; leave %s.url and %s.existingSecret empty (or set %s.enabled=false to use yours)" $key $key $key $key $key) -}}
{{- end -}}
{{- else -}}
{{- if and $v.url $v.existingSecret -}}
{{- $problems = append $problems (printf "%s: set only one of %s.url and %s.existingSecret" $key $key $key) -}}
{{- else if and (has $backend $used) (not (or $v.url $v.existingSecret)) -}}
{{- $problems = append $problems (printf "%s: set %s.enabled=true (deploy one) or %s.url / %s.existingSecret (use yours)" $key $key $key $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.operator.standalone (gt (int .Values.operator.replicaCount) 1) -}}
{{- $problems = append $problems "operator: standalone=true runs without peering, so replicaCount must be 1 (two active operators would fight)" -}}
{{- end -}}
{{- range $name := list "gateway" "ingest" "scoring" }}
{{- $c := index $.Values $name -}}
{{- if and $c.autoscaling.enabled (gt (int $c.autoscaling.minReplicas) (int $c.autoscaling.maxReplicas)) -}}
{{- $problems = append $problems (printf "%s: autoscaling.minReplicas (%v) exceeds autoscaling.maxReplicas (%v)" $name $c.autoscaling.minReplicas $c.autoscaling.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- range $name := list "operator" "gateway" "ingest" "scoring" }}
{{- $pdb := (index $.Values $name).pdb -}}
{{- if and $pdb.create (not (or (toString $pdb.minAvailable) (toString $pdb.maxUnavailable))) -}}
{{- $problems = append $problems (printf "%s: pdb.create needs pdb.minAvailable or pdb.maxUnavailable" $name) -}}
{{- end -}}
{{- end -}}
{{- if .Values.airflow.enabled -}}
{{- $db := .Values.airflow.database -}}
{{- if and $db.url $db.existingSecret -}}
{{- $problems = append $problems "airflow: set only one of airflow.database.url and airflow.database.existingSecret" -}}
{{- else if not (or $db.url $db.existingSecret .Values.postgresql.enabled) -}}
{{- $problems = append $problems "airflow: its metadata database needs airflow.database.url or airflow.database.existingSecret when postgresql.enabled=false (or set airflow.enabled=false)" -}}
{{- end -}}
{{- end -}}
{{- if .Values.gateway.ingress.enabled -}}
{{- if and .Values.gateway.ingress.tls (not .Values.gateway.ingress.host) -}}
{{- $problems = append $problems "gateway: ingress.tls needs ingress.host (a certificate names a host)" -}}
{{- end -}}
{{- end -}}
{{- if $problems -}}
{{- fail (printf "\n\nInvalid values for the barista chart:\n  - %s\n" (join "\n  - " $problems)) -}}
{{- end -}}
{{- end -}}
