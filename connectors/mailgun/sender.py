"""Mailgun (messages API) through django-anymail; a backup e-mail provider."""

from anymail.backends.mailgun import EmailBackend

from connectors.email import EmailConnector

from .schemas import MailgunConfig, MailgunCredentials


class MailgunConnector(EmailConnector):
    provider = "mailgun"
    display_name = "Mailgun"
    default_base_url = "https://api.mailgun.net/v3"  # EU accounts: https://api.eu.mailgun.net/v3
    credentials_serializer = MailgunCredentials
    config_serializer = MailgunConfig

    def backend(self) -> EmailBackend:
        return EmailBackend(api_key=self.credential("api_key"), api_url=self.base_url,
                            sender_domain=self.config_value("sender_domain") or None,
                            timeout=float(self.config_value("timeout", 15)), fail_silently=False)
