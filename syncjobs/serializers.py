"""What the API shows of a sync job: status, counts, progress while it runs, error, cursors."""

from __future__ import annotations

from rest_framework import serializers

from .models import SyncJob
from .runner import job_counts


class SyncJobSerializer(serializers.ModelSerializer):
    integration_name = serializers.CharField(source="integration.name", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = SyncJob
        fields = [
            "id", "integration", "integration_name", "stream", "job_type", "trigger", "status",
            "created_at", "started_at", "completed_at", "heartbeat_at", "duration_seconds",
            "counts", "records_processed", "records_created", "records_updated", "records_skipped",
            "records_failed", "records_deleted", "pages", "progress", "attempts", "next_retry_at",
            "error_kind", "error_message", "error_details", "cursor_before", "cursor_after",
            "cancel_requested", "requested_by", "retry_of",
        ]
        read_only_fields = fields

    def get_counts(self, job: SyncJob) -> dict[str, int]:
        return job_counts(job)
