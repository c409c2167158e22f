"""Root routes of the iiko package: the seed's account-scoped aliases of the generic API (see api.py)."""

from django.urls import path

from . import api

BASE = "api/v1/accounts/<str:account_id>/integrations/iiko"

urlpatterns = [
    path(f"{BASE}/connect", api.ConnectView.as_view(), name="iiko-connect"),
    path(f"{BASE}/status", api.StatusView.as_view(), name="iiko-status"),
    path(f"{BASE}/sync/<str:entity_type>", api.SyncView.as_view(), name="iiko-sync"),
    path(f"{BASE}/logs", api.LogViewSet.as_view({"get": "list"}), name="iiko-logs"),
    path(f"{BASE}/suppliers", api.SupplierViewSet.as_view({"get": "list"}), name="iiko-suppliers"),
]
