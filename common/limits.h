// Every maximum Strata enforces, in one place. Units come last in each name; each limit says why
// it exists. Code that needs a bound includes this header instead of inventing a local constant.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata::limits {

// --- Record batches -------------------------------------------------------------------------
// Largest encoded batch (header + records, as stored). Bounds the memory one producer request can
// pin and the size of one fetch response entry. Kafka's default message.max.bytes is ~1 MiB; we
// allow larger batches because Strata producers batch up to 128 KiB by default and compression
// ratios can make the uncompressed side much larger.
inline constexpr uint32_t batch_bytes_max = 16u << 20;  // 16 MiB
// Largest records section after LZ4 decompression. Stops a tiny "zip bomb" batch from making the
// reader allocate gigabytes.
inline constexpr uint32_t batch_uncompressed_bytes_max = 64u << 20;  // 64 MiB
// Records in one batch. record_count is an i32 on the wire; this keeps offsets-per-batch sane.
inline constexpr int32_t batch_records_max = 1 << 20;
// Headers on one record. Each header costs parsing work; Kafka clients rarely send more than ~10.
inline constexpr int32_t record_headers_max = 1024;

// --- Segments ---------------------------------------------------------------------------------
// Segment file size bounds. The sparse index stores file positions as u32, so a segment must stay
// below 4 GiB; the minimum keeps a segment large enough to hold at least one maximal batch header.
inline constexpr uint64_t segment_bytes_max = (4ull << 30) - 1;
inline constexpr uint64_t segment_bytes_min = 4096;
// The index stores offsets relative to the segment base as u32.
inline constexpr int64_t segment_offsets_max = INT32_MAX;

// --- Compaction -------------------------------------------------------------------------------
// Distinct keys one compaction pass remembers (log/compaction.h: XXH3-128 of the key -> newest
// offset, about 25 bytes per key in the hash table and twice that while it grows, so at most
// ~100 MiB per pass). Kafka bounds its cleaner the same way (log.cleaner.dedupe.buffer.size,
// 128 MiB). A log with more keys is cleaned in several passes: the map stops at a segment
// boundary and only the segments below it are cleaned.
inline constexpr size_t compaction_keys_max = 2u << 20;
// Idempotent producer ids whose last batch in one group of segments compaction tracks (it keeps
// that batch, possibly empty, so a rebuilt producer state knows the producer's last sequence).
// Past this every idempotent batch is kept, which only costs bytes.
inline constexpr size_t compaction_producer_ids_max = 65536;

// --- Open files and memory maps ---------------------------------------------------------------
// Mappings of segment files kept open at once (log/handle_cache.h: readers of every segment,
// active or sealed, and the appender under AppendPath::kMapping). Linux's default
// vm.max_map_count is 65530 areas per process, which also count every thread stack, library and
// large allocation; 8192 leaves most of it to them, and is more than the segments a broker reads
// from at once in practice, so that tailing readers of many partitions rarely map again.
inline constexpr size_t mmaps_open_max = 8192;
// Segment files kept open at once (log/handle_cache.h); a segment not in use holds no descriptor.
// With connections_max client sockets and a reserve for everything else (index and metadata files,
// directory syncs, listeners) this is what stratad needs from RLIMIT_NOFILE; Debian's default hard
// limit is 524288 (systemd) and stratad raises its soft limit to the hard one. With a lower limit
// stratad shrinks this cache to fit and says so (broker/main.cc).
inline constexpr size_t segment_files_open_max = 4096;
inline constexpr size_t fds_reserved = 256;

// Pending prefault hints (log/prefaulter.h). Each covers a few MiB ahead of one active segment;
// a full queue drops hints, which only costs the appender some page faults.
inline constexpr size_t prefault_requests_max = 1024;

// --- Durability -------------------------------------------------------------------------------
// Appends that may wait for one log's next fsync at once. A full queue pushes back on producers
// instead of growing without bound.
inline constexpr size_t durable_waiters_max = 65536;

// A thread that waits for durability while no fsync is running leads the group commit itself
// (log/log.h, WhenDurable) instead of handing it to the Flusher thread, saving two thread
// wake-ups (about 60 us on this VM, bench/compare.sh W3). It does so only while the log's recent
// fsyncs (an average) took at most this long: on a slow disk the waiting thread, a broker I/O
// thread serving other connections too, must not block for the fsync.
inline constexpr int64_t lead_fsync_max_us = 1000;

