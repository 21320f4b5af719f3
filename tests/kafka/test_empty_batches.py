"""Empty batches are never served to Kafka clients (docs/kafka.md#batches).

Compaction keeps an idempotent producer's last batch even when every record in it is superseded,
as a batch with no records, so that a rebuilt producer state knows the producer's last sequence.
Some Kafka clients loop on such batches (kafkajs), so the Kafka listener leaves them out of Fetch
answers, and a long poll that finds only empty batches reads on past them instead of answering
at once with nothing.

The test makes one: producer P writes key k once (its only batch), another producer overwrites k,
filler records roll the segment, and the broker's log cleaner runs every 100 ms.
"""
import time
import unittest

import strata_fixture as fx
from kafka.protocol.fetch import FetchRequest
from kafka.protocol.produce import ProduceRequest
from kafka.record.memory_records import MemoryRecords


class EmptyBatchTest(fx.BrokerTestCase):
    broker_config = {"log_cleaner_interval_ms": 100}

    def produce(self, wire, topic, batch):
        resp = wire.send(ProduceRequest[3](transactional_id=None, required_acks=-1,
                                           timeout=10000, topics=[(topic, [(0, batch)])]))
        [(_, [(_, error_code, offset, _ts)])] = resp.topics
        self.assertEqual(error_code, 0)
        return offset

    def fetch(self, wire, topic, offset, max_wait_ms=0, partition_max_bytes=1 << 20):
        """(high watermark, [(base offset, record count, [record offsets])]) of one Fetch v4."""
        resp = wire.send(FetchRequest[4](
            replica_id=-1, max_wait_time=max_wait_ms, min_bytes=1, max_bytes=1 << 20,
            isolation_level=0, topics=[(topic, [(0, offset, partition_max_bytes)])]))
        [(_, [part])] = resp.topics
        error_code, high_watermark, records = part[1], part[2], part[-1]
        self.assertEqual(error_code, 0)
        batches = []
        memory = MemoryRecords(records)
        while memory.has_next():
            batch = memory.next_batch()
            offsets = [r.offset for r in batch]
            batches.append((batch.base_offset, len(offsets), offsets))
        return high_watermark, batches

    def test_a_compacted_away_batch_is_never_served(self):
        topic = self.topic("empty", 1, cleanup_policy="compact", segment_bytes=4096)
        base = fx.recent_ts_base()
        with fx.KafkaWire(self.broker.kafka_host, self.broker.kafka_port) as wire:
            resp = wire.send(fx.init_producer_id_request_v0())
            self.assertEqual(resp.error_code, 0)
            pid, epoch = resp.producer_id, resp.producer_epoch
            # P's only batch: offset 0, key k. Then k again from a plain producer, and filler
            # with keys of their own that fill the 4 KiB segment so it rolls.
            self.produce(wire, topic, fx.record_batch([(b"k", b"old", [], base)], pid, epoch, 0))
            self.produce(wire, topic, fx.record_batch([(b"k", b"new", [], base + 1)]))
            for i in range(12):
                self.produce(wire, topic, fx.record_batch([(f"f{i}".encode(), b"x" * 1000, [],
                                                            base + 2 + i)]))

            def compacted():
                # Offset 0's batch still holds its record until the cleaner has run; after, a
                # fetch from 0 starts at the next batch.
                _, batches = self.fetch(wire, topic, 0)
                return batches and batches[0][0] > 0

            fx.wait_until(compacted, 30, "the log cleaner to empty the first batch")
            high_watermark, batches = self.fetch(wire, topic, 0)
            self.assertEqual(high_watermark, 14)
            for base_offset, count, offsets in batches:
                self.assertGreater(count, 0, f"an empty batch at {base_offset} was served")
            served = [o for _, _, offsets in batches for o in offsets]
            self.assertNotIn(0, served)
            self.assertEqual(served[0], 1)  # the overwrite of k, the first record left

            # With a 1-byte budget the read finds only the empty batch (a read always returns one
            # whole batch): the broker reads on past it, within max_wait, to the next record.
            _, batches = self.fetch(wire, topic, 0, max_wait_ms=1000, partition_max_bytes=1)
            self.assertEqual([(b, c) for b, c, _ in batches], [(1, 1)])

            # The same from the offset right after the last record, where nothing is: the long
            # poll waits for its max_wait and answers nothing, and never an empty batch.
            started = time.monotonic()
            _, batches = self.fetch(wire, topic, 14, max_wait_ms=300)
            self.assertEqual(batches, [])
            self.assertGreaterEqual(time.monotonic() - started, 0.25)


if __name__ == "__main__":
    fx.configure_from_argv()
    unittest.main()
