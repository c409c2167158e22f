"""/api/v1/files: stored documents' metadata (read-only; storing goes through the services)."""

from __future__ import annotations

from rest_framework import mixins, serializers

from integrations.api_base import OrgScopedViewSet

from .models import StoredFile


class StoredFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = StoredFile
        fields = ["id", "uid", "kind", "name", "key", "storage", "backend", "content_type", "size", "sha256",
                  "metadata", "created_at"]


class StoredFileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = StoredFile.objects.order_by("-id")
    serializer_class = StoredFileSerializer
    filterset_fields = ["kind", "backend", "storage"]
