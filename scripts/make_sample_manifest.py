"""Build the Helsinki sample manifest from real OpenStreetMap addresses.

Standard library only. Run from the repository root::

    python3 scripts/make_sample_manifest.py

It reads ``examples/helsinki/addresses.csv`` (written by
``scripts/extract_helsinki_addresses.py``) and writes, in ``examples/helsinki/``:

* ``orders.csv``: about 300 delivery and pickup orders at those addresses, clean
  except for one planted defect in each of a few rows;
* ``fleet.csv``: one depot with 4 vans and 3 cargo bikes (clean);
* ``planted_defects.csv``: where the defects are (``row`` as a spreadsheet shows
  it: header = 1, first data row = 2), so the gate can be tested against them.

The random generator is seeded (2026): running it twice gives identical files.
Customer names, phones, e-mails, windows and loads are invented; street, house
number, postcode and building location are real (c) OpenStreetMap contributors,
ODbL 1.0.
"""

from __future__ import annotations

import csv
import math
import random
import statistics
from collections import Counter
from pathlib import Path

SEED = 2026
HERE = Path(__file__).resolve().parent.parent / "examples" / "helsinki"
ADDRESSES = HERE / "addresses.csv"

N_ROWS = 300
FIRST_ID = 101
PICKUP_SHARE = 0.12
NO_WINDOW_SHARE = 0.15
MAX_JITTER_M = 7.5  # stays <= 8 m after rounding to 6 decimals
CITY = "Helsinki"

# Postcodes of one organisation rather than of an area (university, city,
# railway, defence administration): they say nothing about where a stop is.
ORGANISATION_ZIPS = frozenset({"00014", "00099", "00101", "00131"})
MIN_ADDRESSES_PER_ZIP = 5
# Real postal areas are irregular: 00100 reaches ~1 km from its middle. Addresses
# farther than this from the median of their postcode's addresses are left out, so
# that a distance-based zip check has a clear margin between the clean rows and
# the planted zip_mismatch row.
MAX_FROM_ZIP_CENTRE_M = 750.0

ORDER_COLUMNS = [
    "order_id", "kind", "address", "unit", "zip", "city", "lat", "lon",
    "window_start", "window_end", "service_min", "parcels", "weight_kg", "volume_l",
    "skills", "priority", "phone", "email", "notes",
]  # fmt: skip
FLEET_COLUMNS = [
    "vehicle_id", "depot_id", "depot_lat", "depot_lon", "profile", "shift_start",
    "shift_end", "max_duration_min", "break_start", "break_end", "break_min",
    "capacity_parcels", "capacity_kg", "capacity_l", "cost_fixed", "cost_per_km",
    "cost_per_hour", "skills",
]  # fmt: skip
DEFECT_COLUMNS = ["row", "code", "field", "description"]

# The depot: the loading area by the Old Market Hall (Vanha kauppahalli), Eteläranta,
# on the south harbour at the south-east edge of the extract. Centroid of the
# market hall's OSM building, rounded.
DEPOT_ID = "HEL-ETELARANTA"
DEPOT_LAT = "60.166160"
DEPOT_LON = "24.952780"

RESIDENTIAL = frozenset({"apartments", "residential", "dormitory", "house", "terrace"})
GENERIC = frozenset({"yes", "block"})

# (start, end, weight): 2-4 h windows between 08:00 and 20:00.
WINDOWS = [
    ("08:00", "12:00", 14), ("12:00", "16:00", 14), ("16:00", "20:00", 14),
    ("09:00", "11:00", 6), ("08:00", "10:00", 5), ("10:00", "14:00", 6),
    ("11:00", "13:00", 5), ("13:00", "15:00", 5), ("14:00", "18:00", 6),
    ("17:00", "20:00", 8), ("18:00", "20:00", 6),
]  # fmt: skip
# id_check orders go to the one id_check van (07:30-16:00): windows that end by 16:00.
EARLY_WINDOWS = [w for w in WINDOWS if w[1] <= "16:00"]

