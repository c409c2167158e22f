from django.apps import AppConfig


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        # Platform signals -> outbox; receivers imports models: only once every app is loaded.
        from . import receivers  # noqa: F401
