"""SMTP: the primary e-mail provider (any SMTP server, e.g. the organization's own relay)."""

from django.core.mail.backends.smtp import EmailBackend
from rest_framework import serializers

from connectors.email import EmailConnector
from connectors.registry import register


class SmtpCredentials(serializers.Serializer):
    username = serializers.CharField(required=False, allow_blank=True, max_length=200)
    password = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SmtpConfig(serializers.Serializer):
    host = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535, default=587)
    use_tls = serializers.BooleanField(default=False, help_text="STARTTLS.")
    use_ssl = serializers.BooleanField(default=False, help_text="Implicit TLS (port 465).")
    from_email = serializers.EmailField()
    timeout = serializers.FloatField(min_value=0.1, max_value=120, default=10)
    priority = serializers.IntegerField(default=10, help_text="Lower is tried first.")


@register
class SmtpConnector(EmailConnector):
    provider = "smtp"
    display_name = "SMTP"
    credentials_serializer = SmtpCredentials
    config_serializer = SmtpConfig
    secret_fields = ("password",)

    def backend(self) -> EmailBackend:
        cfg, creds = self.integration.config or {}, self.integration.credentials or {}
        return EmailBackend(host=cfg.get("host") or "localhost", port=int(cfg.get("port") or 587),
                            username=creds.get("username") or "", password=creds.get("password") or "",
                            use_tls=bool(cfg.get("use_tls")), use_ssl=bool(cfg.get("use_ssl")),
                            timeout=float(cfg.get("timeout") or 10), fail_silently=False)

    def endpoint_label(self) -> str:
        cfg = self.integration.config or {}
        return f"smtp://{cfg.get('host', '')}:{cfg.get('port', '')}"