FIRST_NAMES = [
    "Aino", "Anna", "Eeva", "Elina", "Emilia", "Helmi", "Hanna", "Ilona", "Johanna",
    "Katja", "Laura", "Leena", "Maija", "Minna", "Noora", "Outi", "Päivi", "Riikka",
    "Sanna", "Sofia", "Tiina", "Venla", "Aleksi", "Antti", "Eero", "Elias", "Heikki",
    "Janne", "Juha", "Jukka", "Kalle", "Lauri", "Markku", "Matti", "Mikko", "Olli",
    "Pekka", "Sami", "Teemu", "Timo", "Ville", "Väinö", "Karin", "Johan", "Erik",
]  # fmt: skip
LAST_NAMES = [
    "Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
    "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen",
    "Heinonen", "Niemi", "Heikkilä", "Kinnunen", "Salonen", "Turunen", "Salo", "Laitinen",
    "Tuominen", "Rantanen", "Karjalainen", "Jokinen", "Mattila", "Savolainen", "Lahtinen",
    "Ahonen", "Lindholm", "Nyström", "Grönroos", "Holmberg", "Virta", "Peltonen",
]  # fmt: skip
EMAIL_DOMAINS = ["example.fi", "example.fi", "example.com", "example.org"]
MOBILE_PREFIXES = ["40", "41", "44", "45", "50"]

HOME_NOTES = [
    "Door code {code}", "Door code {code}", "Leave with neighbour", "Call on arrival",
    "Ring the bell twice", "Leave at the door", "Entrance from the courtyard",
    "Lift out of order, use the stairs", "Do not ring, baby sleeping",
]  # fmt: skip
BUSINESS_NOTES = [
    "Leave at reception", "Goods entrance from the courtyard", "Ask for the manager",
    "Reception closes at 16", "Call on arrival",
]  # fmt: skip
PICKUP_NOTES = [
    "Return: parcel ready at the door", "Return label printed", "Customer brings box down",
    "Return: 2 bags",
]  # fmt: skip

# Planted defects, in no particular order: (code, field, what is wrong).
DEFECTS = [
    ("coord_missing", "lat", "lat and lon are empty"),
    ("coord_unparseable", "lat", "lat '60,17x' is not a number"),
    ("coord_out_of_range", "lat", "lat 160.2 is outside -90..90"),
    ("coord_null_island", "lat", "lat/lon are 0,0 (null island)"),
    ("coord_swapped", "lat", "lat and lon exchanged (lat ~24.9, lon ~60.2)"),
    ("coord_outlier", "lat", "valid Tampere address and coordinates, ~160 km from all other stops"),
    ("zip_mismatch", "zip", ""),  # description filled in when the row is built
    ("unit_missing", "unit", ""),
    ("duplicate_order_id", "order_id", ""),
    ("duplicate_stop", "address", ""),
    ("window_end_before_start", "window_end", "window 14:00-10:00 ends before it starts"),
    ("window_shorter_than_service", "window_end",
     "window 10:00-10:03 is shorter than the 5 min service"),
    ("window_outside_shifts", "window_start", "window 03:00-04:30 is before every vehicle's shift"),
    ("window_unparseable", "window_start", "window_start 'half past nine' is not a time"),
    ("demand_exceeds_capacity", "weight_kg", "1800 kg is more than any vehicle carries (800 kg)"),
    ("skill_unavailable", "skills", "skill 'crane' is on no vehicle"),
    ("phone_invalid", "phone", "phone '12-abc' is not a phone number"),
    ("email_invalid", "email", "email 'maija.virtanen@' has no domain"),
    ("quantity_negative", "parcels", "parcels is -2"),
    ("quantity_not_numeric", "weight_kg", "weight_kg 'heavy' is not a number"),
]  # fmt: skip


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def ascii_fold(text: str) -> str:
    """'Mäkelä' -> 'makela', for e-mail addresses."""
    table = str.maketrans({"ä": "a", "ö": "o", "å": "a", "é": "e"})
    return text.lower().translate(table)


