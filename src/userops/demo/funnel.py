"""Browsing and the purchase funnel: view_item -> add_to_cart -> checkout -> order_completed."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from userops.demo.catalog import Catalog, Product
from userops.demo.emitter import Emitter

if TYPE_CHECKING:
    from userops.demo.session import Session, SessionRunner

_MAX_CART = 8


class Funnel:
    def __init__(
        self, rng: random.Random, emitter: Emitter, catalog: Catalog, runner: SessionRunner
    ) -> None:
        self.rng = rng
        self.out = emitter
        self.catalog = catalog
        self.runner = runner
        self.orders = 0
        self.buy_boost = 1.0  # set per day by the simulation (sale days convert better)

    def browse(self, s: Session, light: bool) -> None:
        rng, person = self.rng, s.person
        mean_views = 1.2 if light else 2.4 * person.engagement
        views = min(1 + int(rng.expovariate(1.0 / mean_views)), 15)
        if not light and rng.random() < 0.35:
            self._search(s)
        cart_chance = 0.0 if light else 0.06 * person.channel.buy * self.buy_boost
        for _ in range(views):
            product = self._choose(s)
            self._view(s, product)
            if rng.random() < cart_chance:
                self._add_to_cart(s, product)
        if person.cart and not light:
            self._checkout(s)

    def _choose(self, s: Session) -> Product:
        if self.rng.random() < 0.55:
            return self.catalog.pick_in(self.rng, s.person.interest)
        return self.catalog.pick(self.rng)

    def _search(self, s: Session) -> None:
        product = self._choose(s)
        query = product.name[-2:] if self.rng.random() < 0.5 else product.category
        if s.device.web:
            self.runner.page(s, "搜索结果", f"/search?q={query}")
        props: dict[str, object] = {
            "query": query,
            "result_count": 5 + int(self.rng.random() * 200),
        }
        self.out.track(self.runner.gap(s), s.device, s.ctx, "search", props)

    def _view(self, s: Session, product: Product) -> None:
        if s.device.web:
            self.runner.page(s, product.name, f"/item/{product.product_id}")
        props: dict[str, object] = {
            "product_id": product.product_id,
            "name": product.name,
            "category": product.category,
            "price": product.price,
            "currency": "CNY",
        }
        self.out.track(self.runner.gap(s, 2_000, 60_000), s.device, s.ctx, "view_item", props)

    def _add_to_cart(self, s: Session, product: Product) -> None:
        quantity = 2 if self.rng.random() < 0.12 else 1
        props: dict[str, object] = {
            "product_id": product.product_id,
            "category": product.category,
            "price": product.price,
            "quantity": quantity,
            "currency": "CNY",
        }
        self.out.track(self.runner.gap(s, 1_000, 10_000), s.device, s.ctx, "add_to_cart", props)
        if len(s.person.cart) < _MAX_CART:
            s.person.cart.extend([product] * quantity)

    def _checkout(self, s: Session) -> None:
        rng, person = self.rng, s.person
        buy = person.channel.buy * self.buy_boost
        if rng.random() >= min(0.35 * buy, 0.9):
            if rng.random() < 0.3:
                person.cart.clear()  # abandoned carts are eventually emptied
            return
        if s.device.logged_in_as is None:
            # Checkout needs an account: the login wall loses about half.
            if rng.random() >= 0.5:
                return
            self.runner.sign_up(s)
        value = round(sum(p.price for p in person.cart), 2)
        if s.device.web:
            self.runner.page(s, "确认订单", "/checkout")
        props: dict[str, object] = {"value": value, "currency": "CNY", "products": len(person.cart)}
        self.out.track(self.runner.gap(s, 3_000, 30_000), s.device, s.ctx, "checkout", props)
        if rng.random() < min(0.62 + 0.12 * buy, 0.95):
            self._complete(s, value)

    def _complete(self, s: Session, value: float) -> None:
        person = s.person
        self.orders += 1
        # Sale days apply a store-wide 10% discount at payment.
        revenue = round(value * 0.9, 2) if self.buy_boost > 1.0 else value
        props: dict[str, object] = {
            "order_id": f"YX{20_000_000 + self.orders}",
            "revenue": revenue,
            "currency": "CNY",
            "products": len(person.cart),
            "payment_method": self.runner.pay_method(),
        }
        self.out.track(self.runner.gap(s, 5_000, 60_000), s.device, s.ctx, "order_completed", props)
        if s.device.web:
            self.runner.page(s, "支付成功", "/order/success")
        person.cart.clear()
