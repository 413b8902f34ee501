"""Amounts in a currency's minor unit, formatted for people (emails and receipt PDFs)."""

from __future__ import annotations

# ISO 4217 currencies without a minor unit (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf",
}  # fmt: skip


def money(amount: int | None, currency: str | None) -> str:
    amount = int(amount or 0)
    currency = (currency or "usd").lower()
    if currency in ZERO_DECIMAL:
        return f"{amount:,} {currency.upper()}"
    return f"{amount / 100:,.2f} {currency.upper()}"