class Site:
    """One real address with its building, and the units handed out there."""

    def __init__(self, row: dict[str, str]) -> None:
        self.street = row["street"]
        self.housenumber = row["housenumber"]
        self.address = f"{row['street']} {row['housenumber']}"
        self.zip = row["zip"]
        self.lat = float(row["lat"])
        self.lon = float(row["lon"])
        self.building_type = row["building_type"]
        self.levels = float(row["levels"]) if row["levels"] else None
        self.multi_unit = False
        self.units: list[str] = []

    def decide_units(self, rng: random.Random) -> None:
        """Whether the building has flats, and a shuffled list of its units."""
        kind, levels = self.building_type, self.levels
        if kind in RESIDENTIAL:
            self.multi_unit = levels is None or levels >= 2
        elif kind in GENERIC:
            self.multi_unit = levels >= 4 if levels is not None else rng.random() < 0.4
        if not self.multi_unit:
            return
        floors = round(levels) if levels is not None else rng.randint(5, 7)
        per_stair = max(floors - 1, 3) * rng.randint(3, 4)  # flats per staircase
        if rng.random() < 0.3:  # flats numbered without staircases: "as. 7"
            units = [f"as. {n}" for n in range(1, per_stair * 2 + 1)]
        else:  # staircases A, B, C numbered continuously: "A 1".."A 12", "B 13"..
            units = []
            for index, stair in enumerate("ABC"[: rng.randint(1, 3)]):
                units += [f"{stair} {index * per_stair + n}" for n in range(1, per_stair + 1)]
        rng.shuffle(units)
        self.units = units


