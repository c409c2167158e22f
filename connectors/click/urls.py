"""Click's Prepare and Complete URL (one URL, told apart by ``action``): the integration's ``callback_url``."""

from django.urls import path

from .views import shop_api

urlpatterns = [
    path("api/payments/click/<str:key>", shop_api, name="click-shop"),
]
