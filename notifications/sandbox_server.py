"""Serve the e-mail/SMS sandboxes standalone: ``python -m notifications.sandbox_server --port 8082``.

Each is under ``/<provider>/`` as in the hub (``/twilio/2010-04-01/Accounts/<sid>/Messages.json``,
``/vonage/sms/json``, ``/textlocal/send/``, ``/sns/``, ``/sendgrid/v3/mail/send``,
``/mailgun/v3/<domain>/messages``), with ``/<provider>/_control`` to read the outbox or inject faults.
"""

from __future__ import annotations

import argparse
import importlib
import os

PROVIDERS = ("twilio", "vonage", "textlocal", "sns", "sendgrid", "mailgun")


def urlpatterns_for_all() -> list:
    from django.urls import include, path

    return [path(f"{name}/", include(importlib.import_module(f"connectors.{name}.sandbox").urlpatterns))
            for name in PROVIDERS]


urlpatterns: list = []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the messaging provider sandboxes standalone.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    urlpatterns.extend(urlpatterns_for_all())
    settings.ROOT_URLCONF = __name__
    print(f"Messaging sandboxes on http://{args.host}:{args.port}/<provider>/ ({', '.join(PROVIDERS)}); "
          "secrets are '<account>-secret'")
    httpd = ThreadedWSGIServer((args.host, args.port), WSGIRequestHandler)
    httpd.set_app(WSGIHandler())
    httpd.serve_forever()


if __name__ == "__main__":
    main()
