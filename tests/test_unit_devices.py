"""The screen's unit lets it open every output a screen kind can have, and its buttons.

``DeviceAllow=`` in the unit closes every other device node (systemd's ``DevicePolicy=auto``
once any ``DeviceAllow=`` is set), and the unit's user reaches a node only through the group
Raspberry Pi OS gives it (mode 0660).  An HDMI screen writes ``/dev/fb0``: with neither
``char-fb`` nor the ``video`` group it could not open its display and systemd restarted it
every 5 s, showing nothing.
"""

from pandascreen.core import screens
from pandascreen.node.install import unit_settings as service_settings

# What each bus of core/screens.py opens on Raspberry Pi OS: (the device class as
# /proc/devices names it, for DeviceAllow=char-NAME; the group udev gives those nodes), read from
# the drivers' and libraries' sources: a kind on a new bus fails here until its devices are named.
# luma drives an SPI OLED's DC and reset pins through whichever RPi.GPIO is installed: apt's
# python3-rpi.gpio maps /dev/gpiomem (bcm2835-gpiomem; rpi-gpiomem on newer kernels), the
# rpi-lgpio drop-in opens /dev/gpiochip*.  Inky uses gpiod (/dev/gpiochip*).
OPENS = {
    "i2c": [("i2c", "i2c")],                                    # /dev/i2c-1
    "spi": [("spi", "spi"), ("gpiochip", "gpio"),               # /dev/spidev0.0; DC, reset, busy pins
            ("bcm2835-gpiomem", "gpio"), ("rpi-gpiomem", "gpio"),  # /dev/gpiomem: luma's DC and reset
            ("i2c", "i2c")],                                    # an Inky's EEPROM: which panel it is
    "hdmi": [("fb", "video")],                                  # /dev/fb0
}
BUTTONS = [("gpiochip", "gpio")]                                # /dev/gpiochip0 (gpiochip4 on a Pi 5)


def test_every_output_and_the_buttons_are_allowed_and_reachable_by_the_units_groups():
    s = service_settings()
    allowed = {line.split()[0] for line in s["DeviceAllow"] if "w" in line.split()[1]}
    groups = set(" ".join(s["SupplementaryGroups"]).split())
    needed = {(kind, dev, group) for kind, row in screens.SCREENS.items()
              for dev, group in OPENS[row[screens.COLUMNS.index("bus")]]}
    needed |= {("buttons", dev, group) for dev, group in BUTTONS}
    missing = sorted((kind, dev, group) for kind, dev, group in needed
                     if "char-" + dev not in allowed or group not in groups)
    assert missing == []
