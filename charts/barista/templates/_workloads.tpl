{{/*
Objects several components render the same way: PodDisruptionBudget, HorizontalPodAutoscaler.
*/}}

{{/* (dict "context" $ "component" "gateway" "pdb" .Values.gateway.pdb) */}}
{{- define "barista.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  {{- if toString .pdb.minAvailable }}
  minAvailable: {{ .pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "barista.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* (dict "context" $ "component" "gateway" "autoscaling" .Values.gateway.autoscaling) */}}
{{- define "barista.hpa" -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "barista.componentName" . }}
  minReplicas: {{ .autoscaling.minReplicas }}
  maxReplicas: {{ .autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetCPUUtilizationPercentage }}
    {{- if .autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetMemoryUtilizationPercentage }}
    {{- end }}
{{- end -}}

{{/* ServiceAccount of a component without API access: (dict "context" $ "component" "gateway" "sa" .Values.gateway.serviceAccount) */}}
{{- define "barista.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "barista.serviceAccountName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context "extra" .sa.annotations) | nindent 2 }}
automountServiceAccountToken: {{ default false .automount }}
{{- end -}}

{{/*
Deployment of an HTTP/gRPC data-plane component (gateway, ingest, scoring).
(dict "context" $ "component" "gateway" "values" .Values.gateway "args" list "ports" list
      "probePort" "http" "extraEnv" list)
*/}}
{{- define "barista.componentDeployment" -}}
{{- $v := .values -}}
{{- $ctx := dict "context" .context "component" .component "values" $v "sa" $v.serviceAccount -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "barista.componentName" $ctx }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" $ctx | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "barista.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "barista.labels" $ctx | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print .context.Template.BasePath "/configmap.yaml") .context | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "barista.serviceAccountName" $ctx }}
      automountServiceAccountToken: false
      {{- include "barista.imagePullSecrets" .context | nindent 6 }}
      securityContext:
        {{- toYaml .context.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- include "barista.scheduling" $ctx | nindent 6 }}
      containers:
        - name: {{ .component }}
          image: {{ include "barista.image" (dict "image" $v.image "context" .context) }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          {{- with .args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml .context.Values.containerSecurityContext | nindent 12 }}
          {{- include "barista.componentEnv" (dict "context" .context "values" $v "extra" .extraEnv) | nindent 10 }}
          ports:
            {{- toYaml .ports | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ .probePort }}
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ .probePort }}
            initialDelaySeconds: 5
            periodSeconds: 5
            timeoutSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        {{- include "barista.tmpVolume" .context | nindent 8 }}
{{- end -}}

{{/* ServiceMonitor of one component's Service: (dict "context" $ "component" "gateway" "port" "http") */}}
{{- define "barista.serviceMonitor" -}}
{{- $sm := .context.Values.metrics.serviceMonitor -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ default .context.Release.Namespace $sm.namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  jobLabel: app.kubernetes.io/component
  namespaceSelector:
    matchNames:
      - {{ .context.Release.Namespace }}
  selector:
    matchLabels:
      {{- include "barista.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: {{ .port }}
      path: /metrics
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end -}}
