"""A small seeded product catalogue with long-tailed popularity."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass

from userops.demo.data import CATEGORIES, PRODUCT_ADJECTIVES


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    name: str
    category: str
    price: float


class Catalog:
    """Products plus a Zipf-like popularity sampler (a few hits, a long tail)."""

    def __init__(self, rng: random.Random, size: int = 240) -> None:
        self.products = [_make_product(rng, i) for i in range(size)]
        rng.shuffle(self.products)
        weights = [1.0 / (rank + 3) for rank in range(size)]
        self._cum = list(itertools.accumulate(weights))
        self._by_category: dict[str, list[Product]] = {}
        for product in self.products:
            self._by_category.setdefault(product.category, []).append(product)

    def pick(self, rng: random.Random) -> Product:
        index = bisect.bisect_right(self._cum, rng.random() * self._cum[-1])
        return self.products[min(index, len(self.products) - 1)]

    def pick_in(self, rng: random.Random, category: str) -> Product:
        # Favour the head of the category list, mirroring overall popularity.
        items = self._by_category[category]
        return items[int(len(items) * rng.random() ** 2)]


def _make_product(rng: random.Random, index: int) -> Product:
    category, nouns, low, high = CATEGORIES[index % len(CATEGORIES)]
    # Log-uniform prices: many cheap items, a few expensive ones, like real shops.
    raw = low * (high / low) ** rng.random()
    price = max(round(raw) - 0.1, 1.9) if raw > 20 else round(raw, 1)
    name = f"{rng.choice(PRODUCT_ADJECTIVES)}{rng.choice(nouns)}"
    return Product(f"sku_{100000 + index * 37}", name, category, round(price, 2))