class Generator:
    """Draws orders; keeps (address, unit, kind, window) unique among them."""

    def __init__(self, rng: random.Random, sites: list[Site], bbox: tuple[float, ...]) -> None:
        self.rng = rng
        self.sites = sites
        self.bbox = bbox  # min_lat, min_lon, max_lat, max_lon
        self.stop_keys: set[tuple[str, str, str, str, str, str]] = set()
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def jitter(self, site: Site) -> tuple[str, str]:
        """The building's point moved by at most MAX_JITTER_M, inside the bbox."""
        min_lat, min_lon, max_lat, max_lon = self.bbox
        while True:
            dist = self.rng.uniform(0.0, MAX_JITTER_M)
            bearing = self.rng.uniform(0.0, 2 * math.pi)
            lat = site.lat + dist * math.cos(bearing) / 111_320.0
            lon = site.lon + dist * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
            lat, lon = round(lat, 6), round(lon, 6)
            if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon:
                return f"{lat:.6f}", f"{lon:.6f}"

    def phone(self) -> str:
        """A Finnish mobile number, mostly international, sometimes national format."""
        while True:
            prefix = self.rng.choice(MOBILE_PREFIXES)
            digits = 8 if self.rng.random() < 0.1 else 7
            subscriber = str(self.rng.randint(1, 9)) + "".join(
                str(self.rng.randint(0, 9)) for _ in range(digits - 1)
            )
            if (prefix, subscriber) in self.phones:
                continue
            self.phones.add((prefix, subscriber))
            if self.rng.random() < 0.12:
                return f"0{prefix} {subscriber}"
            return f"+358 {prefix} {subscriber}"

    def email(self) -> str:
        """firstname.lastname@example.fi style, unique."""
        while True:
            first = ascii_fold(self.rng.choice(FIRST_NAMES))
            last = ascii_fold(self.rng.choice(LAST_NAMES))
            style = self.rng.random()
            if style < 0.7:
                local = f"{first}.{last}"
            elif style < 0.85:
                local = f"{first[0]}.{last}"
            else:
                local = f"{first}.{last}{self.rng.randint(1, 99)}"
            address = f"{local}@{self.rng.choice(EMAIL_DOMAINS)}"
            if address not in self.emails:
                self.emails.add(address)
                return address

    def load(self, parcels: int, cold: bool) -> tuple[str, str]:
        """Weight (kg, 1 decimal, 0.2-25) and volume (l, 1-80) for the parcels."""
        low, high = (2.0, 8.0) if cold else (0.2, 7.5)
        weight = sum(self.rng.uniform(low, high) for _ in range(parcels))
        weight = min(max(weight, 0.2), 25.0)
        volume = weight * self.rng.uniform(1.5, 3.5) + parcels * self.rng.randint(1, 6)
        volume = min(max(round(volume), 1), 80)
        return f"{weight:.1f}", str(volume)

    def order(
        self, site: Site, kind: str | None = None, skills: str | None = None
    ) -> dict[str, str]:
        """One clean order at ``site``."""
        rng = self.rng
        if kind is None:
            kind = "pickup" if rng.random() < PICKUP_SHARE else "delivery"
        if skills is None:
            skills = ""
            if kind == "delivery":
                draw = rng.random()
                skills = "cold" if draw < 0.07 else "id_check" if draw < 0.10 else ""
        unit = site.units.pop() if site.multi_unit else ""
        pool = EARLY_WINDOWS if skills == "id_check" else WINDOWS
        for _ in range(200):
            if rng.random() < NO_WINDOW_SHARE:
                start, end = "", ""
            else:
                start, end, _weight = rng.choices(pool, weights=[w[2] for w in pool])[0]
            key = (site.address, unit, site.zip, kind, start, end)
            if key not in self.stop_keys:
                break
        else:  # pragma: no cover - the pool is far larger than orders per site
            raise RuntimeError(f"no free window left at {site.address}")
        self.stop_keys.add(key)
        parcels = rng.choices([1, 2, 3], weights=[60, 28, 12])[0]
        weight, volume = self.load(parcels, skills == "cold")
        service = rng.randint(3, 5) if kind == "pickup" else rng.randint(2, 6)
        priority = rng.choices([0, 1, 2], weights=[90, 7, 3])[0]
        lat, lon = self.jitter(site)
        notes = ""
        if rng.random() < 0.15:
            pool_notes = (
                PICKUP_NOTES
                if kind == "pickup"
                else HOME_NOTES
                if site.multi_unit
                else BUSINESS_NOTES
            )
            notes = rng.choice(pool_notes).format(code=rng.randint(1000, 9999))
        return {
            "order_id": "",
            "kind": kind,
            "address": site.address,
            "unit": unit,
            "zip": site.zip,
            "city": CITY,
            "lat": lat,
            "lon": lon,
            "window_start": start,
            "window_end": end,
            "service_min": str(service),
            "parcels": str(parcels),
            "weight_kg": weight,
            "volume_l": volume,
            "skills": skills,
            "priority": str(priority),
            "phone": self.phone(),
            "email": self.email() if rng.random() < 0.92 else "",
            "notes": notes,
        }


def read_sites(path: Path) -> tuple[list[Site], tuple[float, float, float, float]]:
    """Usable addresses (area postcode) and the bounding box of all addresses."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lats = [float(r["lat"]) for r in rows]
    lons = [float(r["lon"]) for r in rows]
    bbox = (min(lats), min(lons), max(lats), max(lons))
    per_zip = Counter(r["zip"] for r in rows if r["zip"])
    usable = [
        Site(r)
        for r in rows
        if r["zip"]
        and r["zip"] not in ORGANISATION_ZIPS
        and per_zip[r["zip"]] >= MIN_ADDRESSES_PER_ZIP
    ]
    centres = {
        code: median_point([(s.lat, s.lon) for s in usable if s.zip == code])
        for code in sorted({s.zip for s in usable})
    }
    usable = [
        s for s in usable if haversine_m(s.lat, s.lon, *centres[s.zip]) <= MAX_FROM_ZIP_CENTRE_M
    ]
    return usable, bbox


def median_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Component-wise median of (lat, lon) points."""
    return statistics.median(p[0] for p in points), statistics.median(p[1] for p in points)


