{{/*
One Airflow Deployment: (dict "context" $ "component" "airflow-scheduler" "args" list "replicas" n
  "resources" map "ports" list "liveness" map "readiness" map)
*/}}
{{- define "barista.airflowDeployment" -}}
{{- $root := .context -}}
{{- $ctx := dict "context" $root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "barista.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "barista.labels" $ctx | nindent 4 }}
  {{- include "barista.annotations" (dict "context" $root) | nindent 2 }}
spec:
  replicas: {{ .replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "barista.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "barista.labels" $ctx | nindent 8 }}
      annotations:
        checksum/dags: {{ include (print $root.Template.BasePath "/airflow/configmap.yaml") $root | sha256sum }}
    spec:
      {{- include "barista.airflowPodSpec" $root | nindent 6 }}
      terminationGracePeriodSeconds: 60
      initContainers:
        {{- include "barista.airflowWaitForMigrations" $root | nindent 8 }}
      containers:
        - name: {{ trimPrefix "airflow-" .component }}
          image: {{ include "barista.image" (dict "image" $root.Values.airflow.image "context" $root) }}
          imagePullPolicy: {{ $root.Values.airflow.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.airflow.containerSecurityContext | nindent 12 }}
          {{- include "barista.airflowEnv" $root | nindent 10 }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          livenessProbe:
            {{- toYaml .liveness | nindent 12 }}
          readinessProbe:
            {{- toYaml .readiness | nindent 12 }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          volumeMounts:
            {{- include "barista.airflowVolumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "barista.airflowVolumes" $root | nindent 8 }}
{{- end -}}
