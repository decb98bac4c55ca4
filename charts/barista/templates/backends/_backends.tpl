{{/*
Parts the four development backends share: Services, claims, the URL Secret for external backends.
*/}}

{{/* Headless and client Services: (dict "context" $ "component" "postgresql" "ports" list) */}}
{{- define "barista.backendServices" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "barista.componentName" . }}-hl
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "barista.selectorLabels" . | nindent 4 }}
  ports:
    {{- toYaml .ports | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  type: ClusterIP
  selector:
    {{- include "barista.selectorLabels" . | nindent 4 }}
  ports:
    {{- toYaml .ports | nindent 4 }}
{{- end -}}

{{/* The data volume: a claim template, or nothing (emptyDir is added by the pod spec): (dict "persistence" .Values.x.persistence) */}}
{{- define "barista.backendClaim" -}}
{{- if .persistence.enabled }}
volumeClaimTemplates:
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      {{- with .persistence.storageClass }}
      storageClassName: {{ . | quote }}
      {{- end }}
      resources:
        requests:
          storage: {{ .persistence.size }}
{{- end }}
{{- end -}}

{{- define "barista.backendDataVolume" -}}
{{- if not .persistence.enabled }}
- name: data
  emptyDir: {}
{{- end }}
{{- end -}}

{{/* StatefulSet header shared by the backends: (dict "context" $ "component" "postgresql" "values" .Values.postgresql) */}}
{{- define "barista.backendStatefulSetHeader" -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
{{- end -}}

{{/* Pod-level fields shared by the backends: (dict "context" $ "component" "x" "values" .Values.x) */}}
{{- define "barista.backendPodSpec" -}}
serviceAccountName: {{ .context.Values.backendsServiceAccount.create | ternary (include "barista.componentName" (dict "context" .context "component" "backends")) "default" }}
automountServiceAccountToken: false
{{- include "barista.imagePullSecrets" .context }}
securityContext:
  {{- toYaml .values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Secret with an external backend's URL (enabled=false, url set): (dict "context" $ "component" "redis" "url" "...") */}}
{{- define "barista.externalBackendSecret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
type: Opaque
data:
  url: {{ .url | b64enc | quote }}
{{- end -}}

{{/* NetworkPolicy of a backend: this release's pods and tenant namespaces may connect. (dict "context" $ "component" "x" "ports" list) */}}
{{- define "barista.backendNetworkPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "barista.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "barista.labels" . | nindent 4 }}
  {{- include "barista.annotations" (dict "context" .context) | nindent 2 }}
spec:
  podSelector:
    matchLabels:
      {{- include "barista.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    - ports:
        {{- range .ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      from:
        - {{- include "barista.releasePodSelector" .context | nindent 10 }}
        - namespaceSelector:
            {{- toYaml .context.Values.networkPolicy.tenantNamespaceSelector | nindent 12 }}
{{- end -}}
