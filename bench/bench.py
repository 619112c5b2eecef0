#!/usr/bin/python3
"""The iot-amqpd benchmark (DESIGN.md §11), driven by bench/run.sh.

Starts the cloud emulator once, then runs every case BENCH_RUNS times in
rounds (round r runs each case once), so the references and the daemon share
the machine's conditions of the moment. Each figure is the median over the
rounds; each ratio is the median of the per-round ratios. Every journald rate
is read back from the journal by journal-audit, which first proves every
messageId present exactly once.

Cases (N = BENCH_N, default 100 000, 300-byte JSON bodies):
  ceiling-sendv     journal-ceiling: sd_journal_sendv() in a tight loop, the daemon's fields
  ceiling-sendv-bare  the same without IOT_RUN and IOT_SEQ: what the read-back's fields cost journald
  ceiling-writer    journal-ceiling: the daemon's JournaldSink/JournalWriter in the same loop
  daemon-journald   emulator -> iot-amqpd -> journald, 1 group x 1 connection
  daemon-journald-4 the same with 4 groups (N/4 each)
  daemon-stdout     emulator -> iot-amqpd -> stdout (JSON Lines into /dev/null)
  sample-devnull    emulator -> the vendor's Python sample (tests/fidelity) -> /dev/null
  sample-journald   the same, its stdout piped into `systemd-cat`
  emulator          the emulator's built-in accept-only receiver (its headroom)
  rhea-alone        the independent sender (bench/sender/send.js, rhea on node) -> a minimal
                    rhea receiver (receive.js, credit 1 000, accepts at once): its own rate
  daemon-rhea       the independent sender -> iot-amqpd (1 group) -> journald; with
                    rhea-alone and ceiling-sendv: the CPU-sum bound and the ratios
  latency           1 000 msg/s for BENCH_LATENCY_S seconds: generateTime -> __REALTIME_TIMESTAMP
  memory            8 idle groups: VmRSS; then a flood of 64 KiB messages, credit 100: VmHWM
"""

import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
SAMPLE = os.path.join(TOP, "tests", "fidelity", "aliyun_amqp_sample.py")
ACCESS_KEY_ID = "LTAI5tBENCHKEY01"
INSTANCE_ID = "iot-06z00bench"
GROUP_IDS = ["BENCHG%d" % i for i in range(1, 9)]
SAMPLE_GROUP = "BENCHSAMPLE"
BODY_SIZE = 300
# The daemon's `credit:`; unset, the daemon's default (an adaptive window up to 500, within its
# memory_budget). The emulator's own receiver and the sample take this or 100.
CREDIT = int(os.environ["BENCH_CREDIT"]) if os.environ.get("BENCH_CREDIT") else None
FIXED_CREDIT = CREDIT or 100
CREDIT_TEXT = "credit %d" % CREDIT if CREDIT else "default credit (adaptive)"
MEMORY_BUDGET_KIB = 8 * 1024  # the daemon's default memory_budget
FLOOD_SIZE = 64 * 1024
# The "small constant" of the flood's bound: TLS records and proton's input buffer, the message
# being decoded, allocator slack. Measured above 2 x credit x size: up to 2.4 MiB (6 runs, since
# the emulator streams; up to 0.6 MiB before). The integration test allows 6 MiB.
FLOOD_CONSTANT_KIB = 4 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value else default


def log(text):
    print(text, file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


# ---- /proc ------------------------------------------------------------------

def cpu_times(pid):
    """(utime, stime) of a process, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def schedstat(pid):
    """(run-queue wait in ns, timeslices) summed over a process's threads (/proc/PID/task/*/schedstat)."""
    wait = slices = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                _, w, n = (int(x) for x in f.read().split())
        except OSError:
            continue
        wait += w
        slices += n
    return wait, slices


def cpu_seconds(pid):
    return sum(cpu_times(pid))


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError("no %s in /proc/%d/status" % (key, pid))


def reset_peak_rss(pid):
    """Makes VmHWM start again from the current VmRSS (Linux >= 4.0)."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def journald_state():
    """(pid, state letter) of the running systemd-journald, or (None, None). In the bench's
    PID namespace that is its own."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % entry) as f:
                # "iot-test-journa": the private journald of with-private-journald
                # (tests/support/private_journald.hpp names it so).
                if f.read().strip() in ("systemd-journal", "iot-test-journa"):
                    with open("/proc/%s/stat" % entry) as s:
                        state = s.read().rsplit(")", 1)[1].split()[0]
                    if state not in ("Z", "X"):
                        return int(entry), state
        except OSError:
            continue
    return None, None


def journald_pid():
    pid, _ = journald_state()
    if pid is None:
        raise BenchError("no systemd-journald is running (bench/run.sh runs one of its own)")
    return pid


def ensure_journald(timeout=120.0):
    """Waits until a journald runs and is not stopped (bench/run.sh starts the bench's own
    with tests/tools/with_private_journald; with BENCH_SHARED_JOURNALD=1 it is the system's,
    which this never starts, stops or reconfigures). Returns its pid."""
    deadline = time.monotonic() + timeout
    while True:
        pid, state = journald_state()
        if pid is not None and state not in ("T", "t"):
            return pid
        if time.monotonic() > deadline:
            raise BenchError("journald is %s after %.0f s" % ("stopped" if pid else "not running", timeout))
        time.sleep(0.5)


def pin_journald():
    """BENCH_PIN=journald: journald alone on the last CPU, this driver and everything it starts
    (emulator, daemons, ceiling loop, samples) on the others, in every case alike. On 2 cores the
    emulator otherwise takes turns with journald on its core, which a receiving host would not
    have to share with the cloud. Returns a description for the table's header."""
    cpus = list(range(os.cpu_count() or 1))
    if len(cpus) < 2:
        raise BenchError("BENCH_PIN=journald needs at least 2 CPUs")
    os.sched_setaffinity(0, set(cpus[:-1]))
    os.sched_setaffinity(journald_pid(), {cpus[-1]})
    return "journald alone on CPU %d; the emulator, the receivers and the ceiling loop on CPU %s" % (
        cpus[-1], ",".join(str(c) for c in cpus[:-1]))


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        qlen = int(f.read())
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": os.uname().release, "loadavg_start": load,
            "unix_max_dgram_qlen": qlen, "journald": os.environ.get("BENCH_JOURNALD", "system")}


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---- the emulator -------------------------------------------------------------

class Control:
    """One connection to the emulator's control socket (a line per request)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)
        self.buffer = b""

    def call(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise BenchError("emulator closed the control connection")
            self.buffer += chunk
        reply, self.buffer = self.buffer.split(b"\n", 1)
        result = json.loads(reply)
        if not result.get("ok"):
            raise BenchError("emulator refused %r: %s" % (line, result.get("error")))
        return result

    def groups(self):
        return self.call("stats")["groups"]

    def accepted(self, group_ids):
        groups = self.groups()
        return sum(groups[g]["accepted"] for g in group_ids)

    def wait_links(self, group_ids, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            groups = self.groups()
            if all(groups[g]["links"] >= 1 for g in group_ids):
                return
            time.sleep(0.05)
        raise BenchError("receivers did not attach to %s within %.0f s" % (group_ids, timeout))

    def wait_unlinked(self, group_ids, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            groups = self.groups()
            if all(groups[g]["links"] == 0 for g in group_ids):
                return
            time.sleep(0.05)
        raise BenchError("receivers of %s still attached after %.0f s" % (group_ids, timeout))

    def leftover(self, group_ids):
        """Messages a failed earlier run left queued or in flight in these groups."""
        groups = self.groups()
        return sum(groups[g]["queued"] + groups[g]["in_flight"] for g in group_ids)

    def wait_accepted(self, group_ids, target, timeout, watch=None):
        """Polls every 5 ms until the groups' accepted count reaches target; returns the time it did."""
        deadline = time.monotonic() + timeout
        while True:
            if self.accepted(group_ids) >= target:
                return time.monotonic()
            if watch is not None and watch.poll() is not None:
                raise BenchError("receiver exited with status %s before all messages were accepted" % watch.returncode)
            if time.monotonic() > deadline:
                raise BenchError("only %d of %d accepted within %.0f s" % (self.accepted(group_ids), target, timeout))
            time.sleep(0.005)


