"""SMTP: the primary e-mail provider (any SMTP server, e.g. the organization's own relay)."""

from django.core.mail.backends.smtp import EmailBackend

from connectors.email import EmailConnector

from .schemas import SmtpConfig, SmtpCredentials


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
