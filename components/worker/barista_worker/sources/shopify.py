"""Shopify stores: the public ``/products.json`` every storefront serves.

``GET https://<store>/products.json?limit=250&page=N`` → ``{"products": [{"id", "title", "handle",
"vendor", "product_type", "tags", "published_at", "updated_at", "variants": [{"price", "compare_at_price",
"available"}], "images": [{"src"}]}]}``. Pages are read until one comes back short (or ``max_pages``).
One ``product.snapshot`` per product: product_id, handle = the store's domain, title, category (the
product type), price = the lowest variant price, compare_at_price, available = any variant available.
Prices carry no currency in this endpoint, so none is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from barista_worker.model import FetchRequest, Parsed, ParseError, Snapshot, TargetFailed
from barista_worker.sources.common import USER_AGENT, compact, items, number, obj, text

PLATFORM = "shopify"
PAGE_SIZE = 250
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*(:[0-9]+)?$")


def store_of(target: str) -> str:
    """``https://Shop.Example.com/`` → ``shop.example.com``."""
    value = re.sub(r"^https?://", "", target.strip().lower()).split("/", 1)[0]
    if not _DOMAIN.match(value):
        raise TargetFailed("invalid_target", f"{target!r} is not a store domain")
    return value


class ShopifyFlow:
    source = "shopify.products"

    def __init__(self, *, url_template: str, max_pages: int, page_size: int = PAGE_SIZE) -> None:
        self.url_template = url_template
        self.max_pages = max_pages
        self.page_size = page_size
        self.headers = {"accept": "application/json", "user-agent": USER_AGENT}

    def limiter_scope(self) -> str:
        return PLATFORM

    def _request(self, store: str, page: int) -> FetchRequest:
        return FetchRequest(
            url=self.url_template.replace("{target}", store),
            params={"limit": str(self.page_size), "page": str(page)},
            headers=self.headers,
            step="products",
            page=page,
            state={"store": store},
        )

    def start(self, target: str) -> Sequence[FetchRequest]:
        return [self._request(store_of(target), 1)]

    def parse(self, target: str, request: FetchRequest, body: Any) -> Parsed:
        store = str(request.state["store"])
        products = items(obj(body, "the answer").get("products"), "products")
        snapshots = []
        for index, product in enumerate(products):
            product = obj(product, f"products[{index}]")
            product_id = product.get("id")
            if product_id is None or isinstance(product_id, bool):
                raise ParseError(f"products[{index}].id is missing")
            snapshots.append(Snapshot("product.snapshot", f"{store}/{product_id}", product_properties(store, product)))
        follow = []
        if len(products) >= self.page_size and request.page < self.max_pages:
            follow.append(self._request(store, request.page + 1))
        return Parsed(snapshots=snapshots, follow=follow)


def product_properties(store: str, product: Mapping[str, Any]) -> dict[str, Any]:
    variants = [v for v in product.get("variants") or [] if isinstance(v, Mapping)]
    prices = [p for p in (number(v.get("price")) for v in variants) if p is not None]
    compare = [p for p in (number(v.get("compare_at_price")) for v in variants) if p is not None]
    availability = [v.get("available") for v in variants if isinstance(v.get("available"), bool)]
    tags = product.get("tags")
    if isinstance(tags, str):  # older stores answer "a, b, c"
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    images = [i for i in product.get("images") or [] if isinstance(i, Mapping)]
    slug = text(product.get("handle"), 255)
    return compact(
        {
            "platform": PLATFORM,
            "product_id": str(product["id"]),
            "handle": store,
            "product_handle": slug,
            "title": text(product.get("title"), 500),
            "vendor": text(product.get("vendor"), 200),
            "category": text(product.get("product_type"), 200),
            "tags": [t for t in tags if isinstance(t, str)][:50] if isinstance(tags, list) else None,
            "price": min(prices) if prices else None,
            "compare_at_price": max(compare) if compare else None,
            "available": any(availability) if availability else None,
            "variants": len(variants),
            "image_url": text(images[0].get("src"), 1000) if images else None,
            "published_at": text(product.get("published_at"), 40),
            "updated_at": text(product.get("updated_at"), 40),
            "url": f"https://{store}/products/{slug}" if slug else None,
        }
    )
