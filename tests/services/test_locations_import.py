"""``trail-etl locations import``: the shipped trails file into a weather service, and bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.locations_import import import_locations
from services.schedule_jobs.locations import LocationsFileError
from tests.services.conftest import WeatherService

TRAILS = Path(__file__).resolve().parents[2] / "services" / "data" / "trails.csv"


async def test_the_shipped_trails_import_with_their_traits(weather: WeatherService) -> None:
    first = await import_locations(TRAILS, weather.client, chunk=7)
    assert (first.sent, first.unknown_columns) == (20, ())
    again = await import_locations(TRAILS, weather.client)  # idempotent
    assert again.sent == 20
    mesa = await weather.client.get_location("boulder-mesa")
    assert (mesa["name"], mesa["soil_drainage"], mesa["aspect"], mesa["canopy"]) == (
        "Mesa Trail (Boulder)",
        "well",
        "E",
        "partial",
    )
    assert mesa["elevation_m"] == pytest.approx(1750.0)


async def test_blank_cells_are_unknown_and_names_default_to_ids(
    tmp_path: Path, weather: WeatherService
) -> None:
    path = tmp_path / "few.csv"
    path.write_text("id,name,lat,lon,elevation_m,soil_drainage,aspect,canopy\nt-1,,45.1,7.2,,,,\n")
    assert (await import_locations(path, weather.client)).sent == 1
    stored = await weather.client.get_location("t-1")
    assert stored["name"] == "t-1" and stored["soil_drainage"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,name,lat,lon\nok,A,1,2\nbad,B,91,2\n", "line 3: field 'lat'"),
        ("id,name,lat,lon,aspect\nx,A,1,2,UP\n", "line 2: field 'aspect'"),
        ("id,name,lat\nx,A,1\n", "header lacks column(s) lon"),
    ],
)
async def test_a_bad_row_names_line_and_field(
    tmp_path: Path, weather: WeatherService, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(LocationsFileError, match=None) as info:
        await import_locations(path, weather.client, chunk=1)
    assert message in str(info.value)
