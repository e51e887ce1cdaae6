{{/*
Names, labels and the pieces every service's Deployment shares.
*/}}

{{- define "tauro.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tauro.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The services, in start-up order; each has a block of the same name in values. */}}
{{- define "tauro.components" -}}
gateway runs scheduler executor streaming notifier
{{- end }}

{{- define "tauro.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tauro.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tauro.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tauro.labels" -}}
helm.sh/chart: {{ include "tauro.chart" . }}
{{ include "tauro.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tauro
{{- end }}

{{/* Labels of one service: call with (dict "root" $ "component" "runs"). */}}
{{- define "tauro.componentSelectorLabels" -}}
{{ include "tauro.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tauro.componentLabels" -}}
{{ include "tauro.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tauro.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding SECRET_KEY and TAURO_ADMIN_API_KEY. */}}
{{- define "tauro.authSecretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- printf "%s-auth" (include "tauro.fullname" .) }}
{{- end }}
{{- end }}

{{/* Where the auth Secret comes from: existing, values (the chart's Secret) or generated (hook Job). */}}
{{- define "tauro.authSource" -}}
{{- if .Values.auth.existingSecret }}existing
{{- else if .Values.auth.secretKey }}values
{{- else if .Values.auth.generate.enabled }}generated
{{- else }}
{{- fail "auth: set auth.existingSecret, or auth.secretKey, or auth.generate.enabled=true (SECRET_KEY is required in the distributed mode)" }}
{{- end }}
{{- end }}

{{/* The Secret and key holding MONGODB_URL. */}}
{{- define "tauro.mongodbSecretName" -}}
{{- if .Values.mongodb.url }}
{{- printf "%s-mongodb" (include "tauro.fullname" .) }}
{{- else if .Values.mongodb.existingSecret }}
{{- .Values.mongodb.existingSecret }}
{{- else }}
{{- fail "mongodb: set mongodb.url or mongodb.existingSecret (a MongoDB replica set)" }}
{{- end }}
{{- end }}

{{- define "tauro.mongodbSecretKey" -}}
{{- if .Values.mongodb.url }}MONGODB_URL{{ else }}{{ .Values.mongodb.existingSecretKey }}{{ end }}
{{- end }}

{{- define "tauro.executorClaimName" -}}
{{- if .Values.executor.sharedVolume.existingClaim }}
{{- .Values.executor.sharedVolume.existingClaim }}
{{- else }}
{{- printf "%s-executor-work" (include "tauro.fullname" .) }}
{{- end }}
{{- end }}

{{- define "tauro.publicUrl" -}}
{{- if .Values.config.publicUrl }}
{{- .Values.config.publicUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) $host }}
{{- end }}
{{- end }}
