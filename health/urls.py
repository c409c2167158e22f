from django.urls import path

from . import views

urlpatterns = [
    path("api/integrations/status", views.StatusView.as_view(), name="hub-status"),
    path("api/integrations/health", views.HealthView.as_view(), name="hub-health"),
    path("api/integrations/health/<str:service>", views.ServiceHealthView.as_view(), name="hub-health-service"),
    path("api/integrations/services/<str:name>", views.ServiceDetailView.as_view(), name="hub-service"),
    path("api/integrations/metrics", views.MetricsView.as_view(), name="hub-metrics"),
    path("api/integrations/initialize", views.InitializeView.as_view(), name="hub-initialize"),
    path("api/integrations/shutdown", views.ShutdownView.as_view(), name="hub-shutdown"),
    path("api/integrations/test/notification", views.TestNotificationView.as_view(), name="hub-test-notification"),
    path("api/integrations/test/event", views.TestEventView.as_view(), name="hub-test-event"),
    path("api/integrations/test/file", views.TestFileView.as_view(), name="hub-test-file"),
    path("api/integrations/test/sync", views.TestSyncView.as_view(), name="hub-test-sync"),
    path("metrics", views.prometheus_metrics, name="prometheus-metrics"),
]
