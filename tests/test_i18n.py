"""Labels in the festival's language (node/i18n.py) and the glyphs they need (core/font.py)."""

from pandascreen.core import font
from pandascreen.node import i18n

TABLES = ("en", "de", "fr")


def test_english_words_agree_with_what_an_english_screen_shows_without_them():
    from pandascreen.core import clock, layout
    en = i18n.labels("en")
    assert (en["no_more"], en["thats_all"], en["no_schedule"]) == (layout.NO_MORE, layout.THATS_ALL, layout.NO_SCHEDULE)
    assert (en["clock_not_set"], en["synced"], en["offline"]) == (clock.CLOCK_NOT_SET, clock.SYNCED, clock.OFFLINE)
    assert [i18n.weekday(d) for d in range(7)] == list(layout.WEEKDAYS)


def test_every_language_has_every_english_label():
    for lang in ("de", "fr"):
        words = i18n._words(lang)
        assert set(words["labels"]) == set(i18n.labels("en")), lang
        assert len(words["weekdays"]) == len(words["weekdays_long"]) == 7


def test_every_label_is_drawn_without_a_question_mark_and_each_letter_has_its_own_glyph():
    text = "".join("".join(i18n.labels(lang).values()) for lang in TABLES)
    text += "".join(i18n.weekday(d, lang, long) for lang in TABLES for d in range(7) for long in (False, True))
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
    assert i18n.labels("de_AT")["now"] == "Jetzt"
    assert i18n.labels("xx")["now"] == "Now"
    assert i18n.labels("fr")["cancelled"] == "annulé"


def test_weekdays_and_clock_by_locale():
    assert i18n.weekday(0) == "Thu"  # 1970-01-01
    assert i18n.weekday(1, "de") == "Fr" and i18n.weekday(2, "fr", long=True) == "samedi"
    assert i18n.clock(17 * 60 + 5, "de") == "17:05"
    assert i18n.clock(17 * 60 + 5, "en_US") == "5:05pm"
    assert i18n.clock(0, "en_US") == "12:00am" and i18n.clock(12 * 60, "en_US") == "12:00pm"


def test_translate_a_built_view():
    from pandascreen.testing.festival import GOLDEN_DAY as DAY, golden_schedule
    from pandascreen.core import layout
    sched = golden_schedule()
    v = i18n.translate(layout.build_view(sched, 0, DAY + 600, "synced 14:05"), "de")
    assert v["now"]["left"] == "noch 50m" and v["label_now"] == "JETZT" and v["status"] == "synchronisiert 14:05"
    v = i18n.translate(layout.build_view(sched, 0, DAY + 600, "synced", absolute=True), "fr")
    assert v["now"]["left"] == "jusqu'à 15:00" and v["status"] == "synchronisé"
    v = i18n.translate(layout.build_view(sched, 0, DAY + 600), "en_US")
    assert v["clock"] == "2:10pm" and v["now"]["time"] == "2:00pm\u20133:00pm"
    late = i18n.translate(layout.build_view(sched, 0, DAY + 4 * 3600), "de")
    assert late["message"] == "Heute keine Veranstaltungen mehr"
    english = layout.build_view(sched, 0, DAY + 600)
    assert i18n.translate(dict(english), "en") == english
    # drawn: German labels reach the canvas without a missing glyph
    from pandascreen.node import display
    img = display.render(i18n.translate(layout.build_view(sched, 0, DAY + 600), "de"), "inky_phat_212x104")
    assert img.size == (212, 104)


def test_controller_shows_the_festivals_language_unless_the_config_says_otherwise():
    from pandascreen.core import operation, schema
    from pandascreen.core.controller import Controller
    from pandascreen.core.store import MemoryStore
    seed = bytes(range(1, 33))
    t = 1784376000
    store = MemoryStore()
    store.publish_many(seed, [
        schema.make_body("festival", "create", "fest", {"name": "Fête", "utc_offset": 120, "language": "fr"}),
        schema.make_body("venue", "create", "v", {"name": "Scène"}),
        schema.make_body("event", "create", "e", {"venue": "v", "title": "Bal", "start": t, "end": t + 3600}),
    ], operation.log_id_for_festival("fest"), (t - 3600) * 1000000)
    views = []
    ctl = Controller({"festival_id": "fest"}, store, render=views.append, translate=i18n.translate)
    ctl.redraw(t + 600)
    assert views[-1]["label_now"] == "EN COURS" and views[-1]["now"]["left"] == "encore 50m"
    ctl = Controller({"festival_id": "fest"}, store, render=views.append)  # a board: English, no words
    ctl.redraw(t + 600)
    assert "label_now" not in views[-1] and views[-1]["now"]["left"] == "50m left"
    ctl = Controller({"festival_id": "fest", "language": "de"}, store, render=views.append, translate=i18n.translate)
    ctl.redraw(t + 600)
    assert views[-1]["now"]["left"] == "noch 50m"


def test_every_status_word_a_screen_can_show_is_in_its_language():
    """The status line's fixed words, wherever the screen sets them: a German screen whose buttons
    cannot be read, or whose store was reset, says so in German."""
    from pandascreen.node.buttons import BUTTONS_OFF
    from pandascreen.node.snapshot import NOTICE
    for lang, words in (("de", ("Tasten aus", "Daten neu: Abgleich")), ("fr", ("sans boutons", "base neuve : synchro"))):
        status = i18n.translate({"status": "%s | %s" % (NOTICE, BUTTONS_OFF)}, lang)["status"]
        assert status == "%s | %s" % (words[1], words[0]), (lang, status)
    assert i18n.translate({"status": "%s | %s" % (NOTICE, BUTTONS_OFF)}, "en")["status"] == "%s | %s" % (NOTICE, BUTTONS_OFF)


def test_every_status_word_fits_the_status_line_of_a_128_pixel_oled_in_every_language():
    """A store reset said in German ("Speicher neu: Abgleich") ran past a 128-pixel OLED and was cut
    to "Speicher neu: Abglei..."; the English fits.  A status word alone must fit (126 pixels)."""
    from pandascreen.core import clock
    words = [clock.STORE_RESET, clock.BUTTONS_OFF, clock.DISK_FULL, clock.CANNOT_STORE, clock.FORKED,
             clock.CLOCK_NOT_SET, clock.OFFLINE, clock.NO_PEERS]
    for lang in TABLES:
        for word in words:
            shown = i18n.translate({"status": word}, lang)["status"]
            assert font.text_width(shown) <= 126, (lang, shown)
