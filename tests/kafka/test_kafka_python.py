#!/usr/bin/env python3
"""kafka-python 2.0.2 (Debian's python3-kafka, with python3-lz4) against Strata's Kafka listener:
the broker version it infers (>= 0.11, so record batches v2 and headers), produce with acks
0/1/all with and without LZ4 read back byte for byte, gzip refused with
UNSUPPORTED_COMPRESSION_TYPE, offsets_for_times, KafkaAdminClient's topics and consumer groups
with their error codes; and, spoken in raw requests through kafka-python's own codec, what no
client shows directly: an idempotent producer's replayed batch adds nothing, and the error codes
of Produce to an unknown topic and of Fetch past the end.

    cd tests/kafka && STRATAD=../../build/broker/stratad STRATA_CLI=../../build/client/strata \\
        python3 -m unittest test_kafka_python
"""
import logging
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import strata_fixture as fx  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka import errors as Errors  # noqa: E402
from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient,  # noqa: E402
                         NewTopic)
from kafka.protocol.admin import ApiVersionRequest  # noqa: E402
from kafka.protocol.fetch import FetchRequest  # noqa: E402
from kafka.protocol.offset import OffsetRequest  # noqa: E402
from kafka.protocol.produce import ProduceRequest  # noqa: E402

# kafka-python logs every expected error at ERROR; the assertions say what matters.
logging.getLogger("kafka").setLevel(logging.CRITICAL)

LATEST = -1


