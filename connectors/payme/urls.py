"""Payme's billing URL (set in the merchant cabinet): the integration's ``callback_url``."""

from django.urls import path

from .views import rpc

urlpatterns = [
    path("api/payments/payme/<str:key>", rpc, name="payme-rpc"),
]
