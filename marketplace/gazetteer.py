"""A built-in gazetteer of Ningxia's county-level divisions and industrial parks.

The platform works offline: sites are placed by picking one of these places (or typing coordinates).
An online geocoder (geopy's Nominatim) is an option, off by default (see ``GEOCODER``).
Coordinates are WGS-84, the county seat or the park's centre, to about a kilometre.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Place:
    key: str
    name_zh: str
    name_en: str
    city: str  # English city key, e.g. "Yinchuan"
    county: str  # English county key, e.g. "Lingwu"
    lat: Decimal
    lon: Decimal
    park: str = ""  # industrial park key, when the place is a park

    def label(self, locale: str | None) -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh


#: City key -> (Chinese, English)
CITIES = {
    "Yinchuan": ("银川市", "Yinchuan"),
    "Shizuishan": ("石嘴山市", "Shizuishan"),
    "Wuzhong": ("吴忠市", "Wuzhong"),
    "Guyuan": ("固原市", "Guyuan"),
    "Zhongwei": ("中卫市", "Zhongwei"),
}

#: (key, Chinese, English, city, lat, lon) of every county-level division.
_COUNTIES = [
    ("Xingqing", "兴庆区", "Xingqing District", "Yinchuan", "38.4740", "106.2880"),
    ("Jinfeng", "金凤区", "Jinfeng District", "Yinchuan", "38.4730", "106.2420"),
    ("Xixia", "西夏区", "Xixia District", "Yinchuan", "38.4920", "106.1560"),
    ("Yongning", "永宁县", "Yongning County", "Yinchuan", "38.2770", "106.2530"),
    ("Helan", "贺兰县", "Helan County", "Yinchuan", "38.5540", "106.3500"),
    ("Lingwu", "灵武市", "Lingwu City", "Yinchuan", "38.0940", "106.3350"),
    ("Dawukou", "大武口区", "Dawukou District", "Shizuishan", "39.0200", "106.3800"),
    ("Huinong", "惠农区", "Huinong District", "Shizuishan", "39.2390", "106.7810"),
    ("Pingluo", "平罗县", "Pingluo County", "Shizuishan", "38.9130", "106.5230"),
    ("Litong", "利通区", "Litong District", "Wuzhong", "37.9800", "106.2000"),
    ("Hongsibu", "红寺堡区", "Hongsibu District", "Wuzhong", "37.4250", "106.0620"),
    ("Yanchi", "盐池县", "Yanchi County", "Wuzhong", "37.7830", "107.4060"),
    ("Tongxin", "同心县", "Tongxin County", "Wuzhong", "36.9800", "105.9140"),
    ("Qingtongxia", "青铜峡市", "Qingtongxia City", "Wuzhong", "38.0210", "106.0790"),
    ("Yuanzhou", "原州区", "Yuanzhou District", "Guyuan", "36.0000", "106.2800"),
    ("Xiji", "西吉县", "Xiji County", "Guyuan", "35.9640", "105.7290"),
    ("Longde", "隆德县", "Longde County", "Guyuan", "35.6250", "106.1110"),
    ("Jingyuan", "泾源县", "Jingyuan County", "Guyuan", "35.4980", "106.3300"),
    ("Pengyang", "彭阳县", "Pengyang County", "Guyuan", "35.8490", "106.6380"),
    ("Shapotou", "沙坡头区", "Shapotou District", "Zhongwei", "37.5200", "105.1800"),
    ("Zhongning", "中宁县", "Zhongning County", "Zhongwei", "37.4920", "105.6850"),
    ("Haiyuan", "海原县", "Haiyuan County", "Zhongwei", "36.5650", "105.6470"),
]

#: (key, Chinese, English, county, lat, lon) of the industrial parks where waste concentrates.
_PARKS = [
    ("Ningdong", "宁东能源化工基地", "Ningdong Energy and Chemical Base", "Lingwu", "38.1000", "106.6300"),
    ("ShizuishanETDZ", "石嘴山经济技术开发区", "Shizuishan Economic and Technological Development Zone",
     "Dawukou", "39.0500", "106.4100"),
    ("Huinong", "惠农工业园区", "Huinong Industrial Park", "Huinong", "39.2700", "106.7600"),
    ("Pingluo", "平罗工业园区", "Pingluo Industrial Park", "Pingluo", "38.9500", "106.5900"),
    ("YinchuanETDZ", "银川经济技术开发区", "Yinchuan Economic and Technological Development Zone",
     "Jinfeng", "38.4300", "106.2000"),
    ("Qingtongxia", "青铜峡工业园区", "Qingtongxia Industrial Park", "Qingtongxia", "37.9300", "105.9200"),
    ("Taiyangshan", "太阳山开发区", "Taiyangshan Development Zone", "Litong", "37.5500", "106.4700"),
    ("Zhongwei", "中卫工业园区", "Zhongwei Industrial Park", "Shapotou", "37.5500", "105.1400"),
    ("Zhongning", "中宁工业园区", "Zhongning Industrial Park", "Zhongning", "37.4700", "105.7300"),
    ("Guyuan", "固原经济开发区", "Guyuan Economic Development Zone", "Yuanzhou", "36.0500", "106.2400"),
]

COUNTIES: dict[str, Place] = {
    key: Place(key, zh, en, city, key, Decimal(lat), Decimal(lon))
    for key, zh, en, city, lat, lon in _COUNTIES
}
PARKS: dict[str, Place] = {}
for _key, _zh, _en, _county, _lat, _lon in _PARKS:
    PARKS[_key] = Place(f"park:{_key}", _zh, _en, COUNTIES[_county].city, _county,
                        Decimal(_lat), Decimal(_lon), park=_key)

#: Every place a user can pick, counties first.
PLACES: dict[str, Place] = {**COUNTIES, **{p.key: p for p in PARKS.values()}}

# Ningxia spans about 35.2-39.4 N, 104.3-107.7 E; with its neighbours' border areas (Inner Mongolia,
# Gansu, Shaanxi) a haul of a few hundred km reaches this box. Where a site may be saved is region.py's rule.
REGION_BOUNDS = (Decimal("34.0"), Decimal("41.5"), Decimal("103.0"), Decimal("109.5"))


def in_region(lat: Decimal, lon: Decimal) -> bool:
    """True when the point lies in Ningxia or its neighbours' border areas."""
    lat_min, lat_max, lon_min, lon_max = REGION_BOUNDS
    return lat_min <= lat <= lat_max and lon_min <= lon <= lon_max


