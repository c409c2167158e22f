"""Razorpay Checkout's ``callback_url``: where the payer's browser posts the payment it made."""

from django.urls import path

from .views import checkout_callback

urlpatterns = [
    path("api/payments/razorpay/<str:key>/checkout", checkout_callback, name="razorpay-checkout"),
]
