# pandascreen for MicroPython boards (Pico W + SSD1306): a satellite that shows the signed feed of
# the nearest full peer (board/board.py). Copied to the board by `pandascreen-host flash`; reads
# /config.json written by `pandascreen-host provision` (feed_peers: the feed servers to ask); the last
# good feed is kept in /last_feed and shown after a reboot until a peer answers.
# Time: NTP from the config's "ntp" hosts (`provision --ntp`), then the feed servers (Pi screens, the
# organiser's laptop), then pool.ntp.org; without any, the clock is set from a signed feed (board.py).
# NTP is asked from the loop, never inside a fetch: one host per request (at most SOCKET_TIMEOUT), the
# next host each time, the wait after an unanswered request doubling from NTP_FIRST_RETRY to NTP_MAX_RETRY
# (NtpRetry), so a festival LAN without a time server costs one second every 10 minutes.
# Nothing waits for the network: the first frame (the feed saved on flash) is drawn before Wi-Fi is
# up, Wi-Fi joins in the background, and a fetch is bounded by board.FETCH_DEADLINE in total with
# socket calls of at most SOCKET_TIMEOUT.  A hardware watchdog (WATCHDOG_MS) is fed by the loop and
# between socket calls, so a hang of any kind resets the board within WATCHDOG_MS; a loop that keeps
# failing resets it itself (board.Satellite.restart).
import time

import machine

from pandascreen.core import config as configmod, feed
from pandascreen.board.board import Satellite
from pandascreen.board.saved_feed import FeedFile, FeedState
from pandascreen.board.ssd1306 import SSD1306
from pandascreen.core.clock import TimeFile


def log(msg):
    print("[pandascreen] %s" % msg)


NTP_SYNCED = [False]
WDT = [None]  # the watchdog main() started, fed between blocking calls too
WATCHDOG_MS = 8000  # the RP2040's longest watchdog period (8.3 s): a hang resets the board within 8 s
SOCKET_TIMEOUT = 1  # s per socket call; the fetch retries within board.FETCH_DEADLINE
NTP_FIRST_RETRY = 2  # s after the first NTP request that got no answer
NTP_MAX_RETRY = 600  # s: the longest wait between two NTP requests


def watchdog():
    """The hardware watchdog, or a stand-in whose ``feed`` does nothing on a port without one."""
    try:
        return machine.WDT(timeout=WATCHDOG_MS)
    except (AttributeError, ValueError, OSError) as e:
        log("no watchdog: %s" % e)

        class NoWatchdog:
            def feed(self):
                pass
        return NoWatchdog()


def ntp_hosts(cfg):
    hosts = list(cfg.get("ntp") or ())
    for host, _ in cfg.get("feed_addrs") or ():
        if host not in hosts:
            hosts.append(host)
    return hosts + ["pool.ntp.org"]


class NtpRetry:
    """When the next NTP request is due and which host it asks (``ntp_hosts``, in turn).

    WHY: on a festival LAN without a time server every request costs its whole timeout while the
    loop waits (buttons, redraws, the fetch's pace).  So one request is one host, at most
    SOCKET_TIMEOUT, like one socket call of a fetch, made between loop turns; after one that got no
    answer the next waits twice as long as the last wait, from NTP_FIRST_RETRY up to NTP_MAX_RETRY.
    Times are ``time.ticks_ms`` (the RTC jumps when it is set)."""

    def __init__(self):
        self.turn = 0  # requests made: the next one asks host number ``turn`` (mod the hosts)
        self.last = None  # ticks_ms of the last request
        self.wait = 0  # s after the last request before the next

    def due(self, ticks):
        return self.last is None or time.ticks_diff(ticks, self.last) >= self.wait * 1000

    def ask(self, cfg):
        """One request to the next host; True if it set the clock."""
        import ntptime
        hosts = ntp_hosts(cfg)
        host = hosts[self.turn % len(hosts)]
        self.turn += 1
        try:
            ntptime.host = host
            ntptime.timeout = SOCKET_TIMEOUT
            ntptime.settime()
            return True
        except Exception as e:  # any: a time server's answer is untrusted input
            self.wait = min(max(2 * self.wait, NTP_FIRST_RETRY), NTP_MAX_RETRY)
            log("no NTP time from %s: %s (next try in %d s)" % (host, e, self.wait))
            return False
        finally:
            self.last = time.ticks_ms()


NTP = NtpRetry()