def city_label(city_key: str, locale: str | None) -> str:
    zh, en = CITIES.get(city_key, (city_key, city_key))
    return en if (locale or "").startswith("en") else zh


def county_label(county_key: str, locale: str | None) -> str:
    place = COUNTIES.get(county_key)
    return place.label(locale) if place else county_key


def park_label(park_key: str, locale: str | None) -> str:
    place = PARKS.get(park_key)
    return place.label(locale) if place else park_key


def geocode(query: str, online: bool = False, user_agent: str = "ningxia-waste-exchange") -> Place | None:
    """Find a place by key or name (Chinese or English) in the gazetteer; optionally ask Nominatim.

    The online lookup is off unless the deployment sets ``GEOCODER=nominatim``; it needs a network.
    """
    q = (query or "").strip().lower()
    if not q:
        return None
    for place in PLACES.values():
        if q in {place.key.lower(), place.name_zh.lower(), place.name_en.lower()}:
            return place
    for place in PLACES.values():
        if q in place.name_zh.lower() or q in place.name_en.lower():
            return place
    if online:
        from geopy.geocoders import Nominatim  # imported only when the option is on

        hit = Nominatim(user_agent=user_agent, timeout=5).geocode(query)
        if hit is not None:
            return Place("geocoded", hit.address, hit.address, "", "",
                         Decimal(str(round(hit.latitude, 6))), Decimal(str(round(hit.longitude, 6))))
    return None
