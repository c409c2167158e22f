"""Serve the e-mail/SMS sandboxes standalone: ``python -m sandboxes.messaging_server --port 8082``.

Each is under ``/<provider>/`` as in the hub (``/twilio/2010-04-01/Accounts/<sid>/Messages.json``,
``/vonage/sms/json``, ``/textlocal/send/``, ``/sns/``, ``/sendgrid/v3/mail/send``,
``/mailgun/v3/<domain>/messages``), with ``/<provider>/_control`` to read the outbox or inject faults.
"""

from __future__ import annotations

from django.urls import include, path

from connectors.registry import providers
from sandboxes import server as sandbox_server


def urlpatterns_for_all() -> list:
    """Every e-mail/SMS connector package's sandbox, found through the registry (no list to keep)."""
    # Run as a script, this module is imported before main() sets Django up; sandboxes.urls loads models.
    from sandboxes.urls import sandbox_modules

    messaging = {cls.__module__.split(".")[1]: code for code, cls in providers().items()
                 if cls.integration_type in ("email", "sms")}
    return [path(f"{messaging[pkg]}/", include(module.urlpatterns))
            for module in sandbox_modules() if (pkg := module.__name__.split(".")[1]) in messaging]


urlpatterns: list = []


def main(argv: list[str] | None = None) -> None:
    args = sandbox_server.parser("Run the messaging provider sandboxes standalone.", 8082).parse_args(argv)
    sandbox_server.run(__name__, args, "Messaging sandboxes under /<provider>/; secrets are '<account>-secret'",
                       configure=lambda settings: urlpatterns.extend(urlpatterns_for_all()))  # after setup


if __name__ == "__main__":
    main()
