{{/*
Names, labels, images and the backend/Secret wiring every template shares.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "barista.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: <release>-<chart>, or the release name when it contains the chart name. */}}
{{- define "barista.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: (dict "context" $ "component" "gateway"). */}}
{{- define "barista.componentName" -}}
{{- printf "%s-%s" (include "barista.fullname" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "barista.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Immutable selector labels: (dict "context" $ "component" "gateway"). */}}
{{- define "barista.selectorLabels" -}}
app.kubernetes.io/name: {{ include "barista.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Standard labels: selector labels plus version, chart, manager, part-of and commonLabels. */}}
{{- define "barista.labels" -}}
{{ include "barista.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: barista
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ include "barista.chart" .context }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations from commonAnnotations plus extra: (dict "context" $ "extra" map). */}}
{{- define "barista.annotations" -}}
{{- $all := merge (deepCopy (default dict .extra)) (deepCopy .context.Values.commonAnnotations) -}}
{{- if $all -}}
annotations:
  {{- toYaml $all | nindent 2 }}
{{- else -}}
annotations: {}
{{- end -}}
{{- end -}}

{{/* Every pod of this release (for NetworkPolicy peers). */}}
{{- define "barista.releasePodSelector" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/part-of: barista
{{- end -}}

{{/* Image reference: (dict "image" .Values.x.image "context" $). Registry: global.imageRegistry, else the image's. */}}
{{- define "barista.image" -}}
{{- $registry := default .image.registry .context.Values.global.imageRegistry -}}
{{- $ref := .image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $ref -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (default .context.Chart.AppVersion .image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "barista.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* ServiceAccount name of a component: (dict "context" $ "component" "gateway" "sa" .Values.gateway.serviceAccount). */}}
{{- define "barista.serviceAccountName" -}}
{{- if .sa.create -}}
{{- default (include "barista.componentName" .) .sa.name -}}
{{- else -}}
{{- default "default" .sa.name -}}
{{- end -}}
{{- end -}}

{{/* Affinity from an explicit value or the anti-affinity preset: (dict "context" $ "component" "x" "values" .Values.x). */}}
{{- define "barista.affinity" -}}
{{- if .values.affinity -}}
affinity:
  {{- toYaml .values.affinity | nindent 2 }}
{{- else if eq .values.podAntiAffinityPreset "soft" -}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "barista.selectorLabels" . | nindent 14 }}
{{- else if eq .values.podAntiAffinityPreset "hard" -}}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "barista.selectorLabels" . | nindent 12 }}
{{- end -}}
{{- end -}}

{{/* Scheduling fields of a pod spec: (dict "context" $ "component" "x" "values" .Values.x). */}}
{{- define "barista.scheduling" -}}
{{- include "barista.affinity" . }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* ---- backends ---------------------------------------------------------------------------- */}}

{{/* Values key of a backend named as in the components' `backends` lists. */}}
{{- define "barista.backendKey" -}}
{{- get (dict "postgres" "postgresql" "redis" "redis" "broker" "rabbitmq" "clickhouse" "clickhouse") . -}}
{{- end -}}

{{/* Environment variable of a backend's URL: (dict "backend" "postgres" "prefix" "BARISTA_") */}}
{{- define "barista.backendEnvName" -}}
{{- printf "%s%s_URL" .prefix (upper .backend) -}}
{{- end -}}

{{/* Secret (name and key) holding a backend's URL: (dict "context" $ "backend" "postgres"). */}}
{{- define "barista.backendSecretRef" -}}
{{- $key := include "barista.backendKey" .backend -}}
{{- $values := index .context.Values $key -}}
{{- if and (not $values.enabled) $values.existingSecret -}}
name: {{ $values.existingSecret }}
key: {{ $values.existingSecretKey }}
{{- else -}}
name: {{ include "barista.componentName" (dict "context" .context "component" $key) }}
key: url
{{- end -}}
{{- end -}}

{{/* env entries for a list of backends: (dict "context" $ "backends" (list "postgres" ...) ["prefix" "BARISTA_OPERATOR_"]). */}}
{{- define "barista.backendEnv" -}}
{{- $prefix := default "BARISTA_" .prefix -}}
{{- range .backends }}
- name: {{ include "barista.backendEnvName" (dict "backend" . "prefix" $prefix) }}
  valueFrom:
    secretKeyRef:
      {{- include "barista.backendSecretRef" (dict "context" $.context "backend" .) | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
A password kept across upgrades: the explicit value, else the one in the existing Secret, else random.
(dict "context" $ "secret" "<name>" "key" "password" "value" .Values.x.auth.password)
*/}}
{{- define "barista.password" -}}
{{- if .value -}}
{{- .value -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .context.Release.Namespace .secret -}}
{{- if and $existing (hasKey (default dict $existing.data) .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 24 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Address of a chart Service inside the cluster: (dict "context" $ "component" "postgresql"). */}}
{{- define "barista.serviceHost" -}}
{{- printf "%s.%s.svc.%s" (include "barista.componentName" .) .context.Release.Namespace .context.Values.clusterDomain -}}
{{- end -}}

{{/* ---- containers ---------------------------------------------------------------------------- */}}

{{/* Environment shared by Barista's containers: the config ConfigMap, a log level override, backends, extras. */}}
{{- define "barista.componentEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "barista.componentName" (dict "context" .context "component" "config") }}
{{- if or .values.logLevel .values.backends .extra .values.extraEnv }}
env:
  {{- with .values.logLevel }}
  - name: BARISTA_LOG_LEVEL
    value: {{ . | quote }}
  {{- end }}
  {{- include "barista.backendEnv" (dict "context" .context "backends" .values.backends) | nindent 2 }}
  {{- with .extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with .values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The writable scratch directory every read-only container gets. */}}
{{- define "barista.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}
