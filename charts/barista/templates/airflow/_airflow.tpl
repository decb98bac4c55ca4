{{/*
What the Airflow workloads share: database and key Secrets, environment, volumes, the migration wait.
*/}}

{{- define "barista.airflowSecretName" -}}
{{- include "barista.componentName" (dict "context" . "component" "airflow") -}}
{{- end -}}

{{/* Secret holding the metadata database URL. */}}
{{- define "barista.airflowDatabaseSecretRef" -}}
{{- $db := .Values.airflow.database -}}
{{- if $db.existingSecret -}}
name: {{ $db.existingSecret }}
key: {{ $db.existingSecretKey }}
{{- else if $db.url -}}
name: {{ include "barista.airflowSecretName" . }}
key: database-url
{{- else -}}
name: {{ include "barista.componentName" (dict "context" . "component" "postgresql") }}
key: airflow-url
{{- end -}}
{{- end -}}

{{- define "barista.airflowKeysSecretName" -}}
{{- default (include "barista.airflowSecretName" .) .Values.airflow.existingSecret -}}
{{- end -}}

{{- define "barista.airflowServiceAccountName" -}}
{{- include "barista.serviceAccountName" (dict "context" . "component" "airflow" "sa" .Values.airflow.serviceAccount) -}}
{{- end -}}

{{- define "barista.airflowEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "barista.componentName" (dict "context" . "component" "config") }}
env:
  - name: AIRFLOW__CORE__EXECUTOR
    value: LocalExecutor
  - name: AIRFLOW__CORE__LOAD_EXAMPLES
    value: "False"
  - name: AIRFLOW__CORE__DAGS_FOLDER
    value: /opt/airflow/dags
  - name: AIRFLOW__CORE__EXECUTION_API_SERVER_URL
    value: {{ printf "http://%s:%v/execution/" (include "barista.serviceHost" (dict "context" . "component" "airflow-api-server")) .Values.airflow.apiServer.service.port | quote }}
  - name: AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS
    value: {{ .Values.airflow.simpleAuthManagerAllAdmins | ternary "True" "False" | quote }}
  - name: AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK
    value: "True"
  - name: AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT
    value: "8974"
  - name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
    valueFrom:
      secretKeyRef:
        {{- include "barista.airflowDatabaseSecretRef" . | nindent 8 }}
  - name: AIRFLOW__CORE__FERNET_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "barista.airflowKeysSecretName" . }}
        key: fernet-key
  - name: AIRFLOW__API__SECRET_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "barista.airflowKeysSecretName" . }}
        key: api-secret-key
  - name: AIRFLOW__API_AUTH__JWT_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ include "barista.airflowKeysSecretName" . }}
        key: jwt-secret
  - name: BARISTA_PIPELINES_DAG_MODULE
    value: {{ .Values.airflow.dagFactoryModule | quote }}
  {{- range $name, $value := .Values.airflow.config }}
  - name: {{ $name }}
    value: {{ $value | quote }}
  {{- end }}
  {{- include "barista.backendEnv" (dict "context" . "backends" .Values.airflow.backends) | nindent 2 }}
{{- end -}}

{{- define "barista.airflowVolumeMounts" -}}
- name: airflow-home
  mountPath: /opt/airflow
- name: dags
  mountPath: /opt/airflow/dags
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "barista.airflowVolumes" -}}
- name: airflow-home
  emptyDir:
    sizeLimit: 2Gi
- name: dags
  configMap:
    name: {{ include "barista.componentName" (dict "context" . "component" "airflow-dags") }}
{{ include "barista.tmpVolume" . }}
{{- end -}}

{{/* Pod-level fields of every Airflow pod. */}}
{{- define "barista.airflowPodSpec" -}}
serviceAccountName: {{ include "barista.airflowServiceAccountName" . }}
automountServiceAccountToken: {{ .Values.airflow.rbac.readPipelineSpecs }}
{{- include "barista.imagePullSecrets" . }}
securityContext:
  {{- toYaml .Values.airflow.podSecurityContext | nindent 2 }}
{{- with .Values.airflow.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.airflow.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Init container: wait until the migration Job has brought the metadata database up to date. */}}
{{- define "barista.airflowWaitForMigrations" -}}
- name: wait-for-migrations
  image: {{ include "barista.image" (dict "image" .Values.airflow.image "context" .) }}
  imagePullPolicy: {{ .Values.airflow.image.pullPolicy }}
  args: ["db", "check-migrations", "--migration-wait-timeout", "600"]
  securityContext:
    {{- toYaml .Values.airflow.containerSecurityContext | nindent 4 }}
  {{- include "barista.airflowEnv" . | nindent 2 }}
  resources:
    {{- toYaml .Values.airflow.migrateDatabaseJob.resources | nindent 4 }}
  volumeMounts:
    {{- include "barista.airflowVolumeMounts" . | nindent 4 }}
{{- end -}}
