"""The ``lang`` parameter: it translates ``weather[].description`` only (OpenWeatherMap's rule).

German, French and Spanish (``es`` or OpenWeatherMap's ``sp``) cover every condition the mock
generates; any other language, and any id without a translation, falls back to English.
"""

from __future__ import annotations

from mock_owm.conditions import CONDITIONS

_DE = {
    200: "Gewitter mit leichtem Regen", 201: "Gewitter mit Regen", 202: "Gewitter mit Starkregen",
    300: "leichter Nieselregen", 301: "Nieselregen",
    500: "leichter Regen", 501: "mäßiger Regen", 502: "starker Regen", 503: "sehr starker Regen",
    504: "extremer Regen", 511: "Eisregen",
    600: "leichter Schneefall", 601: "Schnee", 602: "starker Schneefall", 611: "Schneeregen",
    612: "leichter Schneeregenschauer", 613: "Schneeregenschauer",
    701: "trüb", 741: "Nebel",
    800: "klarer Himmel", 801: "ein paar Wolken", 802: "mäßig bewölkt",
    803: "überwiegend bewölkt", 804: "bedeckt",
}
_FR = {
    200: "orage et pluie fine", 201: "orage et pluie", 202: "orage et fortes pluies",
    300: "bruine légère", 301: "bruine",
    500: "légère pluie", 501: "pluie modérée", 502: "forte pluie", 503: "pluie très forte",
    504: "pluie extrême", 511: "pluie verglaçante",
    600: "légères chutes de neige", 601: "neige", 602: "fortes chutes de neige",
    611: "neige fondue", 612: "légères averses de neige fondue", 613: "averses de neige fondue",
    701: "brume", 741: "brouillard",
    800: "ciel dégagé", 801: "peu nuageux", 802: "partiellement nuageux", 803: "nuageux",
    804: "couvert",
}
_ES = {
    200: "tormenta con lluvia ligera", 201: "tormenta con lluvia",
    202: "tormenta con lluvia intensa",
    300: "llovizna ligera", 301: "llovizna",
    500: "lluvia ligera", 501: "lluvia moderada", 502: "lluvia de gran intensidad",
    503: "lluvia muy fuerte", 504: "lluvia extrema", 511: "lluvia helada",
    600: "nevada ligera", 601: "nieve", 602: "nevada intensa", 611: "aguanieve",
    612: "chubascos ligeros de aguanieve", 613: "chubascos de aguanieve",
    701: "neblina", 741: "niebla",
    800: "cielo claro", 801: "algo de nubes", 802: "nubes dispersas", 803: "muy nuboso",
    804: "nubes",
}
TRANSLATIONS: dict[str, dict[int, str]] = {"de": _DE, "fr": _FR, "es": _ES, "sp": _ES}
DEFAULT_LANG = "en"


def normalise_lang(lang: str | None) -> str:
    """The language whose descriptions will be sent: a supported code, else English."""
    code = (lang or "").strip().lower()
    return code if code in TRANSLATIONS else DEFAULT_LANG


def describe(condition_id: int, lang: str) -> str:
    table = TRANSLATIONS.get(lang)
    if table is not None and condition_id in table:
        return table[condition_id]
    return CONDITIONS[condition_id].description