# ---- the independent sender (bench/sender: rhea, another AMQP 1.0 implementation) ----

SENDER_DIR = os.path.join(TOP, "bench", "sender")


def rhea_missing():
    """Why the independent-sender cases cannot run here, or None."""
    if shutil.which("node") is None:
        return "no node on PATH (apt-get install nodejs npm)"
    if not os.path.isdir(os.path.join(SENDER_DIR, "node_modules", "rhea")):
        return "bench/sender has no node_modules (cd bench/sender && npm ci)"
    return None


class RheaSender:
    """bench/sender/send.js: a TLS listener that pushes `count` messages to the first link a peer
    attaches, after "go"; its events come as JSON lines on its stdout."""

    def __init__(self, bench, count, prefix, tag):
        self.events = queue.Queue()
        err = open(os.path.join(bench.work, "%s.sender.log" % tag), "w")
        self.proc = subprocess.Popen(
            ["node", os.path.join(SENDER_DIR, "send.js"), "--cert", bench.certs("server.pem"), "--key",
             bench.certs("server.key"), "--count", str(count), "--id-prefix", prefix, "--host", "127.0.0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        err.close()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.wait_event("listening", 120)["port"]

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                pass
        self.events.put(None)

    def wait_event(self, name, timeout, watch=None):
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=0.05)
            except queue.Empty:
                event = {}
            if event is None:
                raise BenchError("the independent sender exited (status %s) before %r" % (self.proc.poll(), name))
            if event.get("event") == name:
                return event
            if watch is not None and watch.poll() is not None:
                raise BenchError("its peer exited with status %s before the sender's %r" % (watch.returncode, name))
            if time.monotonic() > deadline:
                raise BenchError("no %r from the independent sender within %.0f s" % (name, timeout))

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Shares:
    """Where each process's wall time went during a case: on a CPU (utime + stime) and waiting
    for one (run-queue wait, /proc/PID/task/*/schedstat), as fractions of the elapsed time; the
    rest it was blocked (on its peer, the socket, a timer). Summed over threads."""

    def __init__(self, pids):
        self.pids = pids
        self.t0 = time.monotonic()
        self.start = {name: (cpu_seconds(pid), schedstat(pid)[0]) for name, pid in pids.items()}
        self.threads = {name: Shares.per_thread(pid) for name, pid in pids.items()}

    @staticmethod
    def per_thread(pid):
        """{tid: on-CPU seconds + run-queue wait seconds}: the time each thread was runnable."""
        out = {}
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, task)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                    wait = int(f.read().split()[1])
            except OSError:
                continue
            out[task] = (int(fields[11]) + int(fields[12])) / CLK_TCK + wait / 1e9
        return out

    def done(self):
        elapsed = time.monotonic() - self.t0
        out = {}
        for name, pid in self.pids.items():
            cpu, wait = cpu_seconds(pid), schedstat(pid)[0]
            now = Shares.per_thread(pid)
            busiest = max((now[t] - self.threads[name].get(t, 0.0) for t in now), default=0.0)
            out[name] = {"on_cpu": (cpu - self.start[name][0]) / elapsed,
                         "runq_wait": (wait - self.start[name][1]) / 1e9 / elapsed,
                         "busiest_thread_runnable": busiest / elapsed}
        return out


class RssPeaks:
    """The largest RssAnon, RssShmem and RssFile of a process while a case runs, sampled every
    10 ms: VmHWM alone cannot say whether a peak was the daemon's heap or the journal's pages it
    maps (on a tmpfs journal those are shared memory, journald's file, not the daemon's own)."""

    def __init__(self, pid):
        self.pid = pid
        self.peaks = {"RssAnon": 0, "RssShmem": 0, "RssFile": 0}
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self):
        while self.running:
            try:
                with open("/proc/%d/status" % self.pid) as f:
                    for line in f:
                        key = line.split(":", 1)[0]
                        if key in self.peaks:
                            self.peaks[key] = max(self.peaks[key], int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.01)

    def done(self):
        self.running = False
        self.thread.join(1)
        return {"peak_anon_kib": self.peaks["RssAnon"], "peak_shmem_kib": self.peaks["RssShmem"],
                "peak_file_kib": self.peaks["RssFile"]}