def build(rng: random.Random) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The order rows (ids set) and the planted-defect rows."""
    sites, bbox = read_sites(ADDRESSES)
    for site in sites:
        site.decide_units(rng)
    gen = Generator(rng, sites, bbox)

    # Where the defects go: one per block of rows, scattered, none in the first 10.
    n_defects = len(DEFECTS)
    block = (N_ROWS - 10) // n_defects
    positions = [10 + i * block + rng.randrange(block) for i in range(n_defects)]
    codes = [d[0] for d in DEFECTS]
    rng.shuffle(codes)
    slot_code = dict(zip(positions, codes, strict=True))

    # Clean orders: several per apartment block, fewer at shops and offices.
    n_clean = N_ROWS - n_defects
    weights = [5 if s.multi_unit else 1 for s in sites]
    clean = []
    while len(clean) < n_clean:
        site = rng.choices(sites, weights=weights)[0]
        if site.multi_unit and len(site.units) < 3:  # keep spare units for planted rows
            continue
        clean.append(gen.order(site))

    clean_iter = iter(clean)
    slots: list[dict[str, str] | None] = [
        None if i in slot_code else next(clean_iter) for i in range(N_ROWS)
    ]
    assert next(clean_iter, None) is None

    def earlier_clean(position: int, want_window: bool = False) -> dict[str, str]:
        candidates = [
            row
            for i, row in enumerate(slots[:position])
            if i not in slot_code and row is not None and (row["window_start"] or not want_window)
        ]
        return rng.choice(candidates)

    def row_number(row: dict[str, str]) -> int:
        return next(i for i, other in enumerate(slots) if other is row) + 2

    by_site = {s.address: s for s in sites}
    zip_counts = Counter(row["zip"] for row in clean)
    top_zip = zip_counts.most_common(1)[0][0]
    top_centre = median_point([(s.lat, s.lon) for s in sites if s.zip == top_zip])
    described = {code: (fld, text) for code, fld, text in DEFECTS}
    defects: list[dict[str, str]] = []
    dup_id_of: dict[int, dict[str, str]] = {}

    for position in sorted(slot_code):
        code = slot_code[position]
        fld, text = described[code]
        row: dict[str, str]
        if code == "duplicate_stop":
            original = earlier_clean(position, want_window=True)
            row = dict(original)
            parcels = int(original["parcels"]) % 3 + 1
            row["parcels"] = str(parcels)
            row["weight_kg"], row["volume_l"] = gen.load(parcels, original["skills"] == "cold")
            row["notes"] = ""
            text = (
                f"same address, unit, zip, kind and window as row "
                f"{row_number(original)} under a new id"
            )
        elif code == "duplicate_order_id":
            original = earlier_clean(position)
            row = gen.order(rng.choice([s for s in sites if s.address != original["address"]]))
            dup_id_of[position] = original
            text = f"re-uses the order id of row {row_number(original)} for another stop"
        elif code == "unit_missing":
            counts = Counter(r["address"] for r in clean if r["unit"])
            address = min(counts, key=lambda a: (-counts[a], a))
            row = gen.order(by_site[address])
            row["unit"] = ""
            text = f"no unit at {address}, a block where {counts[address]} other orders carry one"
        elif code == "zip_mismatch":
            candidates = [s for s in sites if s.zip != top_zip and zip_counts[s.zip] >= 3]
            far = max(candidates, key=lambda s: (haversine_m(s.lat, s.lon, *top_centre), s.address))
            row = gen.order(far, kind="delivery")
            distance = haversine_m(far.lat, far.lon, *top_centre)
            row["zip"] = top_zip
            text = (
                f"zip {top_zip} but the stop is {far.address} (real zip {far.zip}), "
                f"{distance:.0f} m from the centre of zip {top_zip}'s addresses"
            )
        elif code == "coord_outlier":
            row = gen.order(rng.choice([s for s in sites if not s.multi_unit]), kind="delivery")
            row.update(
                address="Hämeenkatu 10", unit="", zip="33100", city="Tampere",
                lat="61.497800", lon="23.761000",
            )  # fmt: skip
        else:
            skills = "" if code == "skill_unavailable" else None
            row = gen.order(rng.choice(sites), kind="delivery", skills=skills)
            if code == "coord_missing":
                row["lat"], row["lon"] = "", ""
            elif code == "coord_unparseable":
                row["lat"] = row["lat"][:5].replace(".", ",") + "x"
            elif code == "coord_out_of_range":
                row["lat"] = "160.2"
            elif code == "coord_null_island":
                row["lat"], row["lon"] = "0.0", "0.0"
            elif code == "coord_swapped":
                row["lat"], row["lon"] = row["lon"], row["lat"]
            elif code == "window_end_before_start":
                row["window_start"], row["window_end"] = "14:00", "10:00"
            elif code == "window_shorter_than_service":
                row["window_start"], row["window_end"], row["service_min"] = "10:00", "10:03", "5"
            elif code == "window_outside_shifts":
                row["window_start"], row["window_end"] = "03:00", "04:30"
            elif code == "window_unparseable":
                row["window_start"], row["window_end"] = "half past nine", "12:00"
            elif code == "demand_exceeds_capacity":
                row["weight_kg"] = "1800.0"
            elif code == "skill_unavailable":
                row["skills"] = "crane"
            elif code == "phone_invalid":
                row["phone"] = "12-abc"
            elif code == "email_invalid":
                row["email"] = "maija.virtanen@"
            elif code == "quantity_negative":
                row["parcels"] = "-2"
            elif code == "quantity_not_numeric":
                row["weight_kg"] = "heavy"
            else:  # pragma: no cover
                raise AssertionError(code)
        slots[position] = row
        defects.append({"row": str(position + 2), "code": code, "field": fld, "description": text})

    orders = [row for row in slots if row is not None]
    assert len(orders) == N_ROWS
    next_id = FIRST_ID
    for position, row in enumerate(orders):
        if position in dup_id_of:
            continue
        row["order_id"] = f"HEL-{next_id:06d}"
        next_id += 1
    for position, original in dup_id_of.items():
        orders[position]["order_id"] = original["order_id"]
    return orders, defects


def fleet() -> list[dict[str, str]]:
    """One depot, 4 vans on two shifts and 3 cargo bikes."""
    vans = [
        ("VAN-01", "07:30", "16:00", "11:00", "13:30", "cold"),
        ("VAN-02", "11:30", "20:00", "15:00", "17:30", "cold"),
        ("VAN-03", "07:30", "16:00", "11:00", "13:30", "id_check"),
        ("VAN-04", "11:30", "20:00", "15:00", "17:30", ""),
    ]
    rows = []
    for vehicle_id, start, end, b_start, b_end, skills in vans:
        rows.append(
            {
                "vehicle_id": vehicle_id, "depot_id": DEPOT_ID, "depot_lat": DEPOT_LAT,
                "depot_lon": DEPOT_LON, "profile": "van", "shift_start": start,
                "shift_end": end, "max_duration_min": "", "break_start": b_start,
                "break_end": b_end, "break_min": "30", "capacity_parcels": "120",
                "capacity_kg": "800", "capacity_l": "6000", "cost_fixed": "60",
                "cost_per_km": "0.35", "cost_per_hour": "32", "skills": skills,
            }
        )  # fmt: skip
    for n in range(1, 4):
        rows.append(
            {
                "vehicle_id": f"BIKE-0{n}", "depot_id": DEPOT_ID, "depot_lat": DEPOT_LAT,
                "depot_lon": DEPOT_LON, "profile": "bike", "shift_start": "08:00",
                "shift_end": "16:00", "max_duration_min": "420", "break_start": "11:30",
                "break_end": "13:00", "break_min": "30", "capacity_parcels": "25",
                "capacity_kg": "120", "capacity_l": "500", "cost_fixed": "15",
                "cost_per_km": "0.0", "cost_per_hour": "28", "skills": "",
            }
        )  # fmt: skip
    return rows


def write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Write a CSV with Unix line ends."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> int:
    orders, defects = build(random.Random(SEED))
    write(HERE / "orders.csv", ORDER_COLUMNS, orders)
    write(HERE / "fleet.csv", FLEET_COLUMNS, fleet())
    write(HERE / "planted_defects.csv", DEFECT_COLUMNS, defects)
    print(f"{len(orders)} orders, {len(defects)} planted defects -> {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
