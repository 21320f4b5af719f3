// A randomized test that drives the Log and a plain in-memory model with the same operations
// (append, read, timestamp lookup, truncate, roll, retention, compaction, flush, clean reopen,
// crash, injected I/O errors) and compares them after every step. Over the fault-injecting file
// system, half the crashes land inside an operation (roll, close, retention, truncation, an
// append and its flush, recovery): the process dies after a random number of its file
// operations, then loses power or restarts.
//
// The seed is printed; STRATA_SEED=<n> replays a run, STRATA_MODEL_STEPS=<n> changes its length.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>

#include "io/fault_file_system.h"
#include "io/memory_file_system.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log {
namespace {

struct ModelRecord {
  int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  int64_t timestamp_ms = 0;
};

// A batch covers [base, last]; after compaction it may hold fewer records than that, or none.
struct ModelBatch {
  int64_t base = 0;
  int64_t last = 0;
  int64_t producer_id = -1;
  std::vector<ModelRecord> records;
  int64_t end() const { return last + 1; }
  std::vector<std::string> values() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.value.value_or("<null>"));
    return out;
  }
};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

class ModelRun {
 public:
  ModelRun(uint64_t seed, bool faults, AppendPath append_path)
      : rng_(seed), faults_(faults), append_path_(append_path), fault_fs_(seed) {
    config_.segment_bytes = 8 * 1024;
    config_.index_interval_bytes = 256;
    config_.retention_bytes = 20 * 1024;  // applied only when the model calls ApplyRetention
    config_.flush.bytes = 0;
    config_.flush.interval_ms = 0;
    Reopen();
  }

  io::MemoryFileSystem& fs() { return faults_ ? fault_fs_ : mem_fs_; }

  absl::StatusOr<std::unique_ptr<Log>> TryOpen() {
    LogOptions o;
    o.fs = &fs();
    o.dir = "/model/p-0";
    o.config = config_;
    o.clock = [this] { return now_ms_; };
    o.map_cache = &cache_;
    o.file_cache = &files_;
    o.append_path = append_path_;
    return Log::Open(o);
  }

  void Reopen() {
    auto log = TryOpen();
    INFO("reopen: " << log.status());
    REQUIRE(log.ok());
    log_ = std::move(*log);
  }

  int64_t ModelEnd() const { return batches_.empty() ? start_ : batches_.back().end(); }

  // After a crash or I/O failure the log may hold any batch-aligned prefix of the model that is
  // at least `at_least` long. Checks that and adopts the log's length as the model's.
  void AdoptPrefix(int64_t at_least) {
    int64_t end = log_->log_end_offset();
    INFO("log end " << end << ", model end " << ModelEnd() << ", must keep " << at_least);
    REQUIRE(end >= at_least);
    REQUIRE(end <= ModelEnd());
    while (!batches_.empty() && batches_.back().base >= end) batches_.pop_back();
    REQUIRE(ModelEnd() == end);  // the log ends on a batch boundary of the model
    durable_ = std::min(durable_, end);
  }

  void CheckAll() {
    REQUIRE(log_->log_start_offset() == start_);
    REQUIRE(log_->log_end_offset() == ModelEnd());
    std::vector<std::string> got, want;
    for (const auto& b : batches_) {
      auto v = b.values();
      want.insert(want.end(), v.begin(), v.end());
    }
    for (int64_t off = start_; off < log_->log_end_offset();) {
      auto r = log_->Read(off, 1 + rng_() % 4096);
      REQUIRE(r.ok());
      REQUIRE(r->batch_count > 0);
      REQUIRE(r->first_offset == FirstBatchFrom(off)->base);
      auto v = testing::Values(r->bytes);
      got.insert(got.end(), v.begin(), v.end());
      off = r->next_offset;
    }
    REQUIRE(got == want);
  }

  void Step() {
    int op = int(rng_() % 100);
    if (std::getenv("STRATA_MODEL_TRACE")) {
      std::cout << "op " << op << " end " << log_->log_end_offset() << std::endl;
    }
    if (op < 45) return Append();
    if (op < 60) return Read();
    if (op < 65) return LookupTimestamp();
    if (op < 70) return Truncate();
    if (op < 74) { REQUIRE(log_->Roll().ok()); return; }
    if (op < 80) return Flush();
    if (op < 83) return Retention();
    if (op < 87) return CleanReopen();
    if (op < 93) return Crash();
    if (op < 97) return Compact();
    if (faults_) return FailSomething();
    return Append();
  }

