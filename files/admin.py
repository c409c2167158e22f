from django.contrib import admin

from integrations.admin_base import ReadOnlyOrgAdmin

from .models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyOrgAdmin):
    list_display = ("name", "kind", "content_type", "size", "backend", "storage", "created_at", "organization")
    list_filter = ("kind", "backend", "storage")
    search_fields = ("name", "key", "sha256")
