"""Schedule files as office programs save them: a spreadsheet's CSV with semicolons (European
Excel) or in UTF-16 ("Unicode text"), a JSON export saved as Latin-1.  Each is read as the
organiser meant, with a warning where the bytes had to be guessed, never a garbled header."""
import json

from pandascreen_host import importers

ROWS = [["Room", "Date", "Start", "Duration", "Title"], ["Großes Zelt", "2026-07-18", "14:00", "01:00", "Café talk"]]


def _csv(tmp_path, delimiter, encoding):
    path = tmp_path / "program.csv"
    path.write_bytes(("\r\n".join(delimiter.join(r) for r in ROWS) + "\r\n").encode(encoding))
    return str(path)


def _read(path):
    n = importers.load(path, timezone="Europe/Berlin")
    return [(e["title"], n["venues"][0]["name"]) for e in n["events"]], n["warnings"]




def test_csv_files_as_spreadsheets_save_them(tmp_path):
    for delimiter, encoding in ((";", "utf-8"), ("\t", "utf-8"), (",", "utf-16"), (";", "utf-16")):
        events, _ = _read(_csv(tmp_path, delimiter, encoding))
        assert events == [("Café talk", "Großes Zelt")], (delimiter, encoding)


def test_a_latin_1_json_export_is_read_with_a_warning(tmp_path):
    doc = {"schedule": {"conference": {"title": "Fest", "acronym": "fest", "time_zone_name": "Europe/Berlin",
                                        "days": [{"date": "2026-07-18", "rooms": {"Großes Zelt": [{
                                            "guid": "g1", "id": 1, "title": "Café talk", "date": "2026-07-18T14:00:00+02:00",
                                            "start": "14:00", "duration": "01:00", "room": "Großes Zelt"}]}}]}}}
    path = tmp_path / "schedule.json"
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    events, warnings = _read(str(path))
    assert events == [("Café talk", "Großes Zelt")]
    assert any("not UTF-8" in w for w in warnings), warnings


def test_an_error_in_a_record_over_several_lines_names_the_line_it_starts_on(tmp_path):
    """A bad date in a record whose description runs over lines was said at its last line."""
    import pytest
    path = tmp_path / "program.csv"
    path.write_text('Room,Date,Start,Duration,Title,Description\n'
                    'Hall,2026-07-18,14:00,01:00,Good,"one\nline"\n'
                    'Hall,18.07.2026,15:00,01:00,Bad,"two\nmore\nlines"\n', encoding="utf-8")
    with pytest.raises(importers.ScheduleImportError) as e:
        importers.load(str(path), timezone="Europe/Berlin")
    assert "lines 4-6" in str(e.value), str(e.value)


def test_an_error_after_blank_lines_names_one_line(tmp_path):
    import pytest
    path = tmp_path / "program.csv"
    path.write_text("Room,Date,Start,Duration,Title\n\n\nHall,2026-07-18,xx:00,01:00,Bad\n", encoding="utf-8")
    with pytest.raises(importers.ScheduleImportError) as e:
        importers.load(str(path), timezone="Europe/Berlin")
    assert "line 4:" in str(e.value), str(e.value)
