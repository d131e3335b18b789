"""docs/controls.md is generated from the markers and must match them."""

from fixtures.reports import catalogue


def test_the_control_catalogue_is_up_to_date():
    assert catalogue.CATALOGUE.read_text() == catalogue.render(), "run `python -m fixtures.reports.catalogue`"


def test_every_control_is_in_the_catalogue_once():
    ids = [line.split("|")[1].strip() for line in catalogue.render().splitlines() if line.startswith("| ") and "-0" in line]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