 private:
  // The first batch that ends past `offset`: the one Log::Read(offset) starts with.
  const ModelBatch* FirstBatchFrom(int64_t offset) const {
    for (const auto& b : batches_) {
      if (b.end() > offset) return &b;
    }
    return nullptr;
  }

  void Append() {
    int n = 1 + int(rng_() % 8);
    ModelBatch mb;
    // Some idempotent producers, for compaction's "a producer's last batch stays" rule.
    mb.producer_id = rng_() % 4 == 0 ? int64_t(rng_() % 3) : -1;
    record::BatchBuilder b(record::BatchOptions{
        .compression = rng_() % 3 == 0 ? record::Compression::kLz4 : record::Compression::kNone,
        .producer_id = mb.producer_id,
        .producer_epoch = int16_t(mb.producer_id < 0 ? -1 : 0),
        .base_sequence = mb.producer_id < 0 ? -1 : 0});
    for (int i = 0; i < n; ++i) {
      ModelRecord rec;
      // Few keys, so compaction finds superseded records; a few null keys and tombstones.
      if (rng_() % 10 != 0) rec.key = "k" + std::to_string(rng_() % 24);
      if (rng_() % 8 != 0 || !rec.key) {
        std::string v = "v" + std::to_string(next_value_++);
        v.resize(v.size() + rng_() % 300, char('a' + rng_() % 26));
        rec.value = v;
      }
      now_ms_ += int64_t(rng_() % 3);
      rec.timestamp_ms = now_ms_;
      mb.records.push_back(std::move(rec));
    }
    for (const auto& rec : mb.records) {
      record::RecordInput r;
      r.timestamp_ms = rec.timestamp_ms;
      if (rec.key) r.key = *rec.key;
      if (rec.value) r.value = *rec.value;
      b.Add(r);
    }
    auto batch = b.Build().value();
    auto res = log_->Append(batch, 1);
    INFO("append: " << res.status());
    REQUIRE(res.ok());
    mb.base = res->base_offset;
    mb.last = res->last_offset;
    REQUIRE(mb.base == ModelEnd());
    for (int i = 0; i < n; ++i) mb.records[i].offset = mb.base + i;
    batches_.push_back(std::move(mb));
  }

