from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Alert rules listen to sync writes; receivers imports models: only once every app is loaded.
        from . import receivers  # noqa: F401
