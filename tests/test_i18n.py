"""Labels in the festival's language (core/i18n.py) and the glyphs they need (core/font.py)."""

from pandascreen.core import font, i18n


def test_every_language_has_every_english_label():
    for lang in ("de", "fr"):
        assert set(i18n.LABELS[lang]) == set(i18n.LABELS["en"]), lang


def test_every_label_is_drawn_without_a_question_mark_and_each_letter_has_its_own_glyph():
    text = "".join(v for table in i18n.LABELS.values() for v in table.values())
    text += "".join("".join(names) for names in list(i18n.WEEKDAYS.values()) + list(i18n.WEEKDAYS_LONG.values()))
    drawn = font.normalize(text)
    assert "?" not in drawn  # no label has a question mark: each one here is a letter the font lacks
    for ch in "äöüßéèêàçôîûâùëïÉÈÊÀÄÖÜ":
        assert font.normalize(ch) == ch, ch
    glyphs = [bytes(font._glyph(ch)) for ch in set(drawn) if ch != " "]
    assert len(glyphs) == len(set(glyphs)), "two letters share a glyph"


def test_language_choice_and_fallback():
    assert i18n.language_for("fr", {"language": "de"}) == "fr"
    assert i18n.language_for(None, {"language": "de"}) == "de"
    assert i18n.language_for(None, None) == "en"
    assert i18n.label("de_AT", "now") == "Jetzt"
    assert i18n.label("xx", "now") == "Now"
    assert i18n.labels("fr")["cancelled"] == "annulé"


def test_weekdays_and_clock_by_locale():
    assert i18n.weekday(0) == "Thu"  # 1970-01-01
    assert i18n.weekday(1, "de") == "Fr" and i18n.weekday(2, "fr", long=True) == "samedi"
    assert i18n.clock(17 * 60 + 5, "de") == "17:05"
    assert i18n.clock(17 * 60 + 5, "en_US") == "5:05pm"
    assert i18n.clock(0, "en_US") == "12:00am" and i18n.clock(12 * 60, "en_US") == "12:00pm"
