#!/usr/bin/env python3
"""confluent-kafka (Debian's python3-confluent-kafka 1.7.0 on librdkafka 2.0.2) against Strata's
Kafka listener: produce with acks 0/1/all with and without LZ4 (binary keys, values and headers
read back byte for byte, offsets contiguous); an idempotent producer's 10,000 records read back
exactly once; offsets_for_times; the admin client's topic create/describe/delete and groups; and
the error codes: TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS,
OFFSET_OUT_OF_RANGE, UNSUPPORTED_COMPRESSION_TYPE.

    cd tests/kafka && STRATAD=../../build/broker/stratad STRATA_CLI=../../build/client/strata \\
        python3 -m unittest test_confluent
"""
import logging
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import strata_fixture as fx  # noqa: E402
from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError,  # noqa: E402
                             Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402


def binary_records(n, seed):
    """n (key, value, headers) with every byte value in them, null keys, empty values and one
    value of 300 KB."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = None if i % 5 == 0 else bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
        if i % 7 == 3:
            value = b""
        elif i % 3 == 0:
            value = bytes(range(256)) * rng.randrange(1, 8)
        else:
            value = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        headers = [("h", bytes([i % 256])), ("idx", str(i).encode())] if i % 2 else []
        out.append((key, value, headers))
    out[n // 3] = (b"big", b"\x00\xff" * 150_000, [("size", b"300000")])
    return out


class LogLines(logging.Handler):
    """Collects librdkafka's log lines (confluent-kafka hands them to a Python logger)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def text(self):
        return "\n".join(self.lines)