def set_time_ntp(cfg):
    """Between two loop turns: one NTP request when one is due, Wi-Fi is up and the clock is not set."""
    if NTP_SYNCED[0] or WLAN[0] is None or not WLAN[0].isconnected() or not NTP.due(time.ticks_ms()):
        return
    if NTP.ask(cfg):
        NTP_SYNCED[0] = True
        log("clock set by NTP")


def set_rtc(t):
    tm = time.gmtime(int(t))
    machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))


WLAN = [None]


def connect_wifi(cfg):
    """True when Wi-Fi is up; else starts joining (once, the chip retries by itself) and returns
    False at once: the loop asks again at its next fetch."""
    wifi = cfg.get("wifi") or {}
    if not wifi.get("ssid"):
        return False
    import network
    if WLAN[0] is None:
        WLAN[0] = network.WLAN(network.STA_IF)
        WLAN[0].active(True)
        WLAN[0].connect(wifi["ssid"], wifi.get("psk", ""))
    wlan = WLAN[0]
    if not wlan.isconnected():
        if wlan.status() in (getattr(network, "STAT_IDLE", 0), getattr(network, "STAT_WRONG_PASSWORD", -3),
                             getattr(network, "STAT_NO_AP_FOUND", -2), getattr(network, "STAT_CONNECT_FAIL", -1)):
            wlan.connect(wifi["ssid"], wifi.get("psk", ""))  # dropped or failed: join again, in the background
        return False
    return True


class SocketConn:
    """A TCP connection with bounded reads: ``readinto`` fills the caller's buffer, never more."""

    def __init__(self, host, port, timeout=SOCKET_TIMEOUT):
        import socket
        addr = socket.getaddrinfo(host, port)[0][-1]
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.connect(addr)  # a peer that does not answer within ``timeout``: OSError, the next one

    def send(self, data):
        mv = memoryview(data)
        while len(mv):
            n = self.sock.send(mv)  # ETIMEDOUT when nothing went: board.py retries within its deadline
            mv = mv[n:]

    def readinto(self, mv):
        return self.sock.readinto(mv)

    def close(self):
        self.sock.close()


def main():
    wdt = WDT[0] = watchdog()
    cfg = configmod.load("/config.json")
    cfg["feed_addrs"] = feed.feed_addrs(cfg)
    scr = cfg.get("screen") or {}
    i2c = machine.I2C(scr.get("i2c_port", 0), sda=machine.Pin(scr.get("sda", 4)), scl=machine.Pin(scr.get("scl", 5)),
                      freq=400000)
    oled = SSD1306(128, 64, i2c, scr.get("address", 0x3C))
    pressed = []

    def connect(host, port):
        # Wi-Fi not (yet) up: this fetch fails at once, the last good feed stays on screen
        if not connect_wifi(cfg):
            raise OSError("no Wi-Fi")
        wdt.feed()
        return SocketConn(host, port)

    def reset():
        try:
            log("resetting")
        except MemoryError:  # the reset matters, not its log line
            pass
        machine.reset()

    board = Satellite(cfg, oled, oled.show, 128, 64, clock=time.time, connect=connect, log=log,
                      time_file=TimeFile("/last_time"), feed_file=FeedFile("/last_feed"),
                      state_file=FeedState("/feed_state"), synced=lambda: NTP_SYNCED[0], set_time=set_rtc,
                      reset=reset, idle=lambda: idle(board, wdt, pressed))
    pins = cfg.get("buttons") or {}
    handlers = []
    for name, delta in (("next", 1), ("prev", -1)):
        if name in pins:
            pin = machine.Pin(pins[name], machine.Pin.IN, machine.Pin.PULL_UP)
            pin.irq(trigger=machine.Pin.IRQ_FALLING, handler=lambda p, d=delta: pressed.append((d, time.ticks_ms())))
            handlers.append(pin)
    while True:
        idle(board, wdt, pressed)
        board.step()
        set_time_ntp(cfg)
        time.sleep_ms(50)


LAST_PRESS = [None]  # ticks_ms of the last press; none yet (ticks wrap: 0 may be half a period away)


def idle(board, wdt, pressed):
    """Feed the watchdog and take the button presses: every loop turn and between the socket calls
    of a fetch.  Debounced by when each press came (the interrupt's time), so two presses that
    waited out a socket call together are still two."""
    wdt.feed()
    while pressed:
        d, at = pressed.pop(0)
        if LAST_PRESS[0] is None or time.ticks_diff(at, LAST_PRESS[0]) > 150:
            board.press(d)
        LAST_PRESS[0] = at


main()
