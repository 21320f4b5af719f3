"""Kafka clients against a three-broker Strata cluster: a real etcd and three real stratad
processes on loopback, each with a Kafka listener (docs/kafka.md, docs/cluster.md).

- Metadata, as librdkafka sees it, lists all three brokers and a live leader for every partition.
- While confluent-kafka (librdkafka) and, in its own run, kafkajs produce with acks=all, the leader
  of partition 0 is killed with SIGKILL. Each client finds the new leader by itself, and every
  record it saw acknowledged is read back afterwards, exactly once.

Everything is stopped by pid whatever happens (class cleanups).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import strata_fixture as fx
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


class Etcd:
    """One etcd member on free loopback ports, its data in a temporary folder."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="strata-kafka-etcd.")
        self.port, self.peer_port = fx.free_port(), fx.free_port()
        self.proc = None

    def start(self):
        url = f"http://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        with open(os.path.join(self.folder, "etcd.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [ETCD, "--name", "kafka-test", "--data-dir", os.path.join(self.folder, "data"),
                 "--listen-client-urls", url, "--advertise-client-urls", url,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", f"kafka-test={peer}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"etcd exited ({self.proc.returncode}) at start")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as r:
                    return b"true" in r.read()
            except OSError:
                return False

        fx.wait_until(healthy, 20, "etcd to answer /health")
        return self

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class ClusterTest(unittest.TestCase):
    BROKERS = 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.etcd = Etcd()
        cls.addClassCleanup(cls.etcd.stop)
        cls.etcd.start()
        cluster_name = fx.unique("kc")
        cls.brokers = {}
        for node in range(1, cls.BROKERS + 1):
            broker = fx.Broker(config={"etcd": cls.etcd.endpoint, "node_id": node,
                                       "cluster_name": cluster_name, "broker_lease_ttl_s": 2})
            cls.brokers[node] = broker
            broker.start(on_spawn=lambda b=broker: cls.addClassCleanup(cls._stop, b))
        cls.bootstrap = ",".join(b.kafka_bootstrap for b in cls.brokers.values())

    @staticmethod
    def _stop(broker):
        # A broker this test killed on purpose has no exit status to check.
        if broker.proc is not None and broker.proc.returncode == -signal.SIGKILL:
            return
        broker.stop()

    def create_topic(self, partitions=3):
        name = fx.unique("cl")
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics([NewTopic(name, partitions, 3,
                                                config={"min.insync.replicas": "2"})])
        futures[name].result(timeout=30)

        def led():
            md = admin.list_topics(name, timeout=5).topics[name]
            return md.error is None and len(md.partitions) == partitions and all(
                p.leader >= 0 and len(p.isrs) == 3 for p in md.partitions.values())

        fx.wait_until(led, 30, f"every partition of {name} to have a leader and a full ISR")
        return name

    def leader_of(self, topic, partition, exclude=()):
        bootstrap = ",".join(b.kafka_bootstrap for n, b in self.brokers.items()
                             if n not in exclude)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        return admin.list_topics(topic, timeout=10).topics[topic].partitions[partition].leader

    def read_all(self, topic, partitions, exclude):
        """Every value in the topic, read from the surviving brokers."""
        bootstrap = ",".join(b.kafka_bootstrap for n, b in self.brokers.items()
                             if n not in exclude)
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": fx.unique("g"),
                      "enable.auto.commit": False, "enable.partition.eof": True})
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        values, at_eof = [], set()
        deadline = time.time() + 60
        while len(at_eof) < partitions and time.time() < deadline:
            m = c.poll(1)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_eof.add(m.partition())
                    continue
                raise AssertionError(f"consumer error: {m.error()}")
            values.append(m.value().decode())
        c.close()
        self.assertEqual(len(at_eof), partitions, "the final read did not reach every end")
        return values

    def kill(self, node):
        broker = self.brokers[node]
        broker.proc.send_signal(signal.SIGKILL)
        broker.proc.wait()

    def restart(self, node):
        """Starts a killed broker again on its data (a follower that catches up), logging to a
        new file so its start line is the only one there."""
        broker = self.brokers[node]
        broker.proc = None
        broker.log_path = os.path.join(broker.folder, f"stratad-{fx.unique('restart')}.log")
        broker.start()

    def check_no_loss(self, acked, values):
        counts = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        lost = [v for v in acked if v not in counts]
        if lost and os.environ.get("STRATA_KAFKA_DEBUG"):
            print("lost:", lost, "\nread around them:",
                  [v for v in values if v.split("-")[-1].isdigit()
                   and abs(int(v.split("-")[-1]) - int(lost[0].split("-")[-1])) < 15])
        duplicated = [v for v, n in counts.items() if n > 1]
        self.assertEqual(lost, [], f"{len(lost)} acknowledged records lost")
        self.assertEqual(duplicated, [], f"{len(duplicated)} records read more than once")

    def test_a_metadata_lists_every_broker_and_leader(self):
        topic = self.create_topic(partitions=6)
        admin = AdminClient({"bootstrap.servers": self.brokers[1].kafka_bootstrap})
        md = admin.list_topics(topic, timeout=10)
        self.assertEqual(sorted(md.brokers), [1, 2, 3])
        for b in md.brokers.values():
            self.assertEqual(f"{b.host}:{b.port}", self.brokers[b.id].kafka_bootstrap)
        leaders = {p.leader for p in md.topics[topic].partitions.values()}
        self.assertTrue(leaders <= {1, 2, 3})
        self.assertEqual(len(leaders), 3, "leaders are spread over the three brokers")
        for p in md.topics[topic].partitions.values():
            self.assertEqual(sorted(p.replicas), [1, 2, 3])

    def test_b_librdkafka_follows_the_new_leader(self):
        topic = self.create_topic()
        acked, errors = [], []

        def delivered(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                acked.append(msg.value().decode())

        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 2})
        stop = threading.Event()

        def produce():
            i = 0
            while not stop.is_set():
                p.produce(topic, key=str(i), value=f"rk-{i}", on_delivery=delivered)
                p.poll(0)
                i += 1
                time.sleep(0.001)

        t = threading.Thread(target=produce)
        t.start()
        try:
            fx.wait_until(lambda: len(acked) > 500, 30, "acknowledgements before the kill")
            victim = self.leader_of(topic, 0)
            self.kill(victim)
            before = len(acked)
            fx.wait_until(lambda: len(acked) > before + 1000, 60,
                          "acknowledgements after the leader was killed")
        finally:
            stop.set()
            t.join()
            p.flush(60)
        self.assertEqual(errors, [], "librdkafka reported failed deliveries")
        new_leader = self.leader_of(topic, 0, exclude={victim})
        self.assertNotEqual(new_leader, victim)
        self.assertGreaterEqual(new_leader, 1)
        self.check_no_loss(acked, self.read_all(topic, 3, exclude={victim}))
        self.restart(victim)

    def test_c_kafkajs_follows_the_new_leader(self):
        topic = self.create_topic()
        out_path = os.path.join(tempfile.mkdtemp(prefix="strata-kafkajs."), "acked.jsonl")
        script = os.path.join(fx.HERE, "js", "cluster_producer.js")
        proc = subprocess.Popen([fx.node_path(), script, self.bootstrap, topic, out_path, "25", "3"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        def acked_count():
            try:
                with open(out_path) as f:
                    return sum(1 for _ in f)
            except OSError:
                return 0

        fx.wait_until(lambda: acked_count() > 300 or proc.poll() is not None, 60,
                      "kafkajs acknowledgements before the kill")
        victim = self.leader_of(topic, 0)
        self.kill(victim)
        output, _ = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, f"kafkajs producer failed:\n{output}")
        with open(out_path) as f:
            acked = [json.loads(line)["value"] for line in f]
        summary = json.loads(output.strip().splitlines()[-1])
        self.assertGreater(summary["acked_in_last_10s"], 0,
                           f"kafkajs acknowledged nothing after the kill:\n{output}")
        self.check_no_loss(acked, self.read_all(topic, 3, exclude={victim}))
        self.restart(victim)


if __name__ == "__main__":
    fx.configure_from_argv()
    unittest.main()
