"""Products, categories and the rules for changing them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Final

from mesh.errors import (
    AbortedError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    PreconditionViolation,
)
from services.catalog.domain.money import Money

# Fields staff may change through UpdateProduct; everything else is kept by the service.
UPDATABLE_FIELDS: Final = frozenset(
    {"name", "description", "price", "category", "image_url", "inventory", "attributes"}
)
_CATEGORY: Final = re.compile(r"^[a-z0-9-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    description: str
    price: Money
    category: str
    image_url: str
    inventory: int
    attributes: Mapping[str, str]
    created_at: datetime
    updated_at: datetime
    version: int
    rating_average: float = 0.0
    rating_count: int = 0
    # Version of the review service's rating summary these figures come from.
    rating_version: int = 0


@dataclass(frozen=True, slots=True)
class RatingSummary:
    average: float
    count: int
    version: int


@dataclass(frozen=True, slots=True)
class ProductDraft:
    """What a caller provides to create a product, or the new values of an update."""

    name: str = ""
    description: str = ""
    price: Money | None = None
    category: str = ""
    image_url: str = ""
    inventory: int = 0
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    display_name: str
    product_count: int


class InsufficientStock(FailedPreconditionError):
    default_reason = "INSUFFICIENT_STOCK"

    def __init__(self, product_id: str, requested: int, available: int) -> None:
        super().__init__(
            f"product {product_id} has {available} units, {requested} requested",
            violations=[
                PreconditionViolation(
                    type="STOCK",
                    subject=f"products/{product_id}",
                    description=f"requested {requested}, available {available}",
                )
            ],
        )
        self.product_id = product_id
        self.requested = requested
        self.available = available


def category_display_name(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-") if word)


def create_product(product_id: str, draft: ProductDraft, at: datetime) -> Product:
    if draft.price is None:
        raise InvalidArgumentError(
            "a product needs a price", violations=[FieldViolation("product.price", "is required")]
        )
    _check_values(draft, UPDATABLE_FIELDS)
    return Product(
        id=product_id,
        name=draft.name,
        description=draft.description,
        price=draft.price,
        category=draft.category,
        image_url=draft.image_url,
        inventory=draft.inventory,
        attributes=MappingProxyType(dict(draft.attributes)),
        created_at=at,
        updated_at=at,
        version=1,
    )


def update_product(
    product: Product,
    values: ProductDraft,
    fields: frozenset[str],
    at: datetime,
    expected_version: int = 0,
) -> Product:
    """The product with `fields` taken from `values`; `expected_version` 0 means any."""
    unknown = sorted(fields - UPDATABLE_FIELDS)
    if unknown:
        raise InvalidArgumentError(
            "update_mask names fields that cannot be updated",
            violations=[FieldViolation("update_mask", f"{n} is not updatable") for n in unknown],
        )
    if not fields:
        raise InvalidArgumentError(
            "nothing to update", violations=[FieldViolation("update_mask", "names no field")]
        )
    if expected_version and expected_version != product.version:
        raise AbortedError(
            f"product {product.id} is at version {product.version}, not {expected_version}",
            reason="VERSION_MISMATCH",
            metadata={"version": str(product.version)},
        )
    _check_values(values, fields)
    changes: dict[str, object] = {name: getattr(values, name) for name in fields}
    if "attributes" in changes:
        changes["attributes"] = MappingProxyType(dict(values.attributes))
    return replace(product, **changes, updated_at=at, version=product.version + 1)  # type: ignore[arg-type]


def reserve(product: Product, quantity: int, at: datetime) -> Product:
    if quantity <= 0:
        raise InvalidArgumentError(
            "quantity must be positive", violations=[FieldViolation("quantity", "must be >= 1")]
        )
    if product.inventory < quantity:
        raise InsufficientStock(product.id, quantity, product.inventory)
    return replace(
        product, inventory=product.inventory - quantity, updated_at=at, version=product.version + 1
    )


def restock(product: Product, quantity: int, at: datetime) -> Product:
    return replace(
        product, inventory=product.inventory + quantity, updated_at=at, version=product.version + 1
    )


def rate(product: Product, summary: RatingSummary, at: datetime) -> Product | None:
    """The product with the review summary's figures; None when it holds a newer summary."""
    if summary.version <= product.rating_version:
        return None
    return replace(
        product,
        rating_average=summary.average,
        rating_count=summary.count,
        rating_version=summary.version,
        updated_at=at,
        version=product.version + 1,
    )


def _check_values(values: ProductDraft, fields: frozenset[str]) -> None:
    violations: list[FieldViolation] = []
    if "name" in fields and not values.name.strip():
        violations.append(FieldViolation("product.name", "must not be empty"))
    if "price" in fields and values.price is None:
        violations.append(FieldViolation("product.price", "is required"))
    if "category" in fields and not _CATEGORY.match(values.category):
        violations.append(
            FieldViolation("product.category", "must be 1..64 lower case letters, digits or '-'")
        )
    if "inventory" in fields and values.inventory < 0:
        violations.append(FieldViolation("product.inventory", "must be >= 0"))
    if violations:
        raise InvalidArgumentError("invalid product", violations=violations)
