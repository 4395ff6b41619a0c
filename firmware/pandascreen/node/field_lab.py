"""The field test's lab (node/fieldtest.py): network namespaces on one bridge, and the processes
run in them with every line of their logs timed as it came.

Why a module of its own: the scenario (what is started, changed, cut and measured) reads apart
from the plumbing that makes and removes namespaces and follows a child's output.  Needs root
(``ip netns``); nothing here routes off the bridge.
"""

import os
import re
import subprocess
import sys
import threading
import time


def _ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), check=check, capture_output=True, text=True)


def stamp(at):
    """``at`` (seconds since the epoch) as local ``HH:MM:SS.mmm`` for a log line; the
    milliseconds are cut, never rounded up into the next second."""
    ms = int(at * 1000)
    return time.strftime("%H:%M:%S", time.localtime(ms // 1000)) + ".%03d" % (ms % 1000)


def stop_processes(popens, grace):
    """Ends each of ``popens`` (``subprocess.Popen``s): SIGTERM to all at once, ``grace`` seconds
    together to end, then SIGKILL to the rest."""
    running = [p for p in popens if p.poll() is None]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + grace
    for p in running:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


class Lab:
    """The namespaces and the bridge; ``close()`` removes all of them."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.hub = prefix + "hub"
        self.spaces = []
        _ip("netns", "add", self.hub)
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub, "link", "set", "br0", "up")
        _ip("-n", self.hub, "link", "set", "lo", "up")

    def _hub_end(self, i):
        return "ps%s%d" % (self.prefix[-3:], i)

    def add(self, i):
        ns = "%s%d" % (self.prefix, i)
        _ip("netns", "add", ns)
        self.spaces.append(ns)
        _ip("link", "add", self._hub_end(i), "netns", self.hub, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("-n", self.hub, "link", "set", self._hub_end(i), "master", "br0")
        _ip("-n", self.hub, "link", "set", self._hub_end(i), "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", "10.77.%d.%d/16" % (i // 250, i % 250 + 2), "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
        return ns

    def link(self, i, up):
        _ip("-n", self.hub, "link", "set", self._hub_end(i), "up" if up else "down")

    def close(self):
        for ns in self.spaces + [self.hub]:
            _ip("netns", "del", ns, check=False)


LIVE_LINE = re.compile(r"peer (\w+)(?: \(\w+\))?: synced, .*; live$")
# a session that had reached the log sync or live mode, ended for a reason
TORN_DOWN = re.compile(r"stopped answering|connection lost(?! (?:during|right after) the topic handshake)|: closed:|evict"
                       r"|closed at the live session lifetime")
# a session that never carried a link: the peer did not take up the topic (the fleet topic with a
# key outside the group), or the twin of a crossed dial (the other one stays)
NOT_TAKEN_UP = re.compile(r"(?:during|right after) the topic handshake|second live session")


def compile_project():
    """Compile the project's modules into their ``__pycache__`` (git ignores it), as on a screen:
    pip compiles a wheel's modules when it installs it, so a screen never compiles them at start.
    A clone (an editable install, often run with ``PYTHONDONTWRITEBYTECODE``) would compile every
    module of the project in every process at every start, which a field test must not count
    into a screen's cold start.  Libraries in the venv were compiled when pip installed them."""
    import pandascreen
    import pandascreen_host
    subprocess.run([sys.executable, "-m", "compileall", "-q"] +
                   [os.path.dirname(m.__file__) for m in (pandascreen, pandascreen_host)],
                   check=True, capture_output=True)


class Proc:
    """One child in a namespace; keeps its last lines and when each line came."""

    def __init__(self, ns, argv, name, log_dir):
        self.name = name
        self.log = open(os.path.join(log_dir, name + ".log"), "w")
        env = dict(os.environ, PYTHONUNBUFFERED="1")  # lines as they happen: their time is measured
        self.p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = []  # (time.time(), line)
        self.live_peers = set()  # peers this process had a live sync with
        self.torn_down = []  # when a line ended a session for a reason (``TORN_DOWN``)
        self.not_taken_up = []  # when a line ended a session that never carried a link (``NOT_TAKEN_UP``)
        self.tracebacks = 0  # lines that show a traceback or a task error left unretrieved, all of them
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            at = time.time()
            self.lines.append((at, line.rstrip()))
            del self.lines[:-200]
            live = LIVE_LINE.search(line)
            if live:
                self.live_peers.add(live.group(1))
            if "Traceback" in line or "never retrieved" in line or "Task was destroyed" in line:
                self.tracebacks += 1
            if TORN_DOWN.search(line):
                self.torn_down.append(at)
            elif NOT_TAKEN_UP.search(line):
                self.not_taken_up.append(at)
            self.log.write("%s %s" % (stamp(at), line))
            self.log.flush()

    def when(self, pattern, after=0.0):
        """Time of the first line matching ``pattern`` seen after ``after`` (None if none yet)."""
        for at, line in list(self.lines):
            if at >= after and re.search(pattern, line):
                return at
        return None

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.p.pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def rss_mb(self):
        with open("/proc/%d/status" % self.p.pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def stop(self):
        stop_processes([self.p], 5)
        self.log.close()
