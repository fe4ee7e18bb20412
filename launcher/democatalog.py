"""A deterministic demo catalog: a few hundred plausible products in several categories."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DEFAULT_SEED: Final = 20240601
DEFAULT_PER_CATEGORY: Final = 40


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    display_name: str
    brands: tuple[str, ...]
    # Kinds of product with a typical price in whole dollars.
    nouns: tuple[tuple[str, int], ...]
    qualifiers: tuple[str, ...]
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


CATEGORIES: Final[tuple[CategorySpec, ...]] = (
    CategorySpec(
        "electronics",
        "Electronics",
        ("Voltix", "Nordwave", "Acoustra", "Pixelon", "Kairo"),
        (
            ("Wireless Earbuds", 79),
            ("Bluetooth Speaker", 59),
            ("USB-C Charger", 25),
            ("Mechanical Keyboard", 99),
            ("Wireless Mouse", 35),
            ("4K Monitor", 349),
            ("Noise-Cancelling Headphones", 229),
            ("Power Bank", 39),
            ("Smart Watch", 199),
            ("Webcam", 69),
        ),
        ("Pro", "Mini", "Max", "Lite", "Studio", "Travel", "Ultra", "Classic"),
        {"color": ("black", "white", "silver", "midnight blue"), "warranty": ("1 year", "2 years")},
    ),
    CategorySpec(
        "books",
        "Books",
        ("Harbor Press", "Lantern Books", "Quill & Co", "Northfield Publishing"),
        (
            ("Cookbook", 29),
            ("Mystery Novel", 15),
            ("Field Guide", 22),
            ("Biography", 24),
            ("Poetry Collection", 14),
            ("Programming Handbook", 45),
            ("Travel Journal", 12),
            ("History of the Sea", 28),
            ("Gardening Almanac", 19),
            ("Science Fiction Anthology", 18),
        ),
        ("Illustrated", "Revised", "Collector's", "Pocket", "Annotated", "Complete"),
        {"format": ("paperback", "hardcover"), "language": ("English", "Spanish", "German")},
    ),
    CategorySpec(
        "home-kitchen",
        "Home & Kitchen",
        ("Hearthly", "Copperleaf", "Maison Verte", "Brightnest"),
        (
            ("Chef's Knife", 79),
            ("Cast Iron Skillet", 45),
            ("French Press", 32),
            ("Cutting Board", 29),
            ("Stand Mixer", 299),
            ("Ceramic Mug Set", 34),
            ("Linen Tablecloth", 49),
            ("Spice Rack", 27),
            ("Dutch Oven", 119),
            ("Kettle", 49),
        ),
        ("Stainless", "Enamel", "Bamboo", "Copper", "Everyday", "Artisan", "Large", "Compact"),
        {
            "material": ("steel", "ceramic", "wood", "cast iron"),
            "color": ("sage", "cream", "slate"),
        },
    ),
    CategorySpec(
        "sports-outdoors",
        "Sports & Outdoors",
        ("Trailmark", "Summit Gear", "Bluewake", "Ridgeline"),
        (
            ("Running Shoes", 119),
            ("Yoga Mat", 39),
            ("Hiking Backpack", 99),
            ("Water Bottle", 24),
            ("Camping Tent", 229),
            ("Cycling Helmet", 69),
            ("Trekking Poles", 59),
            ("Sleeping Bag", 129),
            ("Fitness Tracker", 89),
            ("Jump Rope", 15),
        ),
        ("Trail", "Lightweight", "All-Weather", "Insulated", "Ultralight", "Performance"),
        {"size": ("S", "M", "L", "XL"), "color": ("forest green", "orange", "graphite")},
    ),
    CategorySpec(
        "clothing",
        "Clothing",
        ("Loomwell", "Norththread", "Cotton Republic", "Urban Fable"),
        (
            ("Crew Neck T-Shirt", 22),
            ("Denim Jacket", 89),
            ("Wool Sweater", 79),
            ("Rain Jacket", 119),
            ("Chino Trousers", 59),
            ("Hooded Sweatshirt", 55),
            ("Linen Shirt", 49),
            ("Puffer Vest", 99),
            ("Merino Socks", 18),
            ("Beanie", 24),
        ),
        ("Organic", "Slim Fit", "Relaxed", "Heavyweight", "Recycled", "Everyday"),
        {"size": ("XS", "S", "M", "L", "XL"), "color": ("navy", "charcoal", "olive", "white")},
    ),
    CategorySpec(
        "toys-games",
        "Toys & Games",
        ("Playfield", "Brickworks", "Tinker Owl", "Meeple House"),
        (
            ("Building Blocks Set", 59),
            ("Jigsaw Puzzle", 19),
            ("Board Game", 39),
            ("Plush Bear", 24),
            ("Card Game", 14),
            ("Wooden Train Set", 69),
            ("Science Kit", 34),
            ("Kite", 22),
            ("Marble Run", 44),
            ("Dollhouse", 119),
        ),
        ("Deluxe", "Family", "Junior", "Classic", "Travel", "Glow-in-the-Dark"),
        {"age": ("3+", "6+", "8+", "12+"), "players": ("1", "2-4", "2-6")},
    ),
    CategorySpec(
        "beauty",
        "Beauty",
        ("Lumea", "Petal & Pine", "Dewdrop", "Solenne"),
        (
            ("Face Serum", 38),
            ("Hand Cream", 12),
            ("Lip Balm", 6),
            ("Shampoo", 14),
            ("Body Lotion", 16),
            ("Sunscreen SPF 50", 19),
            ("Eye Cream", 32),
            ("Facial Cleanser", 15),
            ("Bath Salts", 13),
            ("Hair Oil", 22),
        ),
        ("Hydrating", "Unscented", "Travel Size", "Vitamin C", "Gentle", "Overnight"),
        {"skin_type": ("all", "dry", "sensitive", "oily"), "volume": ("30 ml", "100 ml", "250 ml")},
    ),
    CategorySpec(
        "grocery",
        "Grocery",
        ("Golden Acre", "Wildroot", "Mill & Stone", "Sunny Valley"),
        (
            ("Extra Virgin Olive Oil", 16),
            ("Dark Roast Coffee Beans", 14),
            ("Green Tea", 8),
            ("Wildflower Honey", 11),
            ("Rolled Oats", 5),
            ("Dark Chocolate Bar", 4),
            ("Basmati Rice", 9),
            ("Maple Syrup", 13),
            ("Trail Mix", 7),
            ("Sea Salt", 5),
        ),
        ("Organic", "Fair Trade", "Family Size", "Single Origin", "Small Batch", "Value Pack"),
        {"weight": ("250 g", "500 g", "1 kg"), "origin": ("Italy", "Colombia", "India", "Canada")},
    ),
)


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    description: str
    category: str
    price_cents: int
    inventory: int
    image_url: str
    attributes: Mapping[str, str]

    @property
    def price_units(self) -> int:
        return self.price_cents // 100

    @property
    def price_nanos(self) -> int:
        return (self.price_cents % 100) * 10_000_000


def generate(
    seed: int = DEFAULT_SEED, per_category: int = DEFAULT_PER_CATEGORY
) -> list[DemoProduct]:
    """The same list for the same arguments, on every machine and Python version."""
    rng = random.Random(seed)
    products: list[DemoProduct] = []
    for spec in CATEGORIES:
        names: set[str] = set()
        while len(names) < per_category:
            noun, typical = rng.choice(spec.nouns)
            name = f"{rng.choice(spec.brands)} {rng.choice(spec.qualifiers)} {noun}"
            if name in names:
                continue
            names.add(name)
            products.append(_product(rng, spec, name, typical, len(names)))
    return products


def _product(
    rng: random.Random, spec: CategorySpec, name: str, typical: int, number: int
) -> DemoProduct:
    # Around the typical price of the kind, ending in .99 or .49 like a real shop's.
    dollars = max(1, round(typical * rng.uniform(0.7, 1.4))) - 1
    cents = dollars * 100 + rng.choice((99, 49))
    attributes = {key: rng.choice(values) for key, values in sorted(spec.attributes.items())}
    traits = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in attributes.items())
    sku = f"{spec.slug[:4].upper()}-{number:04d}"
    return DemoProduct(
        sku=sku,
        name=name,
        description=(
            f"The {name} from our {spec.display_name} range. {rng.choice(_PITCHES)} "
            f"Details: {traits}."
        ),
        category=spec.slug,
        price_cents=cents,
        inventory=rng.choice((0, 3, 8, 15, 25, 40, 60, 100, 250)),
        image_url=f"https://images.shopmesh.example.com/products/{sku.lower()}.jpg",
        attributes={**attributes, "sku": sku},
    )


_PITCHES: Final = (
    "Built to last and easy to care for.",
    "A customer favourite, restocked every season.",
    "Thoughtfully designed for everyday use.",
    "Great as a gift, and even better to keep.",
    "Made with responsibly sourced materials.",
    "Rated highly by reviewers for value and quality.",
)
