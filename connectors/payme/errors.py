"""Payme's error codes with the three-language messages the merchant API requires (ru, uz, en)."""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INSUFFICIENT_PRIVILEGE = -32504
SYSTEM_ERROR = -32400
WRONG_AMOUNT = -31001
TRANSACTION_NOT_FOUND = -31003
CANNOT_CANCEL = -31007
CANNOT_PERFORM = -31008
ORDER_NOT_FOUND = -31050  # -31050..-31099: account errors, ``data`` names the account field
ORDER_BUSY = -31051
ORDER_PAID = -31052

MESSAGES: dict[int, dict[str, str]] = {
    PARSE_ERROR: {"ru": "Ошибка разбора JSON", "uz": "JSON so'rovni o'qishda xatolik", "en": "Parse error"},
    INVALID_REQUEST: {"ru": "Неверный запрос", "uz": "Noto'g'ri so'rov", "en": "Invalid request"},
    METHOD_NOT_FOUND: {"ru": "Метод не найден", "uz": "Usul topilmadi", "en": "Method not found"},
    INSUFFICIENT_PRIVILEGE: {"ru": "Недостаточно привилегий для выполнения метода",
                             "uz": "Usulni bajarish uchun huquqlar yetarli emas",
                             "en": "Insufficient privileges to execute the method"},
    SYSTEM_ERROR: {"ru": "Системная ошибка", "uz": "Tizim xatosi", "en": "System error"},
    WRONG_AMOUNT: {"ru": "Неверная сумма", "uz": "Noto'g'ri summa", "en": "Incorrect amount"},
    TRANSACTION_NOT_FOUND: {"ru": "Транзакция не найдена", "uz": "Tranzaksiya topilmadi",
                            "en": "Transaction not found"},
    CANNOT_CANCEL: {"ru": "Невозможно отменить транзакцию. Заказ выполнен.",
                    "uz": "Tranzaksiyani bekor qilib bo'lmaydi. Buyurtma bajarilgan.",
                    "en": "Unable to cancel the transaction. The order has been fulfilled."},
    CANNOT_PERFORM: {"ru": "Невозможно выполнить данную операцию", "uz": "Ushbu amalni bajarib bo'lmaydi",
                     "en": "Unable to perform this operation"},
    ORDER_NOT_FOUND: {"ru": "Заказ не найден", "uz": "Buyurtma topilmadi", "en": "Order not found"},
    ORDER_BUSY: {"ru": "Заказ ожидает оплаты по другой транзакции",
                 "uz": "Buyurtma boshqa tranzaksiya bo'yicha to'lovni kutmoqda",
                 "en": "The order is awaiting payment by another transaction"},
    ORDER_PAID: {"ru": "Заказ уже оплачен", "uz": "Buyurtma allaqachon to'langan", "en": "The order is already paid"},
}


class PaymeError(Exception):
    """A protocol error answer; ``tx`` is the transaction it concerns (for the call's record)."""

    def __init__(self, code: int, data: Any = None, tx: Any = None):
        super().__init__(code)
        self.code = code
        self.data = data
        self.tx = tx

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": MESSAGES[self.code]}
        if self.data is not None:
            error["data"] = self.data
        return error
