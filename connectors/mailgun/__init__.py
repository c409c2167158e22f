"""Mailgun (messages API) through django-anymail; a backup e-mail provider."""

from anymail.backends.mailgun import EmailBackend
from rest_framework import serializers

from connectors.email import EmailConnector, EspConfig
from connectors.registry import register


class MailgunCredentials(serializers.Serializer):
    api_key = serializers.CharField(max_length=500)


class MailgunConfig(EspConfig):
    sender_domain = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                          help_text="Defaults to the from_email's domain.")


@register
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