def produce_all(bootstrap, topic, records, conf=None, partition=0, timestamps=None, log=None):
    """Produces records to topic/partition; returns the delivery reports (err, partition,
    offset) in send order. With log (a LogLines), librdkafka's debug=msg lines go there."""
    reports = [None] * len(records)
    conf = {"bootstrap.servers": bootstrap, "linger.ms": 5, **(conf or {})}
    if log is not None:
        logger = logging.getLogger(f"librdkafka.{fx.unique('p')}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(log)
        p = Producer({**conf, "debug": "msg"}, logger=logger)
    else:
        p = Producer(conf)

    def on_delivery(i):
        return lambda err, msg: reports.__setitem__(i, (err, msg.partition(), msg.offset()))

    for i, (key, value, headers) in enumerate(records):
        kwargs = {"timestamp": timestamps[i]} if timestamps else {}
        while True:
            try:
                p.produce(topic, value=value, key=key, headers=headers or None,
                          partition=partition, on_delivery=on_delivery(i), **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(30)
    assert remaining == 0, f"{remaining} records not delivered in 30 s"
    return reports


def consume_partition(bootstrap, topic, partition, count, conf=None, timeout_s=30):
    """Reads count records of one partition from the beginning (no group); returns messages."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": fx.unique("reader"),
                  "enable.auto.commit": False, "enable.partition.eof": False, **(conf or {})})
    try:
        c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            for m in c.consume(num_messages=min(1000, count - len(out)), timeout=0.5):
                if m.error():
                    raise AssertionError(f"consume error: {m.error()}")
                out.append(m)
        return out
    finally:
        c.close()


def watermarks(bootstrap, topic, partition):
    """(log start, high watermark) of one partition, as ListOffsets gives them."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


class ConfluentTest(fx.BrokerTestCase):

    def setUp(self):
        super().setUp()
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap})

    def check_round_trip(self, acks, codec):
        topic = self.topic(f"ck-{acks}-{codec}")
        records = binary_records(400, seed=f"{acks}/{codec}")
        log = LogLines()
        reports = produce_all(self.bootstrap, topic, records,
                              {"acks": acks, "compression.type": codec,
                               "batch.num.messages": 50}, log=log)
        self.assertEqual([r[0] for r in reports], [None] * len(records), "delivery errors")
        if acks != "0":
            self.assertEqual([r[2] for r in reports], list(range(len(records))),
                             "delivery reports' offsets not contiguous from 0")
        msgs = consume_partition(self.bootstrap, topic, 0, len(records))
        self.assertEqual([m.offset() for m in msgs], list(range(len(records))))
        for m, (key, value, headers) in zip(msgs, records):
            self.assertEqual(m.key(), key, f"key at offset {m.offset()}")
            self.assertEqual(m.value(), value, f"value at offset {m.offset()}")
            self.assertEqual(m.headers() or [], headers, f"headers at offset {m.offset()}")
        lo, hi = watermarks(self.bootstrap, topic, 0)
        self.assertEqual((lo, hi), (0, len(records)))
        fx.assert_librdkafka_compressed(self, log.text(), codec)

    def test_produce_consume_acks_and_lz4(self):
        for acks in ("0", "1", "all"):
            for codec in ("none", "lz4"):
                with self.subTest(acks=acks, codec=codec):
                    self.check_round_trip(acks, codec)

    def test_idempotent_producer_10000_exactly_once(self):
        topic = self.topic("idem", partitions=3)
        n = 10_000
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                      "acks": "all", "linger.ms": 2, "batch.num.messages": 200,
                      "max.in.flight.requests.per.connection": 5, "compression.type": "lz4"})
        errors, offsets = [], set()

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
            else:
                offsets.add((msg.partition(), msg.offset()))

        for i in range(n):
            while True:
                try:
                    p.produce(topic, key=str(i % 97).encode(), value=f"rec-{i}".encode(),
                              on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        self.assertEqual(p.flush(60), 0)
        self.assertEqual(errors, [])
        self.assertEqual(len(offsets), n, "each record acknowledged at its own offset")
        per_partition = {}
        for part, off in offsets:
            per_partition.setdefault(part, []).append(off)
        total = 0
        values = []
        for part in range(3):
            want = sorted(per_partition.get(part, []))
            self.assertEqual(want, list(range(len(want))), f"partition {part} offsets")
            msgs = consume_partition(self.bootstrap, topic, part, len(want))
            self.assertEqual([m.offset() for m in msgs], want)
            values += [m.value() for m in msgs]
            lo, hi = watermarks(self.bootstrap, topic, part)
            self.assertEqual((lo, hi), (0, len(want)), f"partition {part} holds extra records")
            total += hi
        self.assertEqual(total, n)
        self.assertEqual(sorted(values), sorted(f"rec-{i}".encode() for i in range(n)))

    def test_offsets_for_times(self):
        topic = self.topic("ck-ts", partitions=2)
        base = fx.recent_ts_base()
        recs = [(None, f"v{i}".encode(), []) for i in range(20)]
        # Partition 0: base+0,0,1000,1000,...; partition 1: every timestamp 500 ms later.
        for part, shift in ((0, 0), (1, 500)):
            reports = produce_all(self.bootstrap, topic, recs, {"batch.num.messages": 6},
                                  partition=part,
                                  timestamps=[base + shift + (i // 2) * 1000 for i in range(20)])
            self.assertEqual([r[0] for r in reports], [None] * 20)
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": fx.unique("ts")})
        try:
            for ts, want in ((base - 1, (0, 0)), (base, (0, 0)), (base + 1, (2, 0)),
                             (base + 500, (2, 0)), (base + 501, (2, 2)),
                             (base + 9000, (18, 18)), (base + 9500, (-1, 18)),
                             (base + 9501, (-1, -1))):
                with self.subTest(ts=ts):
                    got = c.offsets_for_times([TopicPartition(topic, 0, ts),
                                               TopicPartition(topic, 1, ts)], timeout=10)
                    self.assertEqual([tp.error for tp in got], [None, None])
                    self.assertEqual(tuple(tp.offset for tp in got), want)
        finally:
            c.close()

    # --- admin -----------------------------------------------------------------------------------

    def test_admin_create_describe_delete(self):
        name = fx.unique("adm")
        fs = self.admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)],
                                      operation_timeout=10)
        self.assertIsNone(fs[name].result(15))
        md = self.admin.list_topics(name, timeout=10)
        self.assertIsNone(md.topics[name].error)
        self.assertEqual(sorted(md.topics[name].partitions), [0, 1, 2])

        [(res, f)] = self.admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, name)]).items()
        configs = f.result(15)
        self.assertIn("cleanup.policy", configs)
        self.assertEqual(configs["cleanup.policy"].value, "delete")
        self.assertEqual(configs["retention.ms"].value, "604800000")

        # Creating it again: TOPIC_ALREADY_EXISTS.
        fs = self.admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
        err = fs[name].exception(15).args[0]
        self.assertEqual(err.code(), KafkaError.TOPIC_ALREADY_EXISTS, err)
        self.assertEqual(err.code(), fx.TOPIC_ALREADY_EXISTS)

        fs = self.admin.delete_topics([name], operation_timeout=10)
        self.assertIsNone(fs[name].result(15))
        md = self.admin.list_topics(timeout=10)
        self.assertNotIn(name, md.topics)
        md = self.admin.list_topics(name, timeout=10)
        self.assertEqual(md.topics[name].error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_admin_create_with_config(self):
        name = fx.unique("admcfg")
        fs = self.admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1,
                                                config={"retention.ms": "3600000"})])
        self.assertIsNone(fs[name].result(15))
        [(res, f)] = self.admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, name)]).items()
        self.assertEqual(f.result(15)["retention.ms"].value, "3600000")

    def test_admin_invalid_partitions(self):
        name = fx.unique("adm0")
        fs = self.admin.create_topics([NewTopic(name, num_partitions=0, replication_factor=1)])
        err = fs[name].exception(15).args[0]
        self.assertEqual(err.code(), fx.INVALID_PARTITIONS, err)
        md = self.admin.list_topics(timeout=10)
        self.assertNotIn(name, md.topics)

    def test_admin_delete_unknown_topic(self):
        name = fx.unique("nosuch")
        fs = self.admin.delete_topics([name])
        err = fs[name].exception(15).args[0]
        self.assertEqual(err.code(), fx.UNKNOWN_TOPIC_OR_PARTITION, err)

    def test_metadata_and_produce_unknown_topic(self):
        name = fx.unique("nosuch")
        md = self.admin.list_topics(name, timeout=10)
        self.assertEqual(md.topics[name].error.code(), fx.UNKNOWN_TOPIC_OR_PARTITION)
        reports = produce_all(self.bootstrap, name, [(None, b"x", [])],
                              {"message.timeout.ms": 5000,
                               "topic.metadata.propagation.max.ms": 1000})
        err = reports[0][0]
        self.assertIsNotNone(err)
        # librdkafka reports the broker's UNKNOWN_TOPIC_OR_PART as its own _UNKNOWN_TOPIC once the
        # topic stays missing past topic.metadata.propagation.max.ms; a timeout or anything else
        # would mean the broker answered otherwise.
        self.assertIn(err.code(), (KafkaError._UNKNOWN_TOPIC, KafkaError.UNKNOWN_TOPIC_OR_PART),
                      err)
        self.assertNotIn(name, self.admin.list_topics(timeout=10).topics)

    def test_fetch_out_of_range(self):
        topic = self.topic("oor")
        produce_all(self.bootstrap, topic, [(None, f"v{i}".encode(), []) for i in range(10)])
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": fx.unique("oor"),
                      "auto.offset.reset": "error", "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, 0, 1000)])
            deadline = time.monotonic() + 20
            err = None
            while err is None and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is not None:
                    self.assertIsNotNone(m.error(), f"a record at offset {m.offset()}")
                    err = m.error()
            self.assertIsNotNone(err, "no error for offset 1000 of a 10-record partition")
            # With auto.offset.reset=error librdkafka surfaces the broker's OFFSET_OUT_OF_RANGE
            # as _AUTO_OFFSET_RESET, naming the broker error in the text.
            self.assertEqual(err.code(), KafkaError._AUTO_OFFSET_RESET, err)
            self.assertIn("Broker: Offset out of range", err.str())
        finally:
            c.close()

    def test_refused_codecs(self):
        for codec in ("gzip", "snappy", "zstd"):
            with self.subTest(codec=codec):
                topic = self.topic(f"ck-{codec}")
                log = LogLines()
                reports = produce_all(self.bootstrap, topic,
                                      [(None, b"hello " * 2000, [])] * 3,
                                      {"compression.type": codec, "message.timeout.ms": 10000},
                                      log=log)
                codecs, refused = fx.librdkafka_codecs(log.text())
                self.assertIsNone(refused, f"librdkafka did not compress, so the broker never "
                                  f"saw {codec}: {refused}")
                self.assertEqual(set(codecs), {codec})
                for err, _, _ in reports:
                    self.assertIsNotNone(err)
                    self.assertEqual(err.code(), fx.UNSUPPORTED_COMPRESSION_TYPE, err)
                lo, hi = watermarks(self.bootstrap, topic, 0)
                self.assertEqual(hi, 0, "a refused batch was stored")

    def test_list_groups(self):
        topic = self.topic("ck-grp", partitions=2)
        group = fx.unique("grp")
        produce_all(self.bootstrap, topic, [(None, b"x", [])] * 4)
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group,
                      "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
        try:
            c.subscribe([topic])
            fx.wait_until(lambda: (c.poll(0.2), c.assignment())[1], 30,
                          "the consumer's first assignment")
            groups = self.admin.list_groups(timeout=10)
            mine = [g for g in groups if g.id == group]
            self.assertEqual(len(mine), 1, [g.id for g in groups])
            g = mine[0]
            self.assertIsNone(g.error)
            self.assertEqual(g.state, "Stable")
            self.assertEqual(g.protocol_type, "consumer")
            self.assertIn(g.protocol, ("range", "roundrobin", "cooperative-sticky"))
            self.assertEqual(len(g.members), 1)
            [only] = self.admin.list_groups(group=group, timeout=10)
            self.assertEqual(only.id, group)
        finally:
            c.close()
        g = fx.wait_until(lambda: [g for g in self.admin.list_groups(group=group, timeout=10)
                                   if g.state == "Empty"], 10, "the group empty after close")
        self.assertEqual(g[0].members, [])


if __name__ == "__main__":
    fx.configure_from_argv()
    unittest.main()