// How often a flush also checkpoints the recovery point (the offset below which everything is
// fsynced) to disk, per partition. Each checkpoint creates and renames a small file and costs two
// fsyncs (on this VM's ext4, creating the file alone took ~0.8 ms of CPU in its inode allocator):
// with 1,000 busy partitions a 1 s interval made these a quarter of the broker's time. Damage
// found above the checkpoint after a crash is treated as an unsynced tail, so a shorter interval
// narrows that window, which only media damage (not a crash) can fall in. Kafka checkpoints
// recovery points every 60 s (log.flush.offset.checkpoint.interval.ms).
inline constexpr int64_t recovery_point_interval_ms = 60'000;

// --- Topics and partitions --------------------------------------------------------------------
// Threads that open (or close) a broker's partitions at once: at start-up, for a new topic, at
// shutdown. Each open mostly waits on the disk (reading index files, a few fsyncs after a crash),
// so more threads than cores overlap those waits; this bounds the threads and the files they hold
// open at once.
inline constexpr size_t partition_open_threads_max = 16;
// Longest topic name. Kafka's limit: a partition directory is named "<topic>-<partition>" and
// must fit a 255-byte file name with room for the partition number and a suffix.
inline constexpr size_t topic_name_bytes_max = 249;
// Partitions in one topic. Each open partition holds a file descriptor and a writable mapping of
// its active segment (plus preallocated disk), so the count bounds one topic's share of both.
inline constexpr int32_t topic_partitions_max = 1024;
// Largest topic config file (meta/topics/<name>.conf) the broker will read. A real one is a few
// hundred bytes; a larger file is damage, not config, and must not be loaded into memory whole.
inline constexpr size_t topic_config_bytes_max = 64u << 10;  // 64 KiB
// Batches remembered per idempotent producer for deduplication. Kafka's value: a producer has at
// most 5 requests in flight per partition (max.in.flight.requests.per.connection), so any retry
// it can send is one of its last 5 batches.
inline constexpr size_t producer_batches_retained_max = 5;
// Idempotent producer ids tracked per partition (partition/producer_state.h). Each costs about
// 300 bytes (so at most ~1.2 MiB per partition); beyond this the least recently appending producer
// is forgotten, which bounds a partition's memory against a flood of short-lived producers.
inline constexpr size_t producer_ids_max = 4096;

// --- Protocol -----------------------------------------------------------------------------------
// Largest frame on the native protocol, header included. A Produce request carries whole batches
// (each up to batch_bytes_max) for several partitions; Kafka's socket.request.max.bytes is 100 MiB.
// A connection buffers at most one frame, so this also bounds its memory.
inline constexpr size_t frame_bytes_max = 64u << 20;  // 64 MiB
static_assert(frame_bytes_max > 2 * batch_bytes_max, "a frame must carry a maximal batch");
// FlatBuffers verification bounds for a received body: nesting depth and number of tables. Our
// schemas nest a few levels; the bounds stop a crafted body from making verification expensive.
inline constexpr uint32_t fb_depth_max = 16;
inline constexpr uint32_t fb_tables_max = 1'000'000;

// --- Broker -------------------------------------------------------------------------------------
// Requests a connection may have in progress at once (Kafka's producer default for
// max.in.flight.requests.per.connection is 5; consumers pipeline fetches too). The connection stops
// reading once it has this many, so a pipelining client is pushed back through TCP.
inline constexpr size_t connection_requests_in_flight_max = 16;
// Open client connections per broker; more are accepted and closed at once (counted in metrics).
// Bounds file descriptors and per-connection memory.
inline constexpr size_t connections_max = 4096;
// A frame's bytes are read in pieces of at most this much, and its buffer grows only as bytes
// arrive: a client that announces a large frame and sends nothing costs no memory.
inline constexpr size_t frame_read_chunk_bytes = 256u << 10;  // 256 KiB
// Request bytes all connections together may hold in memory (frames being read and frames being
// handled). A reader that would pass it waits until handlers finish; slow senders holding budget
// are closed by frame_read_timeout_ms. With connection_requests_in_flight_max frames of up to
// frame_bytes_max each, a few connections could otherwise claim any amount of memory.
inline constexpr size_t broker_request_bytes_max = 1u << 30;  // 1 GiB
static_assert(broker_request_bytes_max >= 4 * frame_bytes_max, "room for several maximal frames");
// Frames up to this size are "small": heartbeats, commits, fetch requests, ordinary produce
// requests. Only small frames may use the last request_small_reserve_bytes of the budget, so
// clients holding large partly-received frames (slowly, or with hostile intent) can fill at most
// the rest and never stall everyone else's ordinary requests.
inline constexpr size_t frame_small_bytes_max = 1u << 20;  // 1 MiB
// A Kafka request other than Produce (docs/kafka.md). Decoding one makes objects several times its
// size on the wire (a 2-byte string becomes a 32-byte std::string, a 16-byte topic entry an
// 88-byte struct), memory the request budget above does not count; this bounds it per request.
// Real clients' requests are far smaller: a Metadata request naming 4,000 topics is about 1 MiB.
inline constexpr size_t kafka_request_bytes_max = 1u << 20;  // 1 MiB
// Reads a Kafka Fetch makes past batches with no records (which are never served) once its
// max_wait has passed, so a client that never waits still gets past a run of them longer than one
// read covers (docs/kafka.md#batches).
inline constexpr int kafka_fetch_empty_reads_max = 16;
inline constexpr size_t request_small_reserve_bytes = 128u << 20;  // 128 MiB
static_assert(broker_request_bytes_max > request_small_reserve_bytes + 4 * frame_bytes_max,
              "large frames keep room for several maximal frames");
