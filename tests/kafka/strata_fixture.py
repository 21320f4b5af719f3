"""Test fixture for the Kafka-compatible listener: a real `stratad` in a temporary folder,
spoken to by real Kafka clients (kcat, confluent-kafka, kafka-python, kafkajs).

Binaries come from the environment, as CMake passes them (tests/CMakeLists.txt):

    STRATAD=/path/to/stratad STRATA_CLI=/path/to/strata python3 -m unittest test_kcat

or from the command line of a test file run directly (`python3 test_kcat.py --stratad PATH
--strata PATH`), or else from ../../build (a developer's default build folder).

Every broker is stopped by its pid (SIGTERM, then SIGKILL after a grace period), whether the
test passed or not; `BrokerTestCase` registers the stop as a class cleanup the moment the process
exists. A broker that died during the tests, or did not exit 0 on SIGTERM, fails the class, with
the tail of its log; its folder is kept for a look (the path is printed).

Not thread-safe: one test thread drives one fixture.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The startup line names both listeners, e.g. "... native protocol on 127.0.0.1:33533, kafka
# protocol on 127.0.0.1:39001, ...". The order of the two is not assumed.
NATIVE_RE = re.compile(r"native protocol on ([0-9.]+|\[[0-9a-f:]+\]|[\w.-]+):(\d+)")
KAFKA_RE = re.compile(r"kafka protocol on ([0-9.]+|\[[0-9a-f:]+\]|[\w.-]+):(\d+)")

START_TIMEOUT_S = 20
STOP_GRACE_S = 15

# Kafka error codes the tests check (Errors.java).
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
DUPLICATE_SEQUENCE_NUMBER = 46
UNSUPPORTED_COMPRESSION_TYPE = 76


def _take_flag(argv, flag):
    """Removes `flag VALUE` (or `flag=VALUE`) from argv in place; returns VALUE or None."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i:i + 2]
            return value
        if arg.startswith(flag + "="):
            del argv[i]
            return arg[len(flag) + 1:]
    return None


def configure_from_argv(argv=None):
    """Lets a test file run directly take --stratad/--strata (unittest gets the rest)."""
    argv = sys.argv if argv is None else argv
    for flag, env in (("--stratad", "STRATAD"), ("--strata", "STRATA_CLI")):
        value = _take_flag(argv, flag)
        if value:
            os.environ[env] = os.path.abspath(value)


def _binary(env, default_rel):
    path = os.environ.get(env) or os.path.join(REPO, default_rel)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"{env}={path!r} is not an executable; set {env} (CMake passes it) or build first")
    return path


def stratad_path():
    return _binary("STRATAD", "build/broker/stratad")


def strata_cli_path():
    return _binary("STRATA_CLI", "build/client/strata")


def node_path():
    return os.environ.get("NODE") or shutil.which("node") or "node"


def unique(prefix):
    """A topic or group name no other test uses: prefix-<8 hex>."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def recent_ts_base():
    """A whole second an hour ago, in ms: explicit record timestamps start there. Not a fixed
    date: records older than the topic's retention (7 days by default) are deleted by the
    broker's retention pass, as Kafka deletes them, and would vanish mid-test."""
    return (int(time.time() * 1000) - 3_600_000) // 1000 * 1000


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on right now (another process may take it before we do; the
    tests that need one use it at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def run(cmd, timeout=30, input=None, check=False, env=None, text=False):
    """Runs cmd, capturing stdout and stderr (bytes unless text); never leaves it running."""
    try:
        r = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env,
                           text=text)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        err = e.stderr or b""
        raise AssertionError(f"{cmd!r} timed out after {timeout} s\nstdout: {out[-2000:]!r}\n"
                             f"stderr: {err[-4000:]!r}") from None
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd!r} exited {r.returncode}\nstdout: {r.stdout[-2000:]!r}\n"
                             f"stderr: {r.stderr[-4000:]!r}")
    return r


