"""The staff console: the Django admin as staff run integrations from it (navigation, dashboard, pages).

It sits above every app (it reads sync jobs, webhooks, payments and events together), so nothing
imports it but the settings' dotted paths and the admin registry.
"""
