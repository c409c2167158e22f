"""Where PayPal sends the payer back after approving an order (the order's ``return_url``)."""

from django.urls import path

from .views import payer_return

urlpatterns = [
    path("api/payments/paypal/<str:key>/return", payer_return, name="paypal-return"),
]