def stop_child(proc):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Bench:
    def __init__(self, build, n, runs):
        self.build = build
        self.n = n
        self.runs = runs
        self.sample_n = env_int("BENCH_SAMPLE_N", n)
        self.sender_n = env_int("BENCH_SENDER_N", 2 * n)  # the sender does 10-20 k msg/s: 10-20 s a case
        self.latency_s = env_int("BENCH_LATENCY_S", 10)
        self.latency_rate = 1000
        self.flood_count = env_int("BENCH_FLOOD_COUNT", 1000)
        self.timeout = env_int("BENCH_TIMEOUT_S", 300)
        self.emulator_bin = os.path.join(build, "iot-amqpd-emulator")
        self.daemon_bin = os.path.join(build, "iot-amqpd")
        self.ceiling_bin = os.path.join(build, "bench", "journal-ceiling")
        self.audit_bin = os.path.join(build, "bench", "journal-audit")
        self.work = tempfile.mkdtemp(prefix="iot-bench.")
        self.base_run_id = "%x" % (int(time.time()) & 0xFFFFFF)
        self.run_id = self.base_run_id
        self.attempts = 0
        self.retries = []  # runs discarded because journald was disturbed, or failed
        self.emulator = None
        self.ctl = None
        self.secret = os.urandom(18).hex()
        self.journald = journald_pid()
        self.pinned = pin_journald() if os.environ.get("BENCH_PIN") == "journald" else None
        self.daemon_sequence = 0

    # ---- set-up and tear-down ----

    def start(self):
        subprocess.run(["bash", os.path.join(TOP, "tests", "support", "make-test-certs.sh"), self.certs()],
                       check=True, stdout=subprocess.DEVNULL)
        secret_file = os.path.join(self.work, "access-key-secret")
        with open(secret_file, "w") as f:
            f.write(self.secret)
        os.chmod(secret_file, 0o600)
        groups = ", ".join(GROUP_IDS + [SAMPLE_GROUP])
        with open(os.path.join(self.work, "accounts.yaml"), "w") as f:
            f.write("instance_id: %s\nconsumer_groups: [%s]\naccounts:\n"
                    "  - access_key_id: %s\n    access_key_secret: \"%s\"\n    consumer_groups: [%s]\n"
                    % (INSTANCE_ID, groups, ACCESS_KEY_ID, self.secret, groups))
        port_file = os.path.join(self.work, "port")
        control = os.path.join(self.work, "ctl.sock")
        # --no-throttle: the cloud's push limits (1000 msg/s per connection, on with
        # --strict) would measure the throttle, not the daemon; off by default, and
        # said here so a later default cannot change the numbers.
        self.emulator = subprocess.Popen(
            [self.emulator_bin, "--no-throttle", "--listen", "127.0.0.1:0", "--cert", self.certs("server.pem"),
             "--key", self.certs("server.key"), "--accounts", os.path.join(self.work, "accounts.yaml"),
             "--control", control, "--port-file", port_file, "--log-file", os.path.join(self.work, "emulator.log")],
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not (os.path.exists(port_file) and os.path.exists(control)):
            if self.emulator.poll() is not None or time.monotonic() > deadline:
                raise BenchError("the emulator did not start; see %s/emulator.log" % self.work)
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.control_path = control
        self.ctl = Control(control)

    def stop(self):
        if self.emulator is not None and self.emulator.poll() is None:
            self.emulator.send_signal(signal.SIGTERM)
            try:
                self.emulator.wait(15)
            except subprocess.TimeoutExpired:
                self.emulator.kill()
                self.emulator.wait()
        if os.environ.get("BENCH_KEEP_WORK"):
            log("work directory kept: %s" % self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def certs(self, name=""):
        return os.path.join(self.work, "certs", name) if name else os.path.join(self.work, "certs")

    # ---- helpers ----

    def audit(self, identifier, expect, latency=False, id_in_message=False, id_list=None):
        cmd = [self.audit_bin, "--identifier", identifier, "--timeout-s", "60"]
        for prefix, count in expect:
            cmd += ["--expect", "%s:%d" % (prefix, count)]
        if id_list is not None:
            path = os.path.join(self.work, identifier + ".ids")
            with open(path, "w") as f:
                f.write("\n".join(id_list) + "\n")
            cmd += ["--expect-list", path]
        if latency:
            cmd.append("--latency")
        if id_in_message:
            cmd.append("--id-in-message")
        out = subprocess.run(cmd, stdout=subprocess.PIPE, check=False, text=True)
        result = json.loads(out.stdout)
        if result["missing"] or result["duplicates"]:
            raise BenchError("journal check failed for %s: %s" % (identifier, out.stdout.strip()))
        return result

    def start_daemon(self, tag, group_count, output, env=None, daemon_bin=None, ca_file=None, port=None):
        """iot-amqpd with group_count groups (one connection each) on the emulator; waits for its links.
        ca_file: tls.ca_file (default: the test CA; "" for the system trust store). port: another
        server's (the independent sender's) instead of the emulator's; then nothing waits here."""
        self.daemon_sequence += 1
        identifier = "iotb-%s-%s" % (self.run_id, tag)
        config = os.path.join(self.work, "daemon-%d.yaml" % self.daemon_sequence)
        lines = [
            "defaults:",
            "  endpoint: amqps://localhost:%d" % (port or self.port),
            "  access_key_id: %s" % ACCESS_KEY_ID,
            "  access_key_secret_file: %s" % os.path.join(self.work, "access-key-secret"),
            "  iot_instance_id: %s" % INSTANCE_ID,
            *(["  credit: %d" % CREDIT] if CREDIT else []),
            "  tls: { ca_file: \"%s\" }" % (self.certs("ca.pem") if ca_file is None else ca_file),
            "  dedup_window: 10000",
            "consumer_groups:",
        ]
        for i in range(group_count):
            lines += ["  - name: bench-g%d" % (i + 1), "    consumer_group_id: %s" % GROUP_IDS[i]]
        lines += ["output:", "  type: %s" % output, "  syslog_identifier: %s" % identifier]
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        stderr = open(os.path.join(self.work, "daemon-%d.log" % self.daemon_sequence), "w")
        daemon = subprocess.Popen([daemon_bin or self.daemon_bin, "-c", config, "--log-target", "stderr"], env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        groups = GROUP_IDS[:group_count]
        if port is None:
            self.ctl.wait_links(groups)
        return daemon, identifier, groups

    def stop_process(self, proc, groups):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.ctl.wait_unlinked(groups)

    def publish(self, groups, count_each, prefix, size=BODY_SIZE, premade=False):
        """Publishes count_each messages to each group. Returns the expected (prefix, count) pairs
        and the time.monotonic() at which the first group's messages became sendable: with
        premade, after the emulator made them (the ceiling's entries too are made before its clock)."""
        released = None
        for i, g in enumerate(groups):
            words = "publish group=%s count=%d size=%d id_prefix=%s%d-" % (g, count_each, size, prefix, i + 1)
            if premade:
                words += " premade=1"
            reply = self.ctl.call(words)
            if released is None:
                released = reply["released_ns"] / 1e9  # CLOCK_MONOTONIC, as time.monotonic()
        return [("%s%d-" % (prefix, i + 1), count_each) for i in range(len(groups))], released

    # ---- the cases ----

    def case_ceiling(self, mode, rnd, bare=False):
        tag = "ceiling-%s%s-%d" % (mode, "-bare" if bare else "", rnd)
        identifier = "iotb-%s-%s" % (self.run_id, tag)
        j0 = cpu_seconds(self.journald)
        out = subprocess.run([self.ceiling_bin, "--mode", mode, "--count", str(self.n), "--identifier", identifier,
                              "--id-prefix", tag + "-", "--size", str(BODY_SIZE)] + (["--bare"] if bare else []),
                             stdout=subprocess.PIPE, text=True, check=True)
        sender = json.loads(out.stdout)
        audit = self.audit(identifier, [(tag + "-", self.n)])
        j1 = cpu_seconds(self.journald)
        return {"rate": audit["rate"], "send_rate": sender["rate"], "cpu_us": sender["cpu_us_per_msg"],
                "journald_cpu_us": (j1 - j0) * 1e6 / self.n}

    def case_daemon(self, output, group_count, rnd, daemon_bin=None):
        tag = "daemon-%s-%dg-%d%s" % (output, group_count, rnd, "-cmp" if daemon_bin else "")
        leftover = self.ctl.leftover(GROUP_IDS[:group_count])
        base = self.ctl.accepted(GROUP_IDS[:group_count])
        daemon, identifier, groups = self.start_daemon(tag, group_count, output, daemon_bin=daemon_bin)
        try:
            each = self.n // group_count
            total = each * group_count
            if leftover:  # written first, before the clock starts
                self.ctl.wait_accepted(groups, base + leftover, 60, watch=daemon)
                base += leftover
            reset_peak_rss(daemon.pid)  # the start-up peak (reading the journal to seed dedup) is not the run's
            s0 = cpu_times(daemon.pid)[1]
            c0, j0 = cpu_seconds(daemon.pid), cpu_seconds(self.journald)
            expect, t0 = self.publish(groups, each, tag + "-", premade=True)
            e0 = cpu_seconds(self.emulator.pid)  # after making the messages: only sending counts
            t1 = self.ctl.wait_accepted(groups, base + total, self.timeout, watch=daemon)
            c1, j1, e1 = cpu_seconds(daemon.pid), cpu_seconds(self.journald), cpu_seconds(self.emulator.pid)
            s1 = cpu_times(daemon.pid)[1]
            result = {"accept_rate": total / (t1 - t0), "cpu_us": (c1 - c0) * 1e6 / total,
                      "sys_cpu_us": (s1 - s0) * 1e6 / total,
                      "emulator_cpu_us": (e1 - e0) * 1e6 / total}
            if output == "journald":
                audit = self.audit(identifier, expect)
                result["rate"] = audit["rate"]
                result["journald_cpu_us"] = (j1 - j0) * 1e6 / total
            else:
                result["rate"] = result["accept_rate"]
            result["peak_rss_kib"] = status_kib(daemon.pid, "VmHWM")
            return result
        finally:
            self.stop_process(daemon, groups)

    def case_sample(self, destination, rnd):
        tag = "sample-%s-%d" % (destination, rnd)
        identifier = "iotb-%s-%s" % (self.run_id, tag)
        n = self.sample_n
        leftover = self.ctl.leftover([SAMPLE_GROUP])  # the sample takes these first, before the clock starts
        env = dict(os.environ, AMQP_HOST="localhost", AMQP_PORT=str(self.port), AMQP_CA_FILE=self.certs("ca.pem"),
                   ACCESS_KEY_ID=ACCESS_KEY_ID, ACCESS_KEY_SECRET=self.secret, CONSUMER_GROUP_ID=SAMPLE_GROUP,
                   CLIENT_ID="bench-sample-%d" % rnd, IOT_INSTANCE_ID=INSTANCE_ID,
                   SAMPLE_EXPECT_MESSAGES=str(n + leftover), SAMPLE_MAX_SECONDS=str(self.timeout))
        err = open(os.path.join(self.work, "%s.log" % tag), "w")
        cat = None
        if destination == "devnull":
            sample = subprocess.Popen([PYTHON, SAMPLE], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=err)
        else:
            sample = subprocess.Popen([PYTHON, SAMPLE], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=err)
            cat = subprocess.Popen(["systemd-cat", "-t", identifier], stdin=sample.stdout)
            sample.stdout.close()
        err.close()
        try:
            base = self.ctl.accepted([SAMPLE_GROUP])
            self.ctl.wait_links([SAMPLE_GROUP])
            if leftover:
                self.ctl.wait_accepted([SAMPLE_GROUP], base + leftover, 60, watch=sample)
                base += leftover
            c0 = cpu_seconds(sample.pid)
            t0 = self.ctl.call("publish group=%s count=%d size=%d id_prefix=%s- premade=1"
                               % (SAMPLE_GROUP, n, BODY_SIZE, tag))["released_ns"] / 1e9
            e0 = cpu_seconds(self.emulator.pid)
            # The sample exits after its N-th message: read its CPU time just before.
            last_cpu = c0
            deadline = time.monotonic() + self.timeout
            while self.ctl.accepted([SAMPLE_GROUP]) < base + n:
                if sample.poll() is not None:
                    break
                try:
                    last_cpu = cpu_seconds(sample.pid)
                except OSError:
                    break
                if time.monotonic() > deadline:
                    raise BenchError("sample: timed out")
                time.sleep(0.005)
            t1 = self.ctl.wait_accepted([SAMPLE_GROUP], base + n, 30)
            e1 = cpu_seconds(self.emulator.pid)
            result = {"accept_rate": n / (t1 - t0), "cpu_us": (last_cpu - c0) * 1e6 / n,
                      "emulator_cpu_us": (e1 - e0) * 1e6 / n}
            if cat is not None:
                sample.wait(60)
                cat.wait(60)
                audit = self.audit(identifier, [(tag + "-", n)], id_in_message=True)
                result["rate"] = audit["rate"]
            else:
                result["rate"] = result["accept_rate"]
            return result
        finally:
            for proc in (sample, cat):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(20)
            self.ctl.wait_unlinked([SAMPLE_GROUP])

    def case_emulator(self, rnd):
        out = subprocess.run([self.emulator_bin, "bench", "--cert", self.certs("server.pem"), "--key",
                              self.certs("server.key"), "--ca", self.certs("ca.pem"), "--count", str(self.n),
                              "--credit", str(FIXED_CREDIT), "--size", str(BODY_SIZE)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True)
        result = json.loads(out.stdout)
        return {"rate": result["msgs_per_s"]}

    def case_rhea_alone(self, rnd):
        """The independent sender's own rate: send.js -> receive.js (rhea, credit 1 000, accepts at once)."""
        tag = "rhea-alone-%d" % rnd
        n = self.sender_n
        sender = RheaSender(self, n, tag + "-", tag)
        receiver = None
        try:
            err = open(os.path.join(self.work, "%s.receiver.log" % tag), "w")
            receiver = subprocess.Popen(["node", os.path.join(SENDER_DIR, "receive.js"), "--port", str(sender.port),
                                         "--ca", self.certs("ca.pem"), "--credit", "1000"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            err.close()
            sender.wait_event("linked", 30, watch=receiver)
            r0, s0 = cpu_seconds(receiver.pid), cpu_seconds(sender.proc.pid)
            shares = Shares({"sender": sender.proc.pid, "receiver": receiver.pid})
            sender.go()
            done = sender.wait_event("done", self.timeout, watch=receiver)
            r1, s1 = cpu_seconds(receiver.pid), cpu_seconds(sender.proc.pid)
            return {"rate": done["rate"], "cpu_us": (r1 - r0) * 1e6 / n, "sender_cpu_us": done["cpu_us_per_msg"],
                    "sender_proc_cpu_us": (s1 - s0) * 1e6 / n, "frames": done["peer_frames"], "shares": shares.done(),
                    "loadavg": loadavg()}
        finally:
            stop_child(receiver)
            sender.stop()

    def case_daemon_rhea(self, rnd, daemon_bin=None):
        """The independent sender -> iot-amqpd (1 group, journald output) -> journald."""
        tag = "daemon-rhea-%d%s" % (rnd, "-compare" if daemon_bin else "")
        n = self.sender_n
        sender = RheaSender(self, n, tag + "-", tag)
        daemon = None
        try:
            daemon, identifier, _ = self.start_daemon(tag, 1, "journald", port=sender.port, daemon_bin=daemon_bin)
            sender.wait_event("linked", 30, watch=daemon)
            reset_peak_rss(daemon.pid)
            rss = RssPeaks(daemon.pid)
            s0 = cpu_times(daemon.pid)[1]
            c0, j0 = cpu_seconds(daemon.pid), cpu_seconds(self.journald)
            shares = Shares({"sender": sender.proc.pid, "daemon": daemon.pid, "journald": self.journald})
            sender.go()
            done = sender.wait_event("done", self.timeout, watch=daemon)
            shares = shares.done()
            c1, j1 = cpu_seconds(daemon.pid), cpu_seconds(self.journald)
            s1 = cpu_times(daemon.pid)[1]
            audit = self.audit(identifier, [(tag + "-", n)])
            return {"rate": audit["rate"], "accept_rate": done["rate"], "cpu_us": (c1 - c0) * 1e6 / n,
                    "sys_cpu_us": (s1 - s0) * 1e6 / n, "journald_cpu_us": (j1 - j0) * 1e6 / n,
                    "sender_cpu_us": done["cpu_us_per_msg"], "frames": done["peer_frames"], "shares": shares,
                    "loadavg": loadavg(), "peak_rss_kib": status_kib(daemon.pid, "VmHWM"), **rss.done()}
        finally:
            stop_child(daemon)
            sender.stop()

    def paced_publish(self, group, count, rate, prefix):
        """count messages, one publish command each, evenly paced at `rate` per second (the
        emulator's own rate= releases them in 50 ms batches, which would measure the batching).
        Returns their message ids."""
        ctl = Control(self.control_path)
        replies = {"lines": 0, "errors": 0}

        def read_replies():
            buffer = b""
            while replies["lines"] < count:
                chunk = ctl.sock.recv(1 << 16)
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    replies["lines"] += 1
                    if not json.loads(line).get("ok"):
                        replies["errors"] += 1

        reader = threading.Thread(target=read_replies, daemon=True)
        reader.start()
        ids = []
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            one = "%s%d-" % (prefix, i + 1)
            ctl.sock.sendall(("publish group=%s count=1 size=%d id_prefix=%s\n" % (group, BODY_SIZE, one)).encode())
            ids.append(one + "1")
        reader.join(60)
        ctl.sock.close()
        if replies["lines"] != count or replies["errors"]:
            raise BenchError("paced publish: %d replies, %d errors for %d messages"
                             % (replies["lines"], replies["errors"], count))
        return ids, count / (time.monotonic() - start)

    def case_latency(self, rnd):
        tag = "latency-%d" % rnd
        leftover = self.ctl.leftover(GROUP_IDS[:1])
        base = self.ctl.accepted(GROUP_IDS[:1])
        daemon, identifier, groups = self.start_daemon(tag, 1, "journald")
        try:
            if leftover:
                self.ctl.wait_accepted(groups, base + leftover, 60, watch=daemon)
            count = self.latency_rate * self.latency_s
            base = self.ctl.accepted(groups)
            # How long the daemon's and journald's threads wait for a CPU once
            # woken: on a shared machine that, not the code path, sets the tail.
            d0, j0 = schedstat(daemon.pid), schedstat(self.journald)
            ids, paced_rate = self.paced_publish(groups[0], count, self.latency_rate, tag + "-")
            self.ctl.wait_accepted(groups, base + count, 60, watch=daemon)
            d1, j1 = schedstat(daemon.pid), schedstat(self.journald)
            audit = self.audit(identifier, [], latency=True, id_list=ids)
            wait_ms = lambda a, b: (b[0] - a[0]) / 1e6 / max(1, b[1] - a[1])  # noqa: E731
            return {"p50_ms": audit["p50_us"] / 1000, "p90_ms": audit["p90_us"] / 1000,
                    "p99_ms": audit["p99_us"] / 1000, "max_ms": audit["max_us"] / 1000, "rate": paced_rate,
                    "daemon_runq_wait_ms": wait_ms(d0, d1), "journald_runq_wait_ms": wait_ms(j0, j1)}
        finally:
            self.stop_process(daemon, groups)

    def case_memory(self, rnd, daemon_bin=None):
        tag = "memory-%d%s" % (rnd, "-cmp" if daemon_bin else "")
        leftover = self.ctl.leftover(GROUP_IDS)
        base = self.ctl.accepted(GROUP_IDS)
        daemon, identifier, groups = self.start_daemon(tag, 8, "journald", daemon_bin=daemon_bin)
        try:
            if leftover:
                self.ctl.wait_accepted(groups, base + leftover, 60, watch=daemon)
            time.sleep(2)  # let the connections settle
            idle = status_kib(daemon.pid, "VmRSS")
            idle_file = status_kib(daemon.pid, "RssFile")
            startup_peak = status_kib(daemon.pid, "VmHWM")
            reset_peak_rss(daemon.pid)
            base = self.ctl.accepted(groups[:1])
            expect, _ = self.publish(groups[:1], self.flood_count, tag + "-", size=FLOOD_SIZE)
            self.ctl.wait_accepted(groups[:1], base + self.flood_count, self.timeout, watch=daemon)
            peak = status_kib(daemon.pid, "VmHWM")
            # Which part of the memory grew: the heap (kept entries, proton's buffers) or
            # mapped files (journal pages the read-back touched), right after the flood.
            after_anon, after_file = status_kib(daemon.pid, "RssAnon"), status_kib(daemon.pid, "RssFile")
            self.audit(identifier, expect)
        finally:
            self.stop_process(daemon, groups)
        # The same groups on the system trust store (no tls.ca_file), the default in production: the test
        # CA stands in for the system's CAs in a hashed directory laid out as /etc/ssl/certs is.
        env = dict(os.environ, SSL_CERT_DIR=self.hashed_ca_dir())
        env.pop("SSL_CERT_FILE", None)
        daemon, _, groups = self.start_daemon(tag + "-system-store", 8, "journald", env=env, ca_file="",
                                              daemon_bin=daemon_bin)
        try:
            time.sleep(2)
            idle_system_store = status_kib(daemon.pid, "VmRSS")
        finally:
            self.stop_process(daemon, groups)
        return {"idle_rss_kib": idle, "peak_rss_kib": peak, "growth_kib": peak - idle, "startup_peak_rss_kib": startup_peak,
                "after_flood_anon_kib": after_anon, "after_flood_file_growth_kib": after_file - idle_file,
                "idle_rss_system_store_kib": idle_system_store}

    def hashed_ca_dir(self):
        """A directory holding the test CA under its subject hash, as `openssl rehash` lays out /etc/ssl/certs."""
        path = os.path.join(self.work, "hashed-ca")
        if not os.path.isdir(path):
            os.mkdir(path)
            shutil.copy(self.certs("ca.pem"), os.path.join(path, "ca.pem"))
            subprocess.run(["openssl", "rehash", path], check=True, stdout=subprocess.DEVNULL)
        return path

    # ---- the profile (callgrind: instruction counts do not depend on the machine's load) ----

    def callgrind_run(self, output, count, tag):
        """The daemon under callgrind receiving `count` messages; returns the callgrind output file."""
        self.daemon_sequence += 1
        identifier = "iotb-%s-%s" % (self.run_id, tag)
        config = os.path.join(self.work, "daemon-%d.yaml" % self.daemon_sequence)
        group = GROUP_IDS[7]
        with open(config, "w") as f:
            f.write("defaults:\n  endpoint: amqps://localhost:%d\n  access_key_id: %s\n  access_key_secret_file: %s\n"
                    "  iot_instance_id: %s\n  credit: %d\n  tls: { ca_file: %s }\nconsumer_groups:\n"
                    "  - name: bench-prof\n    consumer_group_id: %s\noutput:\n  type: %s\n  syslog_identifier: %s\n"
                    % (self.port, ACCESS_KEY_ID, os.path.join(self.work, "access-key-secret"), INSTANCE_ID, FIXED_CREDIT,
                       self.certs("ca.pem"), group, output, identifier))
        out_file = os.path.join(self.work, "callgrind.%s.out" % tag)
        stderr = open(os.path.join(self.work, "daemon-%d.log" % self.daemon_sequence), "w")
        daemon = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file,
                                   self.daemon_bin, "-c", config, "--log-target", "stderr"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        try:
            self.ctl.wait_links([group], timeout=120)
            base = self.ctl.accepted([group])
            if count:
                self.publish([group], count, tag + "-")  # the profile counts instructions, not time
                self.ctl.wait_accepted([group], base + count, 900, watch=daemon)
        finally:
            self.stop_process(daemon, [group])
        return out_file

    @staticmethod
    def callgrind_functions(out_file, inclusive):
        """{function: Ir} from callgrind_annotate, plus "TOTAL"."""
        text = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
                               "--threshold=100", out_file],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True).stdout
        result = {}
        for line in text.splitlines():
            parts = line.split(None, 2)
            if len(parts) < 3 or not parts[0][0].isdigit():
                continue
            ir = int(parts[0].replace(",", ""))
            name = parts[2]
            if name.startswith("PROGRAM TOTALS"):
                result["TOTAL"] = ir
                continue
            name = name.split(":", 1)[1] if ":" in name.split("(")[0] else name
            name = name.rsplit(" [", 1)[0]
            result[name] = result.get(name, 0) + ir
        return result

    def profile(self):
        small, large = env_int("BENCH_PROFILE_SMALL", 2000), env_int("BENCH_PROFILE_N", 20000)
        lines = ["Instructions per message (valgrind callgrind, marginal cost between %d and %d messages):" % (small, large), ""]
        for output in ("journald", "stdout"):
            runs = {}
            for count in (small, large):
                out_file = self.callgrind_run(output, count, "profile-%s-%d" % (output, count))
                runs[count] = (self.callgrind_functions(out_file, False), self.callgrind_functions(out_file, True))
            per = lambda table, name: (table[large].get(name, 0) - table[small].get(name, 0)) / (large - small)  # noqa: E731
            exclusive = {k: per({c: runs[c][0] for c in runs}, k) for k in runs[large][0]}
            inclusive = {k: per({c: runs[c][1] for c in runs}, k) for k in runs[large][1]}
            total = exclusive.pop("TOTAL")
            lines.append("### output: %s — %.0f instructions per message in the whole process" % (output, total))
            lines.append("")
            lines.append("| inclusive Ir/msg | function |")
            lines.append("| ---: | --- |")
            for name, ir in sorted(inclusive.items(), key=lambda kv: -kv[1]):
                if ("iot::" in name or "decode" in name or name.startswith("pn_") or "proton::" in name) \
                        and ir >= 0.03 * total and "GroupRunner" not in name and "_M_run" not in name:
                    lines.append("| %.0f | %s |" % (ir, name[:150]))
            lines.append("")
            lines.append("| exclusive Ir/msg | function |")
            lines.append("| ---: | --- |")
            for name, ir in sorted(exclusive.items(), key=lambda kv: -kv[1])[:20]:
                lines.append("| %.0f | %s |" % (ir, name[:150]))
            lines.append("")
        return "\n".join(lines)

    def cases(self):
        # BENCH_COMPARE=/path/to/another/iot-amqpd: the same daemon cases with that
        # binary in every round, right after ours (before/after an optimisation).
        other = os.environ.get("BENCH_COMPARE")
        compare = [] if not other else [
            ("daemon-journald@compare", lambda r: self.case_daemon("journald", 1, r, daemon_bin=other)),
            ("daemon-journald-4@compare", lambda r: self.case_daemon("journald", 4, r, daemon_bin=other)),
            ("daemon-stdout@compare", lambda r: self.case_daemon("stdout", 1, r, daemon_bin=other)),
            ("memory@compare", lambda r: self.case_memory(r, daemon_bin=other)),
            ("daemon-rhea@compare", lambda r: self.case_daemon_rhea(r, daemon_bin=other)),
        ]
        return compare + [
            ("ceiling-sendv", lambda r: self.case_ceiling("sendv", r)),
            ("ceiling-sendv-bare", lambda r: self.case_ceiling("sendv", r, bare=True)),
            ("ceiling-writer", lambda r: self.case_ceiling("writer", r)),
            ("daemon-journald", lambda r: self.case_daemon("journald", 1, r)),
            ("daemon-journald-4", lambda r: self.case_daemon("journald", 4, r)),
            ("daemon-stdout", lambda r: self.case_daemon("stdout", 1, r)),
            ("sample-devnull", lambda r: self.case_sample("devnull", r)),
            ("sample-journald", lambda r: self.case_sample("journald", r)),
            ("emulator", self.case_emulator),
            ("rhea-alone", self.case_rhea_alone),
            ("daemon-rhea", self.case_daemon_rhea),
            ("latency", self.case_latency),
            ("memory", self.case_memory),
        ]


# ---- the report -----------------------------------------------------------------

def median_of(rounds, case, key):
    values = [r[case][key] for r in rounds if case in r and key in r[case]]
    return statistics.median(values) if values else None


def ratio_of(rounds, num, den, key="rate"):
    values = [r[num][key] / r[den][key] for r in rounds if num in r and den in r and r[den][key]]
    return statistics.median(values) if values else None


def fmt_rate(v):
    return "—" if v is None else "{:,.0f}".format(v)


def rate_with_spread(rounds, case):
    """The median rate and, with several rounds, the range it came from."""
    values = [r[case]["rate"] for r in rounds if case in r and "rate" in r[case]]
    if not values:
        return "—"
    text = fmt_rate(statistics.median(values))
    if len(values) > 1:
        text += " (%s–%s)" % (fmt_rate(min(values)), fmt_rate(max(values)))
    return text


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def with_spread(values, spec):
    """The median of per-round values and, with several rounds, their range."""
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    text = format(statistics.median(values), spec)
    if len(values) > 1:
        text += " (%s–%s)" % (format(min(values), spec), format(max(values), spec))
    return text


def independent_report(info, rounds, bench):
    """The independent sender's table: its own rate, the daemon path behind it, the CPU-sum bound."""
    if not any("rhea-alone" in r or "daemon-rhea" in r for r in rounds):
        return []
    m = lambda case, key: median_of(rounds, case, key)  # noqa: E731
    out = ["", "With an independent sender (bench/sender: rhea %s on node %s, another AMQP 1.0 implementation), "
           "N = %d, daemon %s, %d rounds:" % (info.get("rhea", "?"), info.get("node", "?"),
                                                getattr(bench, "sender_n", bench.n), CREDIT_TEXT, len(rounds)), ""]
    out.append("| path | msg/s, median (range) | CPU µs/msg: sender | receiver / daemon | journald | sum |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: |")

    def cpu_sum(r, case, keys):
        if case not in r or any(k not in r[case] for k in keys):
            return None
        return sum(r[case][k] for k in keys)

    alone_keys = ("sender_cpu_us", "cpu_us")
    daemon_keys = ("sender_cpu_us", "cpu_us", "journald_cpu_us")
    out.append("| rhea sender → minimal receiver (rhea, credit 1 000, accepts at once) | %s | %s | %s | — | %s |" % (
        rate_with_spread(rounds, "rhea-alone"), fmt(m("rhea-alone", "sender_cpu_us"), ".1f"),
        fmt(m("rhea-alone", "cpu_us"), ".1f"),
        with_spread([cpu_sum(r, "rhea-alone", alone_keys) for r in rounds], ".1f")))
    out.append("| rhea sender → daemon → journald (1 group, rate read back from the journal) | %s | %s | %s | %s | %s |" % (
        rate_with_spread(rounds, "daemon-rhea"), fmt(m("daemon-rhea", "sender_cpu_us"), ".1f"),
        fmt(m("daemon-rhea", "cpu_us"), ".1f"), fmt(m("daemon-rhea", "journald_cpu_us"), ".1f"),
        with_spread([cpu_sum(r, "daemon-rhea", daemon_keys) for r in rounds], ".1f")))
    if any("daemon-rhea@compare" in r for r in rounds):
        c = "daemon-rhea@compare"
        out.append("| rhea sender → the compared daemon (BENCH_COMPARE, its own defaults) → journald | %s | %s | %s | %s "
                   "| %s |" % (rate_with_spread(rounds, c), fmt(m(c, "sender_cpu_us"), ".1f"), fmt(m(c, "cpu_us"), ".1f"),
                               fmt(m(c, "journald_cpu_us"), ".1f"),
                               with_spread([cpu_sum(r, c, daemon_keys) for r in rounds], ".1f")))
    if any("ceiling-sendv" in r for r in rounds):
        out.append("| ceiling: sd_journal_sendv loop (same rounds) | %s | %s (the loop) | — | %s | %s |" % (
            rate_with_spread(rounds, "ceiling-sendv"), fmt(m("ceiling-sendv", "cpu_us"), ".1f"),
            fmt(m("ceiling-sendv", "journald_cpu_us"), ".1f"),
            with_spread([cpu_sum(r, "ceiling-sendv", ("cpu_us", "journald_cpu_us")) for r in rounds], ".1f")))
    out.append("")
    nproc = info.get("nproc", 2)
    bounds, vs_min, vs_bound, accept = [], [], [], []
    for r in rounds:
        total = cpu_sum(r, "daemon-rhea", daemon_keys)
        bound = nproc * 1e6 / total if total else None
        bounds.append(bound)
        if "daemon-rhea" in r:
            rate = r["daemon-rhea"]["rate"]
            accept.append(r["daemon-rhea"].get("accept_rate"))
            refs = [r[c]["rate"] for c in ("ceiling-sendv", "rhea-alone") if c in r]
            vs_min.append(rate / min(refs) if refs else None)
            vs_bound.append(rate / bound if bound else None)
    both = any("ceiling-sendv" in r for r in rounds) and any("rhea-alone" in r for r in rounds)
    out.append("| measure (per round, then median and range) | value |")
    out.append("| --- | ---: |")
    out.append("| CPU-sum bound: %d cores ÷ (sender + daemon + journald CPU per message), msg/s | %s |"
               % (nproc, with_spread(bounds, ",.0f")))
    out.append("| daemon path ÷ min(%s) | %s |" % ("ceiling, sender alone" if both else
                                                  "sender alone" if any("rhea-alone" in r for r in rounds)
                                                  else "ceiling", with_spread(vs_min, ".2f")))
    out.append("| daemon path ÷ CPU-sum bound | %s |" % with_spread(vs_bound, ".2f"))
    # What the same ratio is where nothing but the sender and a receiver that
    # does nothing share the cores: how much of the CPU-sum bound two such
    # processes reach on this machine at all.
    own = []
    for r in rounds:
        total = cpu_sum(r, "rhea-alone", alone_keys)
        own.append(r["rhea-alone"]["rate"] * total / (nproc * 1e6) if total else None)
    if any(x is not None for x in own):
        out.append("| for reference: sender alone ÷ its own CPU-sum bound (%d cores ÷ (sender + minimal receiver)) | %s |"
                   % (nproc, with_spread(own, ".2f")))
    versus = [r["daemon-rhea"]["rate"] / r["daemon-rhea@compare"]["rate"] for r in rounds
              if "daemon-rhea" in r and "daemon-rhea@compare" in r]
    if versus:
        out.append("| daemon path ÷ the compared daemon's path, same round | %s |" % with_spread(versus, ".2f"))
    out.append("| daemon path, the sender's own accept rate (msg/s) | %s |" % with_spread(accept, ",.0f"))
    for case, names in (("rhea-alone", ("sender", "receiver")), ("daemon-rhea", ("sender", "daemon", "journald"))):
        got = [r[case]["shares"] for r in rounds if case in r and "shares" in r[case]]
        if got:
            out.append("| %s: share of the wall time on a CPU / waiting for one, %s | %s |" % (
                case, ", ".join(names), "; ".join("%s / %s" % (
                    with_spread([g[p]["on_cpu"] for g in got], ".2f"), with_spread([g[p]["runq_wait"] for g in got], ".2f"))
                    for p in names)))
    for case, names in (("rhea-alone", ("sender", "receiver")), ("daemon-rhea", ("sender", "daemon", "journald"))):
        got = [r[case]["shares"] for r in rounds if case in r and "shares" in r[case]]
        if got and "busiest_thread_runnable" in got[0][names[0]]:
            out.append("| %s: share of the wall time its busiest thread was runnable (on a CPU or waiting for one), "
                       "%s | %s |" % (case, ", ".join(names), "; ".join(
                           with_spread([g[p]["busiest_thread_runnable"] for g in got], ".2f") for p in names)))
    for case, who in (("daemon-rhea", "the daemon"), ("daemon-rhea@compare", "the compared daemon")):
        peaks = [r[case]["peak_rss_kib"] / 1024 for r in rounds if case in r and "peak_rss_kib" in r[case]]
        if peaks:
            out.append("| %s path: its peak RSS, MiB (VmHWM from the link's attach; journal pages it maps count) | %s |"
                       % (who, with_spread(peaks, ".1f")))
        split = [r[case] for r in rounds if case in r and "peak_anon_kib" in r[case]]
        if split:
            out.append("| %s path: peak RssAnon (its heap) / RssShmem (tmpfs journal pages the read-back maps) / "
                       "RssFile, MiB, sampled every 10 ms | %s / %s / %s |" % (
                           who, with_spread([s["peak_anon_kib"] / 1024 for s in split], ".1f"),
                           with_spread([s["peak_shmem_kib"] / 1024 for s in split], ".1f"),
                           with_spread([s["peak_file_kib"] / 1024 for s in split], ".1f")))
    loads = [r[c]["loadavg"].split()[0] for r in rounds for c in ("rhea-alone", "daemon-rhea")
             if c in r and "loadavg" in r[c]]
    if loads:
        out.append("| 1-minute load average at the end of each case | %s |" % ", ".join(loads))
    for case, who in (("daemon-rhea", "the daemon"), ("daemon-rhea@compare", "the compared daemon"),
                      ("rhea-alone", "the minimal receiver")):
        frames = [r[case]["frames"] for r in rounds if case in r and "frames" in r[case]]
        if frames:
            out.append("| frames %s sends per message: flow / disposition (deliveries per disposition) | %s / %s (%s) |" % (
                who, with_spread([f["flow_per_msg"] for f in frames], ".3f"),
                with_spread([f["disposition_per_msg"] for f in frames], ".3f"),
                with_spread([f["deliveries_per_disposition"] for f in frames], ".1f")))
    return out


def report(info, rounds, bench):
    m = lambda case, key: median_of(rounds, case, key)  # noqa: E731
    out = []
    out.append("Machine: %d CPUs, %s, kernel %s; load average %s at start, %s at end"
               % (info["nproc"], info["cpu"], info["kernel"], info["loadavg_start"], info["loadavg_end"]))
    out.append("journald: %s (%s), net.unix.max_dgram_qlen %d"
               % (info["journald"], "a private instance in private namespaces" if info["journald"] == "private"
                  else "the system's", info["unix_max_dgram_qlen"]))
    out.append("CPUs: %s" % (info.get("pinned") or "shared by all (BENCH_PIN=journald gives journald a CPU of its own)"))
    out.append("N = %d messages of %d-byte JSON (the vendor sample: %d), %s, median of %d runs; "
               "%d runs discarded and repeated (journald stopped or restarted by someone else, or a failure)"
               % (bench.n, BODY_SIZE, bench.sample_n, CREDIT_TEXT, len(rounds), len(info["discarded_runs"])))
    out.append("")
    out.append("| case | msg/s, median (range) | CPU µs/msg: process | journald | emulator | peak RSS |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [
        ("ceiling: sd_journal_sendv loop", "ceiling-sendv"),
        ("ceiling: the same without IOT_RUN, IOT_SEQ", "ceiling-sendv-bare"),
        ("ceiling: daemon's JournalWriter loop", "ceiling-writer"),
        ("daemon → journald, 1 group × 1 conn", "daemon-journald"),
        ("daemon → journald, 4 groups × 1 conn", "daemon-journald-4"),
        ("daemon → stdout (/dev/null)", "daemon-stdout"),
        ("vendor sample (Python) → /dev/null", "sample-devnull"),
        ("vendor sample (Python) → systemd-cat", "sample-journald"),
        ("emulator → accept-only receiver", "emulator"),
    ]
    for label, case in rows:
        peak = m(case, "peak_rss_kib")
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            label, rate_with_spread(rounds, case), fmt(m(case, "cpu_us"), ".1f"), fmt(m(case, "journald_cpu_us"), ".1f"),
            fmt(m(case, "emulator_cpu_us"), ".1f"), "—" if peak is None else "%.1f MiB" % (peak / 1024)))
    if any("daemon-journald@compare" in r for r in rounds):
        out.append("")
        out.append("Compared with %s (BENCH_COMPARE), same rounds:" % info.get("compare"))
        out.append("")
        out.append("| case | msg/s: compared → ours | CPU µs/msg: compared → ours | rate ratio (median of rounds) |")
        out.append("| --- | ---: | ---: | ---: |")
        for case in ("daemon-journald", "daemon-journald-4", "daemon-stdout"):
            other = case + "@compare"
            out.append("| %s | %s → %s | %s → %s | %s |" % (
                case, rate_with_spread(rounds, other), rate_with_spread(rounds, case), fmt(m(other, "cpu_us"), ".1f"),
                fmt(m(case, "cpu_us"), ".1f"), fmt(ratio_of(rounds, case, other), ".2f")))
    out.append("")
    out.append("| measure | value | target |")
    out.append("| --- | ---: | --- |")
    checks = []

    def row(label, value, target, ok):
        mark = "" if ok is None else (" ✓" if ok else " ✗")
        out.append("| %s | %s | %s%s |" % (label, value, target, mark))
        checks.append(ok)

    r = ratio_of(rounds, "daemon-journald", "ceiling-sendv")
    row("daemon→journald ÷ ceiling (sd_journal_sendv)", fmt(r, ".2f"), "≥ 0.9", None if r is None else r >= 0.9)
    r = ratio_of(rounds, "daemon-journald-4", "ceiling-sendv")
    row("daemon→journald, 4 groups ÷ ceiling", fmt(r, ".2f"), "≥ 0.9", None if r is None else r >= 0.9)
    r = ratio_of(rounds, "ceiling-sendv", "ceiling-sendv-bare")
    row("ceiling ÷ ceiling without the read-back's fields", fmt(r, ".2f"), "(what IOT_RUN and IOT_SEQ cost journald)", None)
    r = ratio_of(rounds, "ceiling-writer", "ceiling-sendv")
    row("JournalWriter loop ÷ sd_journal_sendv loop", fmt(r, ".2f"), "≈ 1 (costs nothing extra)", None)
    r = ratio_of(rounds, "daemon-stdout", "sample-devnull")
    row("daemon→stdout ÷ sample→/dev/null", fmt(r, ".1f"), "≥ 20", None if r is None else r >= 20)
    cpu_ratio = ratio_of(rounds, "sample-devnull", "daemon-stdout", key="cpu_us")
    row("  CPU per message: sample→/dev/null ÷ daemon→stdout", fmt(cpu_ratio, ".1f"), "≥ 20 (what each receiver costs)",
        None if cpu_ratio is None else cpu_ratio >= 20)
    r = ratio_of(rounds, "daemon-journald", "sample-journald")
    row("daemon→journald ÷ sample→systemd-cat", fmt(r, ".1f"), "(reference)", None)
    r = ratio_of(rounds, "emulator", "daemon-stdout")
    row("emulator → its own receiver ÷ daemon→stdout", fmt(r, ".1f"),
        "(≤ 1.x: the emulator, not the daemon, sets the stdout rate)", None)
    p50, p99 = m("latency", "p50_ms"), m("latency", "p99_ms")
    row("latency generateTime→journal at %d msg/s, p50" % bench.latency_rate, fmt(p50, ".2f") + " ms", "", None)
    row("  p90", fmt(m("latency", "p90_ms"), ".2f") + " ms", "", None)
    row("latency generateTime→journal at %d msg/s, p99" % bench.latency_rate, fmt(p99, ".2f") + " ms", "≤ 5 ms",
        None if p99 is None else p99 <= 5)
    row("  mean wait for a CPU per wake-up: daemon / journald",
        "%s / %s ms" % (fmt(m("latency", "daemon_runq_wait_ms"), ".2f"), fmt(m("latency", "journald_runq_wait_ms"), ".2f")),
        "(diagnosis: the machine's load)", None)
    idle = m("memory", "idle_rss_kib")
    row("RSS, 8 idle groups (VmRSS)", fmt(None if idle is None else idle / 1024, ".1f") + " MiB", "≤ 16 MiB",
        None if idle is None else idle <= 16 * 1024)
    system_store = m("memory", "idle_rss_system_store_kib")
    row("  the same on the system trust store (no tls.ca_file: the hashed directory)",
        fmt(None if system_store is None else system_store / 1024, ".1f") + " MiB", "≤ 16 MiB",
        None if system_store is None else system_store <= 16 * 1024)
    start_peak = m("memory", "startup_peak_rss_kib")
    row("  peak while 8 groups start (each reads the journal to seed dedup; journal %s)" % info.get("journal_size", "?"),
        fmt(None if start_peak is None else start_peak / 1024, ".1f") + " MiB", "(diagnosis)", None)
    peak, growth = m("memory", "peak_rss_kib"), m("memory", "growth_kib")
    if CREDIT:  # a fixed window: what it holds, twice (in flight + written, awaiting journald)
        bound_kib = min(2 * CREDIT * FLOOD_SIZE / 1024, MEMORY_BUDGET_KIB) + FLOOD_CONSTANT_KIB
        bound_text = "min(2 × credit × size, memory_budget)"
    else:
        bound_kib = MEMORY_BUDGET_KIB + FLOOD_CONSTANT_KIB
        bound_text = "memory_budget"
    row("peak RSS, %d × 64 KiB flood, %s (VmHWM)" % (bench.flood_count, CREDIT_TEXT),
        "%s MiB (+%s MiB)" % (fmt(None if peak is None else peak / 1024, ".1f"),
                              fmt(None if growth is None else growth / 1024, ".1f")),
        "growth ≤ %s + %d MiB (%.1f MiB)" % (bound_text, FLOOD_CONSTANT_KIB // 1024, bound_kib / 1024),
        None if growth is None else growth <= bound_kib)
    out += independent_report(info, rounds, bench)
    return "\n".join(out), checks


class JournaldWatch:
    """Samples journald every 20 ms while a case runs: on a shared machine other
    people's tests stop (SIGSTOP) or restart it, which would be measured as ours."""

    def __init__(self, pid):
        self.pid = pid
        self.problem = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        missing = 0
        while not self.done.wait(0.02):
            pid, state = journald_state()
            missing = missing + 1 if pid is None else 0
            if pid is not None and pid != self.pid:
                self.problem = "journald %d was replaced by %d during the run" % (self.pid, pid)
            elif missing >= 3:
                self.problem = "journald %d exited during the run" % self.pid
            elif state in ("T", "t"):
                self.problem = "journald was stopped (SIGSTOP) during the run"

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.problem


def run_case(bench, name, run, rnd, runs, attempts=4):
    """One case; retried when journald was restarted or stopped under it or the run failed."""
    for attempt in range(1, attempts + 1):
        bench.journald = ensure_journald()
        if bench.pinned:
            pin_journald()  # a journald started again is pinned again
        bench.attempts += 1
        bench.run_id = "%s%d" % (bench.base_run_id, bench.attempts)  # fresh journal identifiers per attempt
        t = time.monotonic()
        watch = JournaldWatch(bench.journald)
        try:
            result = run(rnd)
            problem = watch.stop()
            if problem is None:
                log("round %d/%d %-18s %5.1f s  %s" % (rnd, runs, name, time.monotonic() - t,
                                                      json.dumps(result, sort_keys=True)))
                return result
        except (BenchError, subprocess.CalledProcessError, OSError) as e:
            problem = watch.stop() or str(e)
        bench.retries.append("%s round %d: %s" % (name, rnd, problem))
        log("round %d/%d %-18s attempt %d discarded: %s" % (rnd, runs, name, attempt, problem))
        time.sleep(2)
    raise BenchError("%s failed %d times" % (name, attempts))


def run_profile(bench):
    try:
        bench.start()
        text = bench.profile()
    finally:
        bench.stop()
    out_dir = os.path.join(bench.build, "bench-results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, time.strftime("profile-%Y%m%d-%H%M%S.md"))
    with open(path, "w") as f:
        f.write(text + "\n")
    print(text)
    log("saved in %s" % path)


def rerender(path):
    """The table again from a saved results file (bench.py BUILD --report FILE.json)."""
    with open(path) as f:
        saved = json.load(f)

    class Saved:
        n, sample_n = saved["n"], saved["sample_n"]
        sender_n = saved.get("sender_n", saved["n"])
        latency_rate, flood_count = saved.get("latency_rate", 1000), saved.get("flood_count", 1000)

    text, _ = report(saved["machine"], saved["rounds"], Saved)
    print(text)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build-bench")
    if len(sys.argv) > 3 and sys.argv[2] == "--report":
        rerender(sys.argv[3])
        return
    n = env_int("BENCH_N", 100000)
    runs = env_int("BENCH_RUNS", 3)
    only = [c for c in os.environ.get("BENCH_ONLY", "").split(",") if c]
    bench = Bench(build, n, runs)
    if len(sys.argv) > 2 and sys.argv[2] == "--profile":
        run_profile(bench)
        return
    info = machine()
    rounds = []
    started = time.monotonic()
    try:
        bench.start()
        for rnd in range(1, runs + 1):
            results = {}
            for name, run in bench.cases():
                if only and name not in only:
                    continue
                if name.startswith("sample") and not os.path.exists(SAMPLE):
                    continue
                if name in ("rhea-alone", "daemon-rhea", "daemon-rhea@compare") and rhea_missing():
                    if rnd == 1:
                        log("skipping %s: %s" % (name, rhea_missing()))
                    continue
                results[name] = run_case(bench, name, run, rnd, runs)
            rounds.append(results)
    finally:
        bench.stop()
    info["loadavg_end"] = loadavg()
    usage = subprocess.run(["journalctl", "--disk-usage"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info["journal_size"] = usage.stdout.split(" take up ")[-1].split(" in ")[0] if " take up " in usage.stdout else "?"
    info["seconds"] = time.monotonic() - started
    info["discarded_runs"] = bench.retries
    info["pinned"] = bench.pinned
    info["compare"] = os.environ.get("BENCH_COMPARE")
    if not rhea_missing():
        info["node"] = subprocess.run(["node", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
        with open(os.path.join(SENDER_DIR, "node_modules", "rhea", "package.json")) as f:
            info["rhea"] = json.load(f)["version"]
    text, _ = report(info, rounds, bench)
    out_dir = os.path.join(build, "bench-results")
    os.makedirs(out_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(out_dir, stamp + ".json"), "w") as f:
        json.dump({"machine": info, "n": n, "runs": runs, "sample_n": bench.sample_n,
                   "sender_n": bench.sender_n,
                   "latency_rate": bench.latency_rate, "flood_count": bench.flood_count, "rounds": rounds}, f, indent=1)
    with open(os.path.join(out_dir, stamp + ".md"), "w") as f:
        f.write(text + "\n")
    print(text)
    log("took %.0f s; raw results in %s/%s.json" % (info["seconds"], out_dir, stamp))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        log("bench: %s" % e)
        sys.exit(1)
