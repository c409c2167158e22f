"""The integrations' surfaces: the REST API (integrations, providers, API keys, logs, credential audits),
the admin, the seed-route aliases of providers (``aliases.py``) and the connection test they queue.

Apart from the ground (``integrations``: tenancy, secrets, logs) so that the ground imports nothing
above it: these modules reach the connectors, the sync jobs and the webhook inbox.
"""