  // One compaction pass, and the model applying the same rule (log/compaction.h): over the
  // sealed segments wholly below the durable offset, grouped by size, keep each key's newest
  // record (tombstones only until delete_retention_ms), and of the batches left with nothing,
  // only a group's last and each producer's last in its group, as empty batches.
  void Compact() {
    const auto segs = log_->Segments();
    const int64_t map_end = log_->durable_offset();
    const int64_t retention_ms = int64_t(rng_() % 200);
    // With the fault file system, sometimes make a write or fsync of the pass fail: then it must
    // leave the log exactly as it was (checked by CheckAll against the unchanged model).
    const bool inject = faults_ && rng_() % 3 == 0;
    if (inject) {
      if (rng_() % 2) fault_fs_.FailNextWrites(1, EIO); else fault_fs_.FailNextSyncs(1, EIO);
    }
    auto r = log_->Compact({.delete_retention_ms = retention_ms, .now_ms = now_ms_});
    fault_fs_.FailNextWrites(0);
    fault_fs_.FailNextSyncs(0);
    INFO("compact: " << r.status());
    REQUIRE((r.ok() || inject));
    REQUIRE(log_->health().ok());
    if (!r.ok()) return CheckAll();

    std::map<std::string, int64_t> newest;
    for (const auto& b : batches_) {
      if (b.end() > map_end) break;
      for (const auto& rec : b.records) {
        if (rec.key) newest[*rec.key] = rec.offset;
      }
    }
    // Kafka's groupSegmentsBySize over the sealed segments the map covers.
    std::vector<std::pair<int64_t, int64_t>> groups;  // [base, next)
    uint64_t group_bytes = 0;
    for (size_t i = 0; i + 1 < segs.size() && segs[i].next_offset <= map_end; ++i) {
      if (!groups.empty() && group_bytes + segs[i].size_bytes <= config_.segment_bytes) {
        groups.back().second = segs[i].next_offset;
        group_bytes += segs[i].size_bytes;
      } else {
        groups.emplace_back(segs[i].base_offset, segs[i].next_offset);
        group_bytes = segs[i].size_bytes;
      }
    }
    int64_t removed = 0;
    std::vector<ModelBatch> out;
    for (auto& b : batches_) {
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](auto& g) { return b.base >= g.first && b.base < g.second; });
      if (g == groups.end()) {
        out.push_back(std::move(b));
        continue;
      }
      bool last_in_group = b.end() == g->second;
      bool last_of_producer = b.producer_id >= 0;
      for (const auto& other : batches_) {
        if (other.base > b.base && other.base < g->second && other.producer_id == b.producer_id) {
          last_of_producer = false;
        }
      }
      std::vector<ModelRecord> kept;
      for (auto& rec : b.records) {
        bool keep = !rec.key || (newest.at(*rec.key) == rec.offset &&
                                 (rec.value || rec.timestamp_ms >= now_ms_ - retention_ms));
        if (keep) kept.push_back(std::move(rec)); else ++removed;
      }
      b.records = std::move(kept);
      if (b.records.empty() && !last_in_group && !last_of_producer) continue;
      out.push_back(std::move(b));
    }
    batches_ = std::move(out);
    REQUIRE(r->records_removed == removed);
    compacted_records_ += removed;
    CheckAll();
  }

  void Read() {
    if (ModelEnd() == start_) return;
    int64_t off = start_ + int64_t(rng_() % uint64_t(ModelEnd() - start_));
    auto r = log_->Read(off, rng_() % 5000);
    REQUIRE(r.ok());
    REQUIRE(r->batch_count >= 1);
    REQUIRE(r->first_offset == FirstBatchFrom(off)->base);  // past `off` across a gap
    REQUIRE(r->next_offset > off);
    std::vector<std::string> want;
    for (const auto& b : batches_) {
      if (b.base >= r->first_offset && b.end() <= r->next_offset) {
        auto v = b.values();
        want.insert(want.end(), v.begin(), v.end());
      }
    }
    REQUIRE(testing::Values(r->bytes) == want);
  }

  void LookupTimestamp() {
    int64_t t = now_ms_ - int64_t(rng_() % 400) + 5;
    std::optional<int64_t> want;
    for (const auto& b : batches_) {
      for (const auto& rec : b.records) {
        if (!want && rec.timestamp_ms >= t) want = rec.offset;
      }
      if (want) break;
    }
    auto got = log_->OffsetForTimestamp(t);
    REQUIRE(got.ok());
    INFO("timestamp " << t << ": log says " << got->value_or(-1) << ", model says "
                      << want.value_or(-1));
    if (*got != want) {
      for (const auto& b : batches_) {
        std::cout << "model batch " << b.base << ":";
        for (const auto& rec : b.records) std::cout << " " << rec.offset << "@" << rec.timestamp_ms;
        std::cout << "\n";
      }
      for (auto& s : log_->Segments()) {
        std::cout << "segment " << s.base_offset << ".." << s.next_offset << " max_ts "
                  << s.max_timestamp << "\n";
      }
    }
    REQUIRE(*got == want);
  }

  void Truncate() {
    if (ModelEnd() == start_) return;
    int64_t off = start_ + int64_t(rng_() % uint64_t(ModelEnd() - start_ + 1));
    REQUIRE(log_->TruncateTo(off).ok());
    while (!batches_.empty() && batches_.back().end() > off) batches_.pop_back();
    durable_ = std::min(durable_, ModelEnd());
    REQUIRE(log_->log_end_offset() == ModelEnd());
  }

  void Flush() {
    REQUIRE(log_->Flush().ok());
    durable_ = ModelEnd();
  }

  void Retention() {
    auto r = log_->ApplyRetention();
    REQUIRE(r.ok());
    start_ = log_->log_start_offset();
    while (!batches_.empty() && batches_.front().base < start_) {
      REQUIRE(batches_.front().end() <= start_);  // whole segments only
      batches_.erase(batches_.begin());
    }
  }

  void CleanReopen() {
    REQUIRE(log_->Close().ok());
    log_.reset();
    Reopen();
    durable_ = ModelEnd();  // a clean shutdown flushes
    CheckAll();
  }

  void Crash() {
    if (faults_ && rng_() % 2 == 0) return CrashInside();
    int64_t durable = log_->durable_offset();
    if (std::getenv("STRATA_MODEL_TRACE")) {
      std::cout << "crash: durable " << durable << ", model end " << ModelEnd() << std::endl;
    }
    REQUIRE(durable >= durable_);
    log_->TEST_Abandon();
    log_.reset();
    if (faults_) {
      // Power loss: unsynced bytes are gone, or a torn prefix of them survives.
      fault_fs_.Crash(io::kAllCrashModes[rng_() % 3]);
      Reopen();
      AdoptPrefix(durable);
    } else {
      // Process death without power loss: the page cache keeps everything.
      Reopen();
      AdoptPrefix(ModelEnd());
    }
    CheckAll();
  }

  // A crash inside an operation (roll, close, retention, truncation, an append and its flush, or
  // recovery itself): the process dies after a random number of the operation's file operations
  // (FaultFileSystem::CrashAfterOps), then the power goes too, or the process alone restarts. The
  // log must come back with every durable batch and what the operation allows.
  void CrashInside() {
    const int64_t durable = log_->durable_offset();
    REQUIRE(durable >= durable_);
    const int kind = int(rng_() % 6);
    const int64_t ops = int64_t(rng_() % 40);
    const bool power_loss = rng_() % 2 == 0;
    const io::CrashMode mode = io::kAllCrashModes[rng_() % 3];
    int64_t at_least = durable;           // what a power loss must keep
    int64_t keep_all = ModelEnd();        // what a process death alone must keep
    std::optional<int64_t> exact_end;     // the operation returned: where the log must end
    std::optional<int64_t> retention_to;  // retention returned: where the log must start
    bool retention = false;
    absl::Status st;
    if (kind == 5) {
      // Recovery: after a crash (or a clean restart), the next open dies part-way.
      log_->TEST_Abandon();
      log_.reset();
      if (rng_() % 2 == 0) {
        fault_fs_.Crash(io::kAllCrashModes[rng_() % 3]);
        keep_all = durable;  // the first crash may have taken what was not durable
      }
      fault_fs_.CrashAfterOps(ops);
      auto log = TryOpen();
      st = log.status();
      if (log.ok()) (*log)->TEST_Abandon();
    } else {
      fault_fs_.CrashAfterOps(ops);
      switch (kind) {
        case 0:
          st = log_->Roll();
          if (st.ok()) at_least = ModelEnd();  // sealing syncs everything appended
          break;
        case 1:
          st = log_->Close();
          if (st.ok()) at_least = ModelEnd();
          break;
        case 2: {
          retention = true;
          auto r = log_->ApplyRetention();
          st = r.status();
          if (st.ok()) retention_to = log_->log_start_offset();
          break;
        }
        case 3: {
          const int64_t off = start_ + int64_t(rng_() % uint64_t(ModelEnd() - start_ + 1));
          // Where the log ends once the truncation is done: at the end of the last batch that
          // stays (below the cut batch's base where compaction left a gap), as in Truncate().
          int64_t cut_end = start_;
          for (auto it = batches_.rbegin(); it != batches_.rend(); ++it) {
            if (it->end() <= off) {
              cut_end = it->end();
              break;
            }
          }
          st = log_->TruncateTo(off);
          at_least = std::min(at_least, cut_end);
          keep_all = cut_end;
          // Done, it synced the cut segment, so all of it stays (a truncation at or past the
          // end does nothing, syncs nothing).
          if (st.ok() && off < ModelEnd()) exact_end = cut_end;
          break;
        }
        case 4: {
          std::vector<std::byte> batch = testing::MakeBatch(1 + int(rng_() % 4), now_ms_, "d", 90);
          auto res = log_->Append(batch, 1);
          st = res.status();
          if (res.ok()) {
            ModelBatch mb;
            mb.base = res->base_offset;
            mb.last = res->last_offset;
            REQUIRE(mb.base == ModelEnd());
            auto records = record::BatchReader::Open(batch).value().ReadAll().value();
            for (auto& rec : records) {
              mb.records.push_back(ModelRecord{rec.offset, std::string(*rec.key),
                                               std::string(*rec.value), rec.timestamp_ms});
            }
            batches_.push_back(std::move(mb));
            keep_all = ModelEnd();  // a dead process writes all of a write or none of it
            st = log_->Flush();
            if (st.ok()) at_least = ModelEnd();
          }
          break;
        }
      }
      log_->TEST_Abandon();
      log_.reset();
    }
    if (std::getenv("STRATA_MODEL_TRACE")) {
      std::cout << "crash inside operation " << kind << " after " << ops << " file operations ("
                << st << "), " << (power_loss ? "power loss" : "restart") << ": durable "
                << durable << ", model end " << ModelEnd() << std::endl;
    }
    INFO("crash inside operation " << kind << " after " << ops << " file operations: " << st);
    REQUIRE((st.ok() || fault_fs_.dead()));  // only the injected death makes it fail
    if (power_loss) {
      fault_fs_.Crash(mode);
    } else {
      fault_fs_.Restart();
    }
    Reopen();
    if (retention) {
      // Whole segments from the front, no further than the pass went (exactly that far once it
      // returned and its deletions were synced).
      const int64_t start = log_->log_start_offset();
      REQUIRE(start >= start_);
      if (retention_to) REQUIRE(start == *retention_to);
      start_ = start;
      while (!batches_.empty() && batches_.front().base < start_) {
        REQUIRE(batches_.front().end() <= start_);
        batches_.erase(batches_.begin());
      }
    }
    AdoptPrefix(power_loss ? at_least : keep_all);
    if (exact_end) REQUIRE(ModelEnd() == *exact_end);
    // Recovery made everything it kept durable (docs/recovery.md rule 10).
    durable_ = ModelEnd();
    REQUIRE(log_->durable_offset() == durable_);
    CheckAll();
  }

  void FailSomething() {
    bool sync = rng_() % 2;
    int err = rng_() % 2 ? EIO : ENOSPC;
    if (sync) fault_fs_.FailNextSyncs(1, err); else fault_fs_.FailNextWrites(1, err);
    int64_t before_end = ModelEnd();
    // The append itself may or may not be the operation that fails.
    std::vector<std::byte> batch = testing::MakeBatch(1 + int(rng_() % 4), now_ms_, "f", 50);
    auto res = log_->Append(batch, 1);
    absl::Status flushed = res.ok() ? log_->Flush() : res.status();
    fault_fs_.FailNextSyncs(0);
    fault_fs_.FailNextWrites(0);
    if (std::getenv("STRATA_MODEL_TRACE")) {
      std::cout << "injected " << (sync ? "fsync" : "write") << " fault: append "
                << res.status() << ", flush " << flushed << ", model end " << ModelEnd()
                << std::endl;
    }
    ModelBatch mb;
    mb.base = before_end;
    auto reader = record::BatchReader::Open(batch).value();
    auto records = reader.ReadAll().value();
    mb.last = before_end + int64_t(records.size()) - 1;
    for (auto& rec : records) {
      ModelRecord m;
      m.offset = before_end + (rec.offset - reader.header().base_offset);  // stamped or not
      m.key = std::string(*rec.key);
      m.value = std::string(*rec.value);
      m.timestamp_ms = rec.timestamp_ms;
      mb.records.push_back(std::move(m));
    }
    if (res.ok()) batches_.push_back(mb);
    if (flushed.ok()) {
      durable_ = ModelEnd();
      return;
    }
    // A failed log refuses appends until reopened...
    auto again = testing::MakeBatch(1, now_ms_);
    REQUIRE(absl::IsFailedPrecondition(log_->Append(again, 1).status()));
    REQUIRE(!log_->health().ok());
    // ...and reopening recovers: acknowledged appends are all there (no power was lost), the
    // failed one may or may not be.
    log_->TEST_Abandon();
    log_.reset();
    Reopen();
    // A write torn short of only its trailing zero bytes leaves the whole batch in place: a
    // failed append may turn out to have landed after all, intact.
    if (!res.ok() && log_->log_end_offset() == mb.end()) batches_.push_back(mb);
    AdoptPrefix(before_end);
    CheckAll();
  }

  std::mt19937_64 rng_;
  bool faults_;
  AppendPath append_path_;
  io::MemoryFileSystem mem_fs_;
  io::FaultFileSystem fault_fs_;
  MapCache cache_{16};
  FileCache files_{3};  // small, so that segments keep opening their files again
  LogConfig config_;
  std::unique_ptr<Log> log_;
  std::vector<ModelBatch> batches_;
  int64_t start_ = 0;
  int64_t durable_ = 0;
  int64_t now_ms_ = 1'700'000'000'000;
  int64_t next_value_ = 0;

 public:
  int64_t compacted_records_ = 0;  // removed by compaction over the run, to show it did work
};

void RunModel(bool faults) {
  const AppendPath path = GENERATE(AppendPath::kWrite, AppendPath::kMapping);
  uint64_t seed = EnvOr("STRATA_SEED", std::random_device{}());
  uint64_t steps = EnvOr("STRATA_MODEL_STEPS", 20000);
  const char* path_name = path == AppendPath::kWrite ? "write" : "mapping";
  std::cout << "log model test (" << (faults ? "fault" : "memory") << " file system, " << path_name
            << " appends): STRATA_SEED=" << seed << " STRATA_MODEL_STEPS=" << steps << std::endl;
  INFO("replay with STRATA_SEED=" << seed << " (" << path_name << " appends)");
  ModelRun run(seed, faults, path);
  for (uint64_t i = 0; i < steps; ++i) {
    INFO("step " << i);
    run.Step();
  }
  run.CheckAll();
  std::cout << "  compaction removed " << run.compacted_records_ << " records" << std::endl;
}

TEST_CASE("the log matches a model over the in-memory file system", "[log][model]") {
  RunModel(false);
}

TEST_CASE("the log matches a model over the fault-injecting file system", "[log][model]") {
  RunModel(true);
}

}  // namespace
}  // namespace strata::log