def records_for(seed, n=300):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = None if i % 4 == 0 else f"k{i}".encode()
        value = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 1500)))
        if i % 3 == 0:
            value = b"compressible " * rng.randrange(1, 300)
        headers = [("n", str(i).encode()), ("bin", bytes([255 - i % 256]))] if i % 2 else []
        out.append((key, value, headers))
    out[n // 2] = (b"big", bytes(range(256)) * 1000, [])
    return out


class KafkaPythonTest(fx.BrokerTestCase):

    def producer(self, **conf):
        p = KafkaProducer(bootstrap_servers=self.bootstrap, request_timeout_ms=15000,
                          max_block_ms=15000, **conf)
        self.addCleanup(p.close, 10)
        return p

    def consumer(self, **conf):
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                          consumer_timeout_ms=1000, **conf)
        self.addCleanup(c.close)
        return c

    def admin(self):
        a = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        self.addCleanup(a.close)
        return a

    def read_partition(self, topic, partition, count, timeout_s=30):
        c = self.consumer()
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500, max_records=count - len(out)).values():
                out.extend(recs)
        return out

    def end_offset(self, topic, partition):
        c = self.consumer()
        tp = TopicPartition(topic, partition)
        return c.end_offsets([tp])[tp]

    # --- negotiation -----------------------------------------------------------------------------

    def test_infers_a_broker_with_record_batches_v2(self):
        p = self.producer()
        self.assertGreaterEqual(p.config["api_version"], (0, 11),
                                "kafka-python would fall back to message format v0/v1")
        c = self.consumer()
        self.assertGreaterEqual(c.config["api_version"], (0, 11))

    def test_api_versions_cover_what_clients_need(self):
        # The single versions librdkafka 2.0.2 needs for its features (rdkafka_feature.c), the
        # versions kafka-python uses at >= 0.11, and kafkajs's ApiVersions probe. Produce v0:
        # librdkafka 2.0.2 compresses with gzip, snappy or lz4 only when the broker's Produce
        # range includes v0 (rd_kafka_msgset_writer_select_MsgVersion), else it sends the batch
        # uncompressed; it still sends v3+ with record batches v2.
        needed = {0: [0, 3], 1: [4], 2: [1], 3: [0, 1, 4], 8: [2], 9: [1], 10: [0], 11: [0, 2],
                  12: [0, 1], 13: [0, 1], 14: [0, 1], 15: [0], 16: [0], 18: [0, 1, 2],
                  19: [0], 20: [0], 22: [0], 32: [0]}
        with fx.KafkaWire(self.broker.kafka_host, self.broker.kafka_port) as wire:
            resp = wire.send(ApiVersionRequest[0]())
        self.assertEqual(resp.error_code, 0)
        ranges = {k: (lo, hi) for k, lo, hi in resp.api_versions}
        for key, versions in needed.items():
            self.assertIn(key, ranges, f"API key {key} not advertised")
            lo, hi = ranges[key]
            for v in versions:
                self.assertTrue(lo <= v <= hi, f"API key {key} v{v} outside {lo}-{hi}")

    # --- produce and consume ---------------------------------------------------------------------

    def check_round_trip(self, acks, compression):
        topic = self.topic(f"kp-{acks}-{compression}")
        records = records_for(f"{acks}{compression}")
        p = self.producer(acks=acks, compression_type=compression, linger_ms=5,
                          batch_size=16384)
        futures = [p.send(topic, key=k, value=v, headers=h, partition=0) for k, v, h in records]
        p.flush(30)
        metas = [f.get(timeout=30) for f in futures]
        if acks != 0:
            self.assertEqual([m.offset for m in metas], list(range(len(records))))
        got = self.read_partition(topic, 0, len(records))
        self.assertEqual([r.offset for r in got], list(range(len(records))))
        for r, (k, v, h) in zip(got, records):
            self.assertEqual((r.key, r.value, r.headers), (k, v, h), f"offset {r.offset}")
            self.assertEqual(r.timestamp_type, 0, "CreateTime")
        self.assertEqual(self.end_offset(topic, 0), len(records))

    def test_produce_consume_acks_and_lz4(self):
        for acks in (0, 1, "all"):
            for compression in (None, "lz4"):
                with self.subTest(acks=acks, compression=compression):
                    self.check_round_trip(acks, compression)

    def test_gzip_refused(self):
        topic = self.topic("kp-gzip")
        p = self.producer(compression_type="gzip", retries=0)
        # kafka-python 2.0.2 has no class for error 76 and reports it as UnknownError, so the
        # code itself is read from the Produce responses its sender handles.
        codes = []
        handle = p._sender._handle_produce_response

        def spy(node_id, send_time, batches, response):
            codes.extend(part[1] for _, parts in response.topics for part in parts)
            return handle(node_id, send_time, batches, response)

        p._sender._handle_produce_response = spy
        f = p.send(topic, value=b"hello " * 100, partition=0)
        with self.assertRaises(Errors.KafkaError) as cm:
            f.get(timeout=20)
        self.assertIsInstance(cm.exception, Errors.BrokerResponseError)
        self.assertEqual(codes, [fx.UNSUPPORTED_COMPRESSION_TYPE])
        self.assertEqual(self.end_offset(topic, 0), 0)

    def test_offsets_for_times(self):
        topic = self.topic("kp-ts", partitions=2)
        base = fx.recent_ts_base()
        p = self.producer(linger_ms=0)
        for part, shift in ((0, 0), (1, 500)):
            fs = [p.send(topic, value=f"v{i}".encode(), partition=part,
                         timestamp_ms=base + shift + (i // 2) * 1000) for i in range(20)]
            p.flush(10)
            self.assertEqual([f.get(10).offset for f in fs], list(range(20)))
        c = self.consumer()
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        for ts, want in ((base - 1, (0, 0)), (base, (0, 0)), (base + 1, (2, 0)),
                         (base + 500, (2, 0)), (base + 501, (2, 2)),
                         (base + 9000, (18, 18)), (base + 9500, (None, 18)),
                         (base + 9501, (None, None))):
            with self.subTest(ts=ts):
                got = c.offsets_for_times({tp: ts for tp in tps})
                offsets = tuple(None if got[tp] is None else got[tp].offset for tp in tps)
                self.assertEqual(offsets, want)
                for tp, shift in zip(tps, (0, 500)):
                    if got[tp] is not None:
                        # ListOffsets v1+ gives the timestamp of the record found.
                        self.assertEqual(got[tp].timestamp,
                                         base + shift + (got[tp].offset // 2) * 1000,
                                         f"timestamp of offset {got[tp].offset} of {tp}")

    # --- admin -----------------------------------------------------------------------------------

    def test_admin_topics(self):
        admin = self.admin()
        name = fx.unique("kpadm")
        admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)],
                            timeout_ms=10000)
        self.assertIn(name, admin.list_topics())
        [desc] = admin.describe_topics([name])
        self.assertEqual(desc["error_code"], 0)
        self.assertEqual(sorted(p["partition"] for p in desc["partitions"]), [0, 1, 2, 3])

        [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        [(error_code, _msg, _rtype, rname, entries)] = resp.resources
        self.assertEqual((error_code, rname), (0, name))
        configs = {e[0]: e[1] for e in entries}
        self.assertEqual(configs.get("cleanup.policy"), "delete", configs)

        with self.assertRaises(Errors.TopicAlreadyExistsError) as cm:
            admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)])
        self.assertEqual(cm.exception.errno, fx.TOPIC_ALREADY_EXISTS)

        admin.delete_topics([name], timeout_ms=10000)
        self.assertNotIn(name, admin.list_topics())
        with self.assertRaises(Errors.UnknownTopicOrPartitionError) as cm:
            admin.delete_topics([name])
        self.assertEqual(cm.exception.errno, fx.UNKNOWN_TOPIC_OR_PARTITION)

    def test_admin_invalid_partitions(self):
        admin = self.admin()
        for n in (0, -3):
            with self.subTest(partitions=n):
                name = fx.unique("kpbad")
                with self.assertRaises(Errors.InvalidPartitionsError) as cm:
                    admin.create_topics([NewTopic(name, num_partitions=n, replication_factor=1)])
                self.assertEqual(cm.exception.errno, fx.INVALID_PARTITIONS)
                self.assertNotIn(name, admin.list_topics())

    def test_consumer_group_list_describe_offsets(self):
        topic = self.topic("kp-grp", partitions=2)
        group = fx.unique("kpgrp")
        p = self.producer()
        for i in range(10):
            p.send(topic, value=f"v{i}".encode(), partition=i % 2)
        p.flush(10)
        c = self.consumer(group_id=group, auto_offset_reset="earliest",
                          session_timeout_ms=6000, heartbeat_interval_ms=1000)
        c.subscribe([topic])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 10 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(recs)
        self.assertEqual(len(got), 10)
        c.commit()

        admin = self.admin()
        groups = admin.list_consumer_groups()
        self.assertIn((group, "consumer"), groups)
        [info] = admin.describe_consumer_groups([group])
        self.assertEqual(info.error_code, 0)
        self.assertEqual(info.group, group)
        self.assertEqual(info.state, "Stable")
        self.assertEqual(info.protocol_type, "consumer")
        self.assertEqual(len(info.members), 1)
        assignment = info.members[0].member_assignment.assignment
        self.assertEqual(sorted(assignment), [(topic, [0, 1])])
        offsets = admin.list_consumer_group_offsets(group)
        self.assertEqual({tp.partition: om.offset for tp, om in offsets.items()}, {0: 5, 1: 5})

    # --- raw requests through kafka-python's codec -----------------------------------------------

    def produce_raw(self, wire, topic, partition, batch, acks=-1):
        resp = wire.send(ProduceRequest[3](transactional_id=None, required_acks=acks,
                                           timeout=10000, topics=[(topic, [(partition, batch)])]))
        [(rtopic, [(rpart, error_code, offset, _ts)])] = resp.topics
        self.assertEqual((rtopic, rpart), (topic, partition))
        return error_code, offset

    def list_latest(self, wire, topic, partition):
        resp = wire.send(OffsetRequest[1](replica_id=-1,
                                          topics=[(topic, [(partition, LATEST)])]))
        [(_, [(_, error_code, _ts, offset)])] = resp.topics
        self.assertEqual(error_code, 0)
        return offset

    def test_idempotent_replay_adds_nothing(self):
        topic = self.topic("kp-replay")
        with fx.KafkaWire(self.broker.kafka_host, self.broker.kafka_port) as wire:
            resp = wire.send(fx.init_producer_id_request_v0())
            self.assertEqual(resp.error_code, 0)
            pid, epoch = resp.producer_id, resp.producer_epoch
            self.assertGreaterEqual(pid, 0)
            base = fx.recent_ts_base()
            recs = [(b"k", f"v{i}".encode(), [], base + i) for i in range(5)]
            first = fx.record_batch(recs, pid, epoch, base_sequence=0)
            self.assertEqual(self.produce_raw(wire, topic, 0, first), (0, 0))
            self.assertEqual(self.list_latest(wire, topic, 0), 5)

            # The same batch again, as a producer retrying after a lost response would send it:
            # answered as a success at its first offset (or DUPLICATE_SEQUENCE_NUMBER, which
            # clients also take as success), and nothing appended.
            error_code, offset = self.produce_raw(wire, topic, 0, first)
            self.assertIn(error_code, (0, fx.DUPLICATE_SEQUENCE_NUMBER))
            if error_code == 0:
                self.assertEqual(offset, 0)
            self.assertEqual(self.list_latest(wire, topic, 0), 5)

            # The next sequence appends; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER and appends nothing.
            second = fx.record_batch(recs[:3], pid, epoch, base_sequence=5)
            self.assertEqual(self.produce_raw(wire, topic, 0, second), (0, 5))
            gap = fx.record_batch(recs[:2], pid, epoch, base_sequence=100)
            error_code, _ = self.produce_raw(wire, topic, 0, gap)
            self.assertEqual(error_code, fx.OUT_OF_ORDER_SEQUENCE_NUMBER)
            self.assertEqual(self.list_latest(wire, topic, 0), 8)
            # Replaying the first batch after the second is still a duplicate.
            error_code, offset = self.produce_raw(wire, topic, 0, first)
            self.assertIn(error_code, (0, fx.DUPLICATE_SEQUENCE_NUMBER))
            if error_code == 0:
                self.assertEqual(offset, 0)
            self.assertEqual(self.list_latest(wire, topic, 0), 8)
        values = [r.value for r in self.read_partition(topic, 0, 8)]
        self.assertEqual(values, [f"v{i}".encode() for i in (0, 1, 2, 3, 4, 0, 1, 2)])

    def test_raw_produce_unknown_topic(self):
        name = fx.unique("nosuch")
        batch = fx.record_batch([(None, b"x", [], fx.recent_ts_base())])
        with fx.KafkaWire(self.broker.kafka_host, self.broker.kafka_port) as wire:
            error_code, _ = self.produce_raw(wire, name, 0, batch)
        self.assertEqual(error_code, fx.UNKNOWN_TOPIC_OR_PARTITION)
        self.assertNotIn(name, self.admin().list_topics())

    def test_raw_produce_gzip_refused(self):
        topic = self.topic("kp-rawgzip")
        batch = fx.record_batch([(None, b"hello " * 40, [], fx.recent_ts_base())],
                                compression=1)
        with fx.KafkaWire(self.broker.kafka_host, self.broker.kafka_port) as wire:
            error_code, _ = self.produce_raw(wire, topic, 0, batch)
            self.assertEqual(error_code, fx.UNSUPPORTED_COMPRESSION_TYPE)
            self.assertEqual(self.list_latest(wire, topic, 0), 0)

    def test_raw_fetch_out_of_range(self):
        topic = self.topic("kp-oor")
        batch = fx.record_batch([(None, f"v{i}".encode(), [], fx.recent_ts_base())
                                 for i in range(10)])
        with fx.KafkaWire(self.broker.kafka_host, self.broker.kafka_port) as wire:
            self.assertEqual(self.produce_raw(wire, topic, 0, batch), (0, 0))
            for offset, want in ((11, fx.OFFSET_OUT_OF_RANGE), (1000, fx.OFFSET_OUT_OF_RANGE),
                                 (-5, fx.OFFSET_OUT_OF_RANGE), (3, 0)):
                with self.subTest(offset=offset):
                    resp = wire.send(FetchRequest[4](
                        replica_id=-1, max_wait_time=100, min_bytes=0, max_bytes=1 << 20,
                        isolation_level=0, topics=[(topic, [(0, offset, 1 << 20)])]))
                    [(_, [part])] = resp.topics
                    partition, error_code, high_watermark = part[0], part[1], part[2]
                    self.assertEqual((partition, error_code), (0, want))
                    self.assertEqual(high_watermark, 10)


if __name__ == "__main__":
    fx.configure_from_argv()
    unittest.main()