// Longest a Fetch may long-poll (its max_wait_ms is capped to this).
inline constexpr int32_t fetch_wait_ms_max = 60'000;
// Longest a Produce with acks=all may wait for durability (its timeout_ms is capped to this).
inline constexpr int32_t produce_timeout_ms_max = 300'000;
// Producer ids reserved per write of meta/producer-ids (InitProducerId): ids are never reused
// after a crash, and the file is written once per this many producers.
inline constexpr int64_t producer_id_block = 1000;
// Bytes of an HTTP request to the metrics listener (request line and headers).
inline constexpr size_t metrics_request_bytes_max = 8u << 10;

// --- Consumer groups (consumer_offsets/) ------------------------------------------------------
// Longest group id. It names the group in logs, metrics labels and __consumer_offsets keys; Kafka
// has no limit, but a key must stay small next to the offsets it carries.
inline constexpr size_t group_id_bytes_max = 255;
// Groups one coordinator tracks. Any client can create a group (JoinGroup, OffsetCommit), and each
// costs memory until its offsets expire; past this, new groups are refused (GROUP_MAX_SIZE_REACHED).
inline constexpr size_t groups_max = 100'000;
// Members in one group. Each JoinGroup response to the leader lists every member's metadata, and a
// rebalance waits on every member, so a group must stay far below what a frame can carry.
inline constexpr size_t group_members_max = 1000;
// Bytes of one member's protocol metadata (all its offered protocols together) and of one
// member's assignment. The leader's JoinGroup response carries every member's metadata and its
// SyncGroup every assignment, so members_max of them must fit a frame.
inline constexpr size_t group_member_metadata_bytes_max = 32u << 10;  // 32 KiB
static_assert(group_members_max * group_member_metadata_bytes_max < frame_bytes_max,
              "the leader's JoinGroup response must fit a frame");
// Bytes of the metadata string a commit may carry with each offset (Kafka's
// offset.metadata.max.bytes).
inline constexpr size_t offset_metadata_bytes_max = 4096;

// Group partitions (group x topic-partition with a committed offset) that /metrics reports lag
// and record age for. Each costs a read of the log at the committed offset per scrape; beyond
// this the scrape stays cheap and strata_group_partitions_omitted says how many were left out.
inline constexpr size_t metrics_group_partitions_max = 10'000;

// --- Cluster (docs/cluster.md) ---------------------------------------------------------------
// Partition states one controller transaction writes. etcd refuses a transaction of more than
// --max-txn-ops (128 by default) compares or operations; each change is one of each, plus the
// controller-epoch compare.
inline constexpr size_t etcd_txn_changes_max = 100;
// Bytes of one answer from etcd's JSON gateway: a unary call's body, or one object of a watch
// stream (a batch of events). Strata's keys and values in etcd are small metadata, and etcd
// refuses requests over 1.5 MiB by default (--max-request-bytes), but one range or watch batch
// may carry many keys, base64-encoded; this bounds what the client buffers for one of them.
inline constexpr size_t etcd_answer_bytes_max = 64u << 20;  // 64 MiB
// Idle curl handles (each with its keep-alive connection to etcd) one client keeps for its next
// calls. Coordination code makes few calls at once; a burst of more leaves no more than this open.
inline constexpr size_t etcd_idle_connections_max = 4;
// How long one call to etcd may take before it counts as failed (and is retried, or reported).
inline constexpr int64_t etcd_request_timeout_ms = 2'000;
// How long a starting broker tries to reach etcd and register before it gives up.
inline constexpr int64_t cluster_join_timeout_ms = 15'000;
// How long a follower waits to connect to its leader before it backs off and tries again.
inline constexpr int64_t replica_connect_timeout_ms = 2'000;

// --- Tools ----------------------------------------------------------------------------------
// Bytes of a record key or value that `strata log dump --records` prints before eliding.
inline constexpr size_t dump_value_bytes_max = 256;

}  // namespace strata::limits
