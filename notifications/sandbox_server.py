"""Serve the e-mail/SMS sandboxes standalone: ``python -m notifications.sandbox_server --port 8082``.

Each is under ``/<provider>/`` as in the hub (``/twilio/2010-04-01/Accounts/<sid>/Messages.json``,
``/vonage/sms/json``, ``/textlocal/send/``, ``/sns/``, ``/sendgrid/v3/mail/send``,
``/mailgun/v3/<domain>/messages``), with ``/<provider>/_control`` to read the outbox or inject faults.
"""

from __future__ import annotations

import importlib

PROVIDERS = ("twilio", "vonage", "textlocal", "sns", "sendgrid", "mailgun")


def urlpatterns_for_all() -> list:
    from django.urls import include, path

    return [path(f"{name}/", include(importlib.import_module(f"connectors.{name}.sandbox").urlpatterns))
            for name in PROVIDERS]


urlpatterns: list = []


def main(argv: list[str] | None = None) -> None:
    from connectors import sandbox_server

    args = sandbox_server.parser("Run the messaging provider sandboxes standalone.", 8082).parse_args(argv)
    sandbox_server.run(__name__, args, f"Messaging sandboxes under /<provider>/ ({', '.join(PROVIDERS)}); "
                                       "secrets are '<account>-secret'",
                       configure=lambda settings: urlpatterns.extend(urlpatterns_for_all()))  # after setup


if __name__ == "__main__":
    main()
