"""What a retailer enters to connect KiotViet: credentials (secret) and the field mapping."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

TOKEN_URL = "https://id.kiotviet.vn/connect/token"  # noqa: S105 - a URL, not a secret
WEBHOOK_EVENTS = ("product.update", "product.delete", "stock.update", "customer.update", "customer.delete",
                  "category.update", "category.delete", "branch.update", "branch.delete")
DEFAULT_WEBHOOK_EVENTS = ["product.update", "product.delete", "stock.update"]


class KiotVietCredentials(serializers.Serializer):
    client_id = serializers.CharField(max_length=200,
                                      help_text="Client ID (Thiết lập cửa hàng → Thiết lập kết nối API).")
    client_secret = serializers.CharField(max_length=500, write_only=True, style={"input_type": "password"},
                                          help_text="Mã bảo mật (client secret).")
    retailer = serializers.RegexField(r"^[A-Za-z0-9_.-]{1,100}$", max_length=100,
                                      help_text="The shop's retailer name (its KiotViet login / subdomain).")


class KiotVietConfig(serializers.Serializer):
    token_url = serializers.URLField(default=TOKEN_URL, help_text="KiotViet's token endpoint (override for a proxy).")
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=100,
                                         help_text="Rows per API page (KiotViet's cap is 100).")
    pages_per_batch = serializers.IntegerField(min_value=1, max_value=50, default=10,
                                               help_text="API pages committed together as one checkpoint.")
    overlap_seconds = serializers.IntegerField(min_value=0, max_value=86400, default=2,
                                               help_text="Incremental reads start this long before the cursor.")
    document_overlap_days = serializers.IntegerField(min_value=0, max_value=365, default=7,
                                                     help_text="Purchase orders, transfers, cash flow: re-read window.")
    prefetch = serializers.BooleanField(default=True,
                                        help_text="Read the next batch while the current one is written.")
    # Field mapping.
    price_book_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                             help_text="The price book whose price becomes our price (else basePrice).")
    brand_attribute = serializers.CharField(max_length=100, default="Thương hiệu",
                                            help_text="The product attribute whose value becomes attributes.brand.")
    default_category = serializers.RegexField(r"^\d{1,18}$", required=False, allow_null=True, default=None,
                                              help_text="KiotViet category id for products without a category.")
    default_location = serializers.RegexField(r"^\d{1,18}$", required=False, allow_null=True, default=None,
                                              help_text="KiotViet branch id for stock rows that name no branch.")
    webhook_events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
                                           default=DEFAULT_WEBHOOK_EVENTS, max_length=len(WEBHOOK_EVENTS),
                                           help_text="Events registered with KiotViet.")

    def validate_webhook_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("brand_attribute", "x").strip() == "":
            raise serializers.ValidationError({"brand_attribute": ["Must name an attribute."]})
        return attrs
