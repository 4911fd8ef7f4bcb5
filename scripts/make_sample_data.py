#!/usr/bin/env python3
"""Write ``sample_data/``: the small retail dataset that ``lakehouse demo`` loads.

The demo's point is that one SQL query can join files of every format HeatWave
Lakehouse reads, so the dataset is one coherent shop spread over five of them:

- ``stores.csv``: comma-delimited CSV with a header line;
- ``orders/part-0.tbl`` and ``orders/part-1.tbl.gz``: pipe-delimited, dbgen-style
  lines ending in ``|``, no header, the second file gzip-compressed;
- ``products.parquet``: Parquet with ``DECIMAL(10,2)`` prices;
- ``events.jsonl``: newline-delimited JSON web events;
- ``returns.avro``: an Avro object container file (deflate).

Everything comes from ``random.Random(42)`` and fixed timestamps, so running the script
again produces byte-identical files (the committed copy is its output). It needs
pyarrow and fastavro (the ``dev`` extras); the demo itself needs neither of them to be
run again.

Usage::

    .venv/bin/python scripts/make_sample_data.py [OUT_DIR]   # default: ./sample_data
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import random
import sys
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 42
ORDERS = 20_000
ORDERS_IN_FIRST_PART = 8_000
EVENTS = 3_000
RETURN_RATE = 0.03
# Avro files carry a random 16-byte sync marker unless given one; fix it for
# reproducible output.
AVRO_SYNC_MARKER = b"lakehouse-demo!!"

STORES = [
    ("Lisbon Baixa", "Lisbon", "Portugal", "2019-03-14"),
    ("Porto Ribeira", "Porto", "Portugal", "2021-06-01"),
    ("Madrid Sol", "Madrid", "Spain", "2018-09-20"),
    ("Barcelona Gracia", "Barcelona", "Spain", "2020-02-11"),
    ("Paris, Le Marais", "Paris", "France", "2017-05-05"),
    ("Lyon Presqu'ile", "Lyon", "France", "2022-10-03"),
    ("Berlin Mitte", "Berlin", "Germany", "2016-11-30"),
    ("Munich Altstadt", "Munich", "Germany", "2021-04-16"),
    ("Amsterdam Jordaan", "Amsterdam", "Netherlands", "2019-08-22"),
    ("Dublin Docklands", "Dublin", "Ireland", "2023-01-09"),
    ("Milan Brera", "Milan", "Italy", "2020-07-07"),
    ("Vienna Neubau", "Vienna", "Austria", "2022-03-28"),
]
# How busy each store is, relative to the others.
STORE_WEIGHTS = [9, 5, 10, 8, 12, 4, 11, 6, 7, 3, 6, 5]

CATEGORIES = {
    "Kitchen": (
        ["Chef's Knife", "Cast Iron Pan", "Pour-Over Kettle", "Salad Bowl", "Spice Rack"],
        (9, 120),
    ),
    "Garden": (
        ["Pruning Shears", "Watering Can", "Seed Tray", "Hose Reel", "Herb Planter"],
        (6, 90),
    ),
    "Outdoor": (
        ["Camping Stove", "Trail Backpack", "Folding Chair", "Headlamp", "Rain Shell"],
        (15, 220),
    ),
    "Books": (["Field Guide", "Cookbook", "Atlas", "Sketchbook", "Travel Journal"], (8, 45)),
    "Toys": (["Wooden Train", "Puzzle Box", "Kite", "Building Blocks", "Marble Run"], (7, 70)),
    "Electronics": (
        ["Bluetooth Speaker", "E-Reader", "Power Bank", "Desk Lamp", "Earbuds"],
        (19, 260),
    ),
}
STYLES = ["Classic", "Compact", "Deluxe", "Eco", "Pro", "Mini", "Nordic"]
# Share of returns each category sees, relative to the others (electronics come back most).
RETURN_WEIGHTS = {"Kitchen": 2, "Garden": 1, "Outdoor": 3, "Books": 1, "Toys": 2, "Electronics": 5}
RETURN_REASONS = ["damaged", "wrong size", "not as described", "changed mind", "late delivery"]
CONDITIONS = ["new", "opened", "used", "damaged"]
EVENT_TYPES = ["view", "view", "view", "view", "add_to_cart", "add_to_cart", "purchase"]
DEVICES = ["mobile", "mobile", "desktop", "tablet"]
# Busier months get more orders (retail seasonality: summer and December peaks).
MONTH_WEIGHTS = [7, 6, 7, 8, 9, 11, 12, 11, 8, 8, 10, 15]


@dataclass(frozen=True)
class Product:
    """A row of products.parquet."""

    product_id: int
    product_name: str
    category: str
    list_price: Decimal


@dataclass(frozen=True)
class Order:
    """An order line: a row of orders/*.tbl."""

    order_id: int
    order_date: dt.date
    store_id: int
    customer_id: int
    product_id: int
    quantity: int
    unit_price: Decimal


def make_products(rng: random.Random) -> list[Product]:
    """One product per (category, item, some styles): about 120 products."""
    products: list[Product] = []
    for category, (items, (low, high)) in CATEGORIES.items():
        for item in items:
            for style in sorted(rng.sample(STYLES, 4)):
                price = Decimal(rng.randint(low * 100, high * 100)) / 100
                # Retail prices end in .99, .49 or .95.
                price = price.quantize(Decimal("1")) - Decimal(rng.choice(["0.01", "0.51", "0.05"]))
                products.append(Product(len(products) + 1, f"{style} {item}", category, price))
    return products


def random_day(rng: random.Random) -> dt.date:
    """A day of 2024, following the seasonal month weights."""
    month = rng.choices(range(1, 13), weights=MONTH_WEIGHTS)[0]
    start = dt.date(2024, month, 1)
    end = dt.date(2024 + month // 12, month % 12 + 1, 1)
    return start + dt.timedelta(days=rng.randrange((end - start).days))


def make_orders(rng: random.Random, products: list[Product]) -> list[Order]:
    """Order lines: popular products sell more, and some lines are discounted."""
    popularity = [1.0 / (1 + (i * 7919) % len(products)) ** 0.8 for i in range(len(products))]
    orders: list[Order] = []
    for order_id in range(1, ORDERS + 1):
        product = rng.choices(products, weights=popularity)[0]
        store_id = rng.choices(range(1, len(STORES) + 1), weights=STORE_WEIGHTS)[0]
        discount = rng.choice(
            [Decimal("1"), Decimal("1"), Decimal("1"), Decimal("0.9"), Decimal("0.8")]
        )
        price = (product.list_price * discount).quantize(Decimal("0.01"))
        quantity = rng.choices([1, 2, 3, 4, 6], weights=[60, 22, 10, 5, 3])[0]
        orders.append(
            Order(
                order_id,
                random_day(rng),
                store_id,
                rng.randint(1, 2500),
                product.product_id,
                quantity,
                price,
            )
        )
    # Number the lines in date order, as an order system would.
    orders.sort(key=lambda o: (o.order_date, o.order_id))
    return [replace(o, order_id=i) for i, o in enumerate(orders, start=1)]


def write_stores(out: Path) -> None:
    """``stores.csv``: comma-delimited with a header; one name needs quoting."""
    lines = ["store_id,store_name,city,country,opened_on"]
    for store_id, (name, city, country, opened) in enumerate(STORES, start=1):
        quoted = f'"{name}"' if "," in name else name
        lines.append(f"{store_id},{quoted},{city},{country},{opened}")
    (out / "stores.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def order_line(o: Order) -> str:
    """One dbgen-style line: fields separated by ``|`` and a ``|`` before the newline."""
    fields = [
        o.order_id,
        o.order_date.isoformat(),
        o.store_id,
        o.customer_id,
        o.product_id,
        o.quantity,
        o.unit_price,
    ]
    return "|".join(str(f) for f in fields) + "|\n"


def write_orders(out: Path, orders: list[Order]) -> None:
    """Two parts under ``orders/``; the second is gzip with a fixed header timestamp."""
    folder = out / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    first, second = orders[:ORDERS_IN_FIRST_PART], orders[ORDERS_IN_FIRST_PART:]
    (folder / "part-0.tbl").write_text("".join(map(order_line, first)), encoding="utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write("".join(map(order_line, second)).encode("utf-8"))
    (folder / "part-1.tbl.gz").write_bytes(buffer.getvalue())


def write_products(out: Path, products: list[Product]) -> None:
    """``products.parquet`` with a ``decimal128(10, 2)`` price column."""
    table = pa.table(
        {
            "product_id": pa.array([p.product_id for p in products], pa.int32()),
            "product_name": pa.array([p.product_name for p in products], pa.string()),
            "category": pa.array([p.category for p in products], pa.string()),
            "list_price": pa.array([p.list_price for p in products], pa.decimal128(10, 2)),
        }
    )
    pq.write_table(table, out / "products.parquet", compression="zstd")


def write_events(out: Path, rng: random.Random, products: list[Product]) -> None:
    """``events.jsonl``: one web event per line, in time order."""
    events = []
    for _ in range(EVENTS):
        day = random_day(rng)
        at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=rng.randrange(86_400))
        events.append((at, rng.randint(1, 2500), rng.choice(products).product_id))
    events.sort()
    with (out / "events.jsonl").open("w", encoding="utf-8") as f:
        for event_id, (at, customer_id, product_id) in enumerate(events, start=1):
            record = {
                "event_id": event_id,
                "event_time": at.strftime("%Y-%m-%d %H:%M:%S"),
                "customer_id": customer_id,
                "product_id": product_id,
                "event_type": rng.choice(EVENT_TYPES),
                "device": rng.choice(DEVICES),
            }
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


def write_returns(
    out: Path, rng: random.Random, orders: list[Order], products: list[Product]
) -> None:
    """``returns.avro``: about 3% of order lines come back, more often for some categories."""
    import fastavro

    category = {p.product_id: p.category for p in products}
    mean_weight = sum(RETURN_WEIGHTS.values()) / len(RETURN_WEIGHTS)
    records = []
    for o in orders:
        if rng.random() < RETURN_RATE * RETURN_WEIGHTS[category[o.product_id]] / mean_weight:
            records.append(
                {
                    "return_id": len(records) + 1,
                    "order_id": o.order_id,
                    "returned_on": o.order_date + dt.timedelta(days=rng.randint(2, 30)),
                    "quantity": rng.randint(1, o.quantity),
                    "reason": rng.choice(RETURN_REASONS),
                    "item_condition": rng.choice(CONDITIONS),
                }
            )
    schema = {
        "type": "record",
        "name": "ProductReturn",
        "namespace": "lakehouse.demo",
        "fields": [
            {"name": "return_id", "type": "int"},
            {"name": "order_id", "type": "long"},
            {"name": "returned_on", "type": {"type": "int", "logicalType": "date"}},
            {"name": "quantity", "type": "int"},
            {"name": "reason", "type": "string"},
            {"name": "item_condition", "type": "string"},
        ],
    }
    with (out / "returns.avro").open("wb") as f:
        fastavro.writer(
            f, fastavro.parse_schema(schema), records, codec="deflate", sync_marker=AVRO_SYNC_MARKER
        )


def main(argv: list[str]) -> int:
    """Write every sample file into ``argv[0]`` (default: ``sample_data`` beside ``scripts``)."""
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "sample_data"
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    products = make_products(rng)
    orders = make_orders(rng, products)
    write_stores(out)
    write_orders(out, orders)
    write_products(out, products)
    write_events(out, rng, products)
    write_returns(out, rng, orders, products)
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:>9,}  {path.relative_to(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
