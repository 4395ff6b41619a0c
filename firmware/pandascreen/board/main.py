# pandascreen for MicroPython boards (Pico W + SSD1306): a satellite that shows the signed feed of
# the nearest full peer (board/board.py). Copied to the board by `pandascreen-host flash`; reads
# /config.json written by `pandascreen-host provision` (feed_peers: the feed servers to ask); the last
# good feed is kept in /last_feed and shown after a reboot until a peer answers.
# Time: NTP from the config's "ntp" hosts (`provision --ntp`), then the feed servers (Pi screens, the
# organiser's laptop), then pool.ntp.org; without any, the clock is set from a signed feed (board.py).
import time

import machine

from pandascreen.core import config as configmod, feed
from pandascreen.board.board import FeedFile, Satellite
from pandascreen.board.ssd1306 import SSD1306
from pandascreen.core.screen import TimeFile


def log(msg):
    print("[pandascreen] %s" % msg)


NTP_SYNCED = [False]


def ntp_hosts(cfg):
    hosts = list(cfg.get("ntp") or ())
    for host, _ in cfg.get("feed_addrs") or ():
        if host not in hosts:
            hosts.append(host)
    return hosts + ["pool.ntp.org"]


def set_time_ntp(cfg):
    import ntptime
    for host in ntp_hosts(cfg):
        try:
            ntptime.host = host
            ntptime.settime()  # one UDP request, ntptime.timeout (1 s) bounded
            NTP_SYNCED[0] = True
            return
        except Exception as e:
            log("no NTP time from %s: %s" % (host, e))


def set_rtc(t):
    tm = time.gmtime(int(t))
    machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))


def connect_wifi(cfg):
    wifi = cfg.get("wifi") or {}
    if not wifi.get("ssid"):
        return False
    import network
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if wlan.isconnected():
        return True
    wlan.connect(wifi["ssid"], wifi.get("psk", ""))
    for _ in range(40):
        if wlan.isconnected():
            break
        time.sleep(0.5)
    if wlan.isconnected() and not NTP_SYNCED[0]:  # (re)connected: ask for the time
        set_time_ntp(cfg)
    return wlan.isconnected()


class SocketConn:
    """A TCP connection with bounded reads: ``readinto`` fills the caller's buffer, never more."""

    def __init__(self, host, port, timeout=15):
        import socket
        addr = socket.getaddrinfo(host, port)[0][-1]
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.connect(addr)

    def send(self, data):
        mv = memoryview(data)
        while len(mv):
            n = self.sock.send(mv)
            mv = mv[n:]

    def readinto(self, mv):
        return self.sock.readinto(mv)

    def close(self):
        self.sock.close()


def main():
    cfg = configmod.load("/config.json")
    cfg["feed_addrs"] = feed.feed_addrs(cfg)
    scr = cfg.get("screen") or {}
    i2c = machine.I2C(scr.get("i2c_port", 0), sda=machine.Pin(scr.get("sda", 4)), scl=machine.Pin(scr.get("scl", 5)),
                      freq=400000)
    oled = SSD1306(128, 64, i2c, scr.get("address", 0x3C))
    connect_wifi(cfg)

    def connect(host, port):
        # Wi-Fi lost: one bounded reconnect per fetch; the last good feed stays on screen meanwhile
        if not connect_wifi(cfg):
            raise OSError("no Wi-Fi")
        return SocketConn(host, port)

    board = Satellite(cfg, oled, oled.show, 128, 64, clock=time.time, connect=connect, log=log,
                      time_file=TimeFile("/last_time"), feed_file=FeedFile("/last_feed"),
                      synced=lambda: NTP_SYNCED[0], set_time=set_rtc)
    pressed = []
    pins = cfg.get("buttons") or {}
    handlers = []
    for name, delta in (("next", 1), ("prev", -1)):
        if name in pins:
            pin = machine.Pin(pins[name], machine.Pin.IN, machine.Pin.PULL_UP)
            pin.irq(trigger=machine.Pin.IRQ_FALLING, handler=lambda p, d=delta: pressed.append(d))
            handlers.append(pin)
    last_press = 0
    while True:
        while pressed:
            d = pressed.pop(0)
            if time.ticks_diff(time.ticks_ms(), last_press) > 150:  # debounce
                board.press(d)
            last_press = time.ticks_ms()
        board.step()
        time.sleep_ms(50)


main()