def wait_until(predicate, timeout_s, what, interval_s=0.1):
    """Polls predicate until it returns a true value (which is returned) or raises after
    timeout_s with `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s: {what}")
        time.sleep(interval_s)


# librdkafka's `debug=msg` line for each Produce it builds ends with the codec it used, e.g.
# "Produce MessageSet with 37 message(s) (2146 bytes, ApiVersion 7, MsgVersion 2, MsgId 1,
# BaseSeq -1, PID{Invalid}, lz4)"; when it decides the broker cannot take the codec it logs
# "Broker does not support compression type lz4: not compressing batch" and sends it plain.
PRODUCE_LINE_RE = re.compile(r"Produce MessageSet with \d+ message\(s\) \(.*, (\w+)\)\s*$")
NOT_COMPRESSING_RE = re.compile(r"Broker does not support compression type \w+: "
                                r"not compressing batch")


def librdkafka_codecs(debug_text):
    """The codec of every Produce librdkafka built, from its debug=msg output, and the line
    in which it refused to compress (or None)."""
    codecs = [m.group(1) for m in map(PRODUCE_LINE_RE.search, debug_text.splitlines()) if m]
    refused = NOT_COMPRESSING_RE.search(debug_text)
    return codecs, refused.group(0) if refused else None


def assert_librdkafka_compressed(test, debug_text, codec):
    """Asserts, from librdkafka's debug=msg output, that its Produce requests really used
    `codec` ("none": every one plain). librdkafka silently sends every batch plain when it thinks
    the broker cannot take the codec, and sends one batch plain when compressing would not make it
    smaller (a small first batch of random-looking records can be one), so beside compressed
    batches plain ones may appear; at least one must be compressed."""
    codecs, refused = librdkafka_codecs(debug_text)
    test.assertIsNone(refused, f"librdkafka did not compress: {refused}")
    test.assertTrue(codecs, "no Produce debug lines:\n" + debug_text[-3000:])
    if codec == "none":
        test.assertEqual(set(codecs), {"uncompressed"}, f"codecs of the Produce requests: {codecs}")
        return
    test.assertIn(codec, codecs, f"codecs of the Produce requests: {codecs}")
    test.assertLessEqual(set(codecs), {codec, "uncompressed"},
                         f"codecs of the Produce requests: {codecs}")


def _die_with_parent():
    """In the child before exec: SIGKILL it if the test process dies (a ctest timeout kills the
    test with SIGKILL, which leaves no chance for cleanup). Linux only; harmless elsewhere."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Broker:
    """One stratad with both listeners on ephemeral loopback ports, its data and log in a
    temporary folder. kafka_bootstrap is "127.0.0.1:PORT" (or the advertised address when one
    is given), native_bootstrap the native listener's."""

    def __init__(self, config=None, kafka_listen="127.0.0.1:0", kafka_advertised=None,
                 extra_args=()):
        self.stratad = stratad_path()
        self.folder = tempfile.mkdtemp(prefix="strata-kafka-test.")
        self.log_path = os.path.join(self.folder, "stratad.log")
        self.proc = None
        self.kafka_host = self.kafka_port = None
        self.native_host = self.native_port = None
        self.kafka_listen = kafka_listen
        self.kafka_advertised = kafka_advertised
        # Consumer groups form without waiting 3 s for more members (as cli_broker_test.sh does).
        self.config = {"group_initial_rebalance_delay_ms": 0}
        self.config.update(config or {})
        self.extra_args = list(extra_args)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, on_spawn=None):
        conf = os.path.join(self.folder, "stratad.toml")
        with open(conf, "w") as f:
            for key, value in self.config.items():
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif isinstance(value, str):
                    value = f'"{value}"'
                f.write(f"{key} = {value}\n")
        cmd = [self.stratad, "--config", conf, "--data-dir", os.path.join(self.folder, "data"),
               "--listen", "127.0.0.1:0", "--metrics-listen", "off",
               "--kafka-listen", self.kafka_listen]
        if self.kafka_advertised:
            cmd += ["--kafka-advertised-listen", self.kafka_advertised]
        cmd += self.extra_args
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        if on_spawn:
            on_spawn()  # the stop is registered before anything else can fail

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"stratad exited ({self.proc.returncode}) at start:\n"
                                     f"{' '.join(cmd)}\n{self.log_tail()}")
            text = self.log_text()
            native, kafka = NATIVE_RE.search(text), KAFKA_RE.search(text)
            return (native, kafka) if native and kafka else None

        try:
            native, kafka = wait_until(listening, START_TIMEOUT_S,
                                       "stratad's start line naming both listeners")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{' '.join(cmd)}\n{self.log_tail()}") from None
        self.native_host, self.native_port = native.group(1), int(native.group(2))
        self.kafka_host, self.kafka_port = kafka.group(1), int(kafka.group(2))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait, SIGKILL. Returns the exit status, and raises (after the process is
        gone) if it had died before, or did not exit 0 on SIGTERM."""
        if self.proc is None:
            return None
        died_before = self.proc.poll() is not None
        if not died_before:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"stratad ignored SIGTERM for {STOP_GRACE_S} s (killed); "
                                     f"log kept in {self.folder}\n{self.log_tail()}")
        rc = self.proc.returncode
        if died_before:
            raise AssertionError(f"stratad died during the tests (status {rc}); log kept in "
                                 f"{self.folder}\n{self.log_tail()}")
        if rc != 0:
            raise AssertionError(f"stratad exited {rc} on SIGTERM; log kept in {self.folder}\n"
                                 f"{self.log_tail()}")
        if not os.environ.get("STRATA_KEEP_TEST_DATA"):
            shutil.rmtree(self.folder, ignore_errors=True)
        return rc

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "--- stratad log (tail) ---\n" + "\n".join(self.log_text().splitlines()[-lines:])

    # --- addresses -----------------------------------------------------------------------------

    @property
    def kafka_bootstrap(self):
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def native_bootstrap(self):
        return f"{self.native_host}:{self.native_port}"

    # --- the native CLI ------------------------------------------------------------------------

    def cli(self, *args, input=None, timeout=30, check=True):
        """Runs `strata --bootstrap NATIVE args...`; text mode; raises on failure if check."""
        return run([strata_cli_path(), "--bootstrap", self.native_bootstrap, *args],
                   input=input, timeout=timeout, check=check, text=True)

    def create_topic(self, name, partitions=1, **configs):
        """Creates a topic through the native CLI (configs are Strata's own keys)."""
        args = ["topic", "create", name, "--partitions", str(partitions)]
        for key, value in configs.items():
            args += ["--config", f"{key}={value}"]
        self.cli(*args)
        return name


class BrokerTestCase(unittest.TestCase):
    """One broker for the test class; every test checks it is still alive first."""

    broker_config = None  # extra stratad config keys for the class

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.broker = Broker(config=cls.broker_config)
        cls.broker.start(on_spawn=lambda: cls.addClassCleanup(cls.broker.stop))
        cls.bootstrap = cls.broker.kafka_bootstrap

    def setUp(self):
        super().setUp()
        self.assertTrue(self.broker.alive(), "stratad died in an earlier test\n"
                        + self.broker.log_tail())

    def topic(self, prefix="t", partitions=1, **configs):
        """A fresh topic created with the native CLI."""
        return self.broker.create_topic(unique(prefix), partitions, **configs)


# --- a raw Kafka connection, with kafka-python's codec -------------------------------------------


class KafkaWire:
    """One blocking connection speaking Kafka requests encoded by kafka-python's protocol classes,
    for what no client exposes directly: the error code of one partition of one request, or the
    same Produce request sent twice. Not thread-safe."""

    def __init__(self, host, port, client_id="strata-kafka-test", timeout_s=10):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.client_id = client_id
        self.correlation_id = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError(f"broker closed the connection ({len(buf)} of {n} bytes)")
            buf += chunk
        return bytes(buf)

    def send(self, request, expect_response=True):
        """Sends request; returns its decoded response (request.RESPONSE_TYPE), or None."""
        import struct

        from kafka.protocol.api import RequestHeader

        self.correlation_id += 1
        header = RequestHeader(request, correlation_id=self.correlation_id,
                               client_id=self.client_id)
        body = header.encode() + request.encode()
        self.sock.sendall(struct.pack(">i", len(body)) + body)
        if not expect_response:
            return None
        (size,) = struct.unpack(">i", self._recv_exact(4))
        payload = self._recv_exact(size)
        (correlation_id,) = struct.unpack(">i", payload[:4])
        if correlation_id != self.correlation_id:
            raise AssertionError(f"response correlation id {correlation_id}, "
                                 f"expected {self.correlation_id}")
        return request.RESPONSE_TYPE.decode(payload[4:])


def init_producer_id_request_v0():
    """InitProducerId v0 (key 22), which kafka-python 2.0.2 does not define."""
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import Int16, Int32, Int64, Schema, String

    class InitProducerIdResponse_v0(Response):
        API_KEY = 22
        API_VERSION = 0
        SCHEMA = Schema(("throttle_time_ms", Int32), ("error_code", Int16),
                        ("producer_id", Int64), ("producer_epoch", Int16))

    class InitProducerIdRequest_v0(Request):
        API_KEY = 22
        API_VERSION = 0
        RESPONSE_TYPE = InitProducerIdResponse_v0
        SCHEMA = Schema(("transactional_id", String("utf-8")), ("transaction_timeout_ms", Int32))

    return InitProducerIdRequest_v0(transactional_id=None, transaction_timeout_ms=60000)


def record_batch(records, producer_id=-1, producer_epoch=-1, base_sequence=-1,
                 compression=0):
    """A v2 RecordBatch (bytes) of (key, value, headers, timestamp_ms) tuples, built by
    kafka-python's DefaultRecordBatchBuilder (which sets the CRC-32C)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=compression, is_transactional=False,
        producer_id=producer_id, producer_epoch=producer_epoch, base_sequence=base_sequence,
        batch_size=16 << 20)
    for i, (key, value, headers, ts) in enumerate(records):
        if builder.append(i, timestamp=ts, key=key, value=value, headers=headers) is None:
            raise AssertionError("batch full")
    return bytes(builder.build())
