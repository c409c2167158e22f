"""Serve sandboxes standalone (outside the hub), e.g. for a benchmark or a manual look.

Each sandbox module's ``main`` calls :func:`run` with its own argument parser; the routes are served
at the root path of a threaded WSGI server.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Callable
from typing import Any


def parser(description: str, default_port: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=default_port)
    p.add_argument("--access-log", action="store_true", help="print a line per request")
    return p


def run(urlconf: str, args: argparse.Namespace, banner: str,
        configure: Callable[[Any], None] | None = None) -> None:
    """Set Django up, serve ``urlconf`` (a module with ``urlpatterns``) on ``args.host:args.port``.

    ``configure(settings)`` may adjust settings after setup (e.g. a process-local cache).
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    quiet = not args.access_log

    class Handler(WSGIRequestHandler):
        # wsgiref writes headers and body apart: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms.
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *a: Any) -> None:  # noqa: A002 - the base class's name
            if not quiet:
                super().log_message(format, *a)

    settings.ROOT_URLCONF = urlconf
    if configure is not None:
        configure(settings)
    print(f"{banner} on http://{args.host}:{args.port}/", flush=True)
    httpd = ThreadedWSGIServer((args.host, args.port), Handler)
    httpd.set_app(WSGIHandler())
    httpd.serve_forever()
