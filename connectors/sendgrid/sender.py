"""SendGrid (v3 Mail Send) through django-anymail; a backup e-mail provider."""

from anymail.backends.sendgrid import EmailBackend

from connectors.email import EmailConnector, EspConfig

from .schemas import SendGridCredentials


class SendGridConnector(EmailConnector):
    provider = "sendgrid"
    display_name = "SendGrid"
    default_base_url = "https://api.sendgrid.com/v3/"
    credentials_serializer = SendGridCredentials
    config_serializer = EspConfig

    def backend(self) -> EmailBackend:
        return EmailBackend(api_key=self.credential("api_key"), api_url=self.base_url + "/",
                            timeout=float(self.config_value("timeout", 15)), fail_silently=False)
