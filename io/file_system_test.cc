// One suite run over every io::FileSystem implementation, plus the fault injector's own rules.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "io/fault_file_system.h"
#include "io/file_system.h"
#include "io/memory_file_system.h"

namespace strata::io {
namespace {

std::span<const std::byte> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
std::string Str(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "strata-io-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

void RunContract(FileSystem& fs, const std::string& root) {
  REQUIRE(fs.CreateDirs(root + "/a/b").ok());
  const std::string path = root + "/a/b/f";

  SECTION("open modes") {
    CHECK(absl::IsNotFound(fs.Open(path, OpenMode::kReadOnly).status()));
    REQUIRE(fs.Open(path, OpenMode::kCreateNew).ok());
    CHECK(absl::IsAlreadyExists(fs.Open(path, OpenMode::kCreateNew).status()));
    CHECK(fs.Exists(path).value());
    auto ro = fs.Open(path, OpenMode::kReadOnly).value();
    CHECK(!ro->WriteAt(0, Bytes("x")).ok());
  }
  SECTION("write, read, size, truncate") {
    auto f = fs.Open(path, OpenMode::kCreate).value();
    REQUIRE(f->WriteAt(0, Bytes("hello")).ok());
    REQUIRE(f->WriteAt(5, Bytes(" world")).ok());
    CHECK(f->Size().value() == 11);
    std::vector<std::byte> buf(32);
    CHECK(f->ReadAt(0, buf).value() == 11);
    CHECK(Str({buf.data(), 11}) == "hello world");
    CHECK(f->ReadAt(100, buf).value() == 0);
    REQUIRE(f->Truncate(5).ok());
    CHECK(f->Size().value() == 5);
    REQUIRE(f->Sync().ok());
  }
  SECTION("allocate and map") {
    auto f = fs.Open(path, OpenMode::kCreate).value();
    REQUIRE(f->Allocate(8192).ok());
    CHECK(f->Size().value() == 8192);
    CHECK(!f->Map(8193, true).ok());
    auto m = f->Map(8192, true).value();
    for (size_t i = 0; i < 8192; ++i) REQUIRE(m->data()[i] == std::byte{0});
    m->Prefault(0, 8192);
    REQUIRE(m->Write(4000, Bytes("mapped")).ok());
    CHECK(!m->Write(8190, Bytes("toolong")).ok());
    f.reset();  // a mapping outlives its file handle
    CHECK(Str({m->data() + 4000, 6}) == "mapped");
    auto g = fs.Open(path, OpenMode::kReadOnly).value();
    std::vector<std::byte> buf(6);
    REQUIRE(g->ReadAt(4000, buf).ok());
    CHECK(Str(buf) == "mapped");
    auto ro = g->Map(8192, false).value();
    CHECK(Str({ro->data() + 4000, 6}) == "mapped");
    CHECK(!ro->Write(0, Bytes("x")).ok());
  }
  SECTION("list, rename, remove, atomic write") {
    REQUIRE(fs.Open(root + "/a/x", OpenMode::kCreate).ok());
    REQUIRE(fs.Open(root + "/a/y", OpenMode::kCreate).ok());
    CHECK(fs.ListDir(root + "/a").value() == std::vector<std::string>{"b", "x", "y"});
    REQUIRE(fs.Rename(root + "/a/x", root + "/a/z").ok());
    CHECK(!fs.Exists(root + "/a/x").value());
    REQUIRE(fs.Remove(root + "/a/z").ok());
    CHECK(absl::IsNotFound(fs.Remove(root + "/a/z")));
    REQUIRE(WriteFileAtomic(fs, root + "/a/meta", Bytes("v1")).ok());
    REQUIRE(WriteFileAtomic(fs, root + "/a/meta", Bytes("v2!")).ok());
    CHECK(Str(ReadWholeFile(fs, root + "/a/meta").value()) == "v2!");
    REQUIRE(fs.RemoveAll(root + "/a").ok());
    CHECK(!fs.Exists(root + "/a").value());
  }
  SECTION("free bytes") {
    auto free = fs.FreeBytes(root);
    REQUIRE(free.ok());
    CHECK(*free > 0);
  }
}

TEST_CASE("ErrnoError marks no-space errors and WithContext keeps the mark", "[io]") {
  CHECK(IsNoSpace(ErrnoError(ENOSPC, "pwrite f")));
  CHECK(IsNoSpace(ErrnoError(EDQUOT, "pwrite f")));
  CHECK(absl::IsResourceExhausted(ErrnoError(ENOSPC, "pwrite f")));
  CHECK_FALSE(IsNoSpace(ErrnoError(EIO, "pwrite f")));
  CHECK_FALSE(IsNoSpace(ErrnoError(EMFILE, "open f")));  // ResourceExhausted too, not the disk
  const absl::Status wrapped = WithContext(ErrnoError(ENOSPC, "pwrite f"), "appending to p-0");
  CHECK(IsNoSpace(wrapped));
  CHECK(wrapped.message() == "appending to p-0: pwrite f: No space left on device");
}

TEST_CASE("a memory file system with a capacity fails growth past it, and frees on remove",
          "[io][fault]") {
  FaultFileSystem fs(3);
  REQUIRE(fs.CreateDirs("/d").ok());
  fs.SetCapacityBytes(10000);
  CHECK(fs.FreeBytes("/d").value() == 10000);
  auto a = fs.Open("/d/a", OpenMode::kCreate).value();
  REQUIRE(a->Allocate(6000).ok());
  CHECK(fs.FreeBytes("/d").value() == 4000);
  auto b = fs.Open("/d/b", OpenMode::kCreate).value();
  REQUIRE(b->WriteAt(0, std::vector<std::byte>(3000)).ok());
  // Each kind of growth past the capacity fails with ENOSPC and changes nothing.
  const absl::Status allocate = b->Allocate(5000);
  CHECK(IsNoSpace(allocate));
  CHECK(b->Size().value() == 3000);
  CHECK(IsNoSpace(b->WriteAt(3000, std::vector<std::byte>(2000))));
  CHECK(IsNoSpace(b->Truncate(6000)));
  CHECK(b->Size().value() == 3000);
  // Writes inside a file's size need no space.
  REQUIRE(a->WriteAt(0, Bytes("fits")).ok());
  // Shrinking and removing give the space back.
  REQUIRE(a->Truncate(1000).ok());
  CHECK(fs.FreeBytes("/d").value() == 6000);
  REQUIRE(b->Allocate(5000).ok());
  REQUIRE(fs.Remove("/d/a").ok());
  CHECK(fs.FreeBytes("/d").value() == 5000);
  REQUIRE(fs.Rename("/d/b", "/d/c").ok());
  CHECK(fs.FreeBytes("/d").value() == 5000);
  fs.Crash(CrashMode::kDropUnsynced);  // nothing was synced: every file is empty again
  CHECK(fs.FreeBytes("/d").value() == 10000);
}

TEST_CASE("posix file system honours the contract", "[io]") {
  std::string root = TempDir();
  RunContract(RealFileSystem(), root);
  std::filesystem::remove_all(root);
}

TEST_CASE("memory file system honours the contract", "[io]") {
  MemoryFileSystem fs;
  RunContract(fs, "/m");
}

TEST_CASE("fault file system honours the contract when no fault is set", "[io]") {
  FaultFileSystem fs(1);
  RunContract(fs, "/f");
}

TEST_CASE("a crash drops every unsynced byte and keeps synced ones", "[io][fault]") {
  FaultFileSystem fs(7);
  REQUIRE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/f", OpenMode::kCreate).value();
  REQUIRE(f->WriteAt(0, Bytes("synced")).ok());
  REQUIRE(f->Sync().ok());
  REQUIRE(f->WriteAt(6, Bytes("-lost")).ok());
  auto g = fs.Open("/d/never-synced", OpenMode::kCreate).value();
  REQUIRE(g->WriteAt(0, Bytes("gone")).ok());
  REQUIRE(fs.SyncDir("/d").ok());  // both names are durable; only the bytes are at stake here
  fs.Crash(CrashMode::kDropUnsynced);
  CHECK(Str(fs.TEST_Contents("/d/f").value()) == "synced");
  CHECK(fs.TEST_Contents("/d/never-synced").value().empty());
}

TEST_CASE("mapped writes are unsynced until Sync", "[io][fault]") {
  FaultFileSystem fs(7);
  REQUIRE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/f", OpenMode::kCreate).value();
  REQUIRE(fs.SyncDir("/d").ok());
  REQUIRE(f->Allocate(16).ok());
  REQUIRE(f->Sync().ok());
  auto m = f->Map(16, true).value();
  REQUIRE(m->Write(0, Bytes("abcd")).ok());
  REQUIRE(f->Sync().ok());
  REQUIRE(m->Write(4, Bytes("efgh")).ok());
  fs.Crash(CrashMode::kDropUnsynced);
  auto c = fs.TEST_Contents("/d/f").value();
  REQUIRE(c.size() == 16);
  CHECK(Str({c.data(), 4}) == "abcd");
  CHECK(c[4] == std::byte{0});
  // The old mapping belongs to the dead process: writing through it is refused.
  CHECK(!m->Write(8, Bytes("x")).ok());
}

TEST_CASE("a torn crash keeps a prefix of the unsynced writes, in order", "[io][fault]") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    FaultFileSystem fs(seed);
    REQUIRE(fs.CreateDirs("/d").ok());
    auto f = fs.Open("/d/f", OpenMode::kCreate).value();
    REQUIRE(fs.SyncDir("/d").ok());
    std::string all;
    for (int i = 0; i < 10; ++i) {
      std::string chunk(10, char('a' + i));
      REQUIRE(f->WriteAt(all.size(), Bytes(chunk)).ok());
      all += chunk;
    }
    fs.Crash(CrashMode::kTornUnsynced);
    std::string got = Str(fs.TEST_Contents("/d/f").value());
    REQUIRE(got.size() <= all.size());
    CHECK(got == all.substr(0, got.size()));
  }
}

TEST_CASE("an unordered crash keeps some unsynced pages and not others", "[io][fault]") {
  bool saw_hole = false;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    FaultFileSystem fs(seed);
    REQUIRE(fs.CreateDirs("/d").ok());
    auto f = fs.Open("/d/f", OpenMode::kCreate).value();
    REQUIRE(fs.SyncDir("/d").ok());
    std::string synced(4096, 's');
    REQUIRE(f->WriteAt(0, Bytes(synced)).ok());
    REQUIRE(f->Sync().ok());
    std::string later(8 * 4096, 'u');
    REQUIRE(f->WriteAt(4096, Bytes(later)).ok());
    fs.Crash(CrashMode::kUnorderedUnsynced);
    std::string got = Str(fs.TEST_Contents("/d/f").value());
    REQUIRE(got.size() == synced.size() + later.size());
    CHECK(got.substr(0, 4096) == synced);  // synced bytes are never touched
    for (size_t page = 1; page < 9; ++page) {
      std::string p = got.substr(page * 4096, 4096);
      bool kept = p == std::string(4096, 'u');
      bool reverted = p == std::string(4096, '\0');
      CHECK((kept || reverted));
      if (reverted && page + 1 < 9 && got.substr((page + 1) * 4096, 4096)[0] == 'u') saw_hole = true;
    }
  }
  CHECK(saw_hole);  // a reverted page with a kept one after it: a hole, not a prefix
}

TEST_CASE("injected write and fsync errors are reported and counted", "[io][fault]") {
  FaultFileSystem fs(3);
  REQUIRE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/f", OpenMode::kCreate).value();
  fs.FailNextWrites(1, ENOSPC);
  auto st = f->WriteAt(0, Bytes("0123456789"));
  CHECK(absl::IsResourceExhausted(st));
  CHECK(f->Size().value() < 10);  // torn: a strict prefix at most
  CHECK(f->WriteAt(0, Bytes("ok")).ok());
  fs.FailNextSyncs(1, EIO);
  CHECK(!f->Sync().ok());
  CHECK(f->Sync().ok());
  CHECK(fs.injected_errors() == 2);
}


// --- Directory entries ---------------------------------------------------------------------------

// A durable file `path` holding `bytes`: written, fsynced, and its name synced into its directory.
void WriteDurable(FaultFileSystem& fs, const std::string& path, std::string_view bytes) {
  auto f = fs.Open(path, OpenMode::kCreate).value();
  REQUIRE(f->Truncate(0).ok());
  REQUIRE(f->WriteAt(0, Bytes(bytes)).ok());
  REQUIRE(f->Sync().ok());
  REQUIRE(fs.SyncDir(path.substr(0, path.find_last_of('/'))).ok());
}

std::string Contents(FaultFileSystem& fs, const std::string& path) {
  auto c = fs.TEST_Contents(path);
  REQUIRE(c.ok());
  return Str(*c);
}

TEST_CASE("a new file's name is durable only once its directory is synced", "[io][fault][dir]") {
  for (bool sync_dir : {false, true}) {
    INFO("sync_dir " << sync_dir);
    FaultFileSystem fs(1);
    REQUIRE(fs.CreateDirs("/d").ok());  // CreateDirs makes /d itself durable
    auto f = fs.Open("/d/f", OpenMode::kCreateNew).value();
    REQUIRE(f->WriteAt(0, Bytes("data")).ok());
    REQUIRE(f->Sync().ok());  // the bytes are durable, the name is not
    if (sync_dir) REQUIRE(fs.SyncDir("/d").ok());
    fs.Crash(CrashMode::kDropUnsynced);
    CHECK(fs.Exists("/d").value());
    CHECK(fs.Exists("/d/f").value() == sync_dir);
    if (sync_dir) CHECK(Contents(fs, "/d/f") == "data");
    CHECK(fs.ListDir("/d").value().size() == (sync_dir ? 1u : 0u));
  }
}

TEST_CASE("an unsynced rename is undone by a crash, old target and all", "[io][fault][dir]") {
  for (bool sync_dir : {false, true}) {
    INFO("sync_dir " << sync_dir);
    FaultFileSystem fs(2);
    REQUIRE(fs.CreateDirs("/d").ok());
    WriteDurable(fs, "/d/from", "new");
    WriteDurable(fs, "/d/to", "old");
    REQUIRE(fs.Rename("/d/from", "/d/to").ok());
    CHECK(!fs.Exists("/d/from").value());
    CHECK(Contents(fs, "/d/to") == "new");
    if (sync_dir) REQUIRE(fs.SyncDir("/d").ok());
    fs.Crash(CrashMode::kDropUnsynced);
    if (sync_dir) {
      CHECK(!fs.Exists("/d/from").value());
      CHECK(Contents(fs, "/d/to") == "new");
    } else {
      CHECK(Contents(fs, "/d/from") == "new");
      CHECK(Contents(fs, "/d/to") == "old");
    }
  }
}

TEST_CASE("WriteFileAtomic is durable: the new contents survive a crash", "[io][fault][dir]") {
  FaultFileSystem fs(3);
  REQUIRE(fs.CreateDirs("/d").ok());
  REQUIRE(WriteFileAtomic(fs, "/d/meta", Bytes("v1")).ok());
  REQUIRE(WriteFileAtomic(fs, "/d/meta", Bytes("v2")).ok());
  fs.Crash(CrashMode::kDropUnsynced);
  CHECK(Contents(fs, "/d/meta") == "v2");
}

TEST_CASE("an unsynced unlink is undone: the file is back with its durable bytes",
          "[io][fault][dir]") {
  for (bool sync_dir : {false, true}) {
    INFO("sync_dir " << sync_dir);
    FaultFileSystem fs(4);
    REQUIRE(fs.CreateDirs("/d").ok());
    WriteDurable(fs, "/d/f", "durable");
    {
      auto f = fs.Open("/d/f", OpenMode::kReadWrite).value();
      REQUIRE(f->WriteAt(7, Bytes("+unsynced")).ok());
    }
    REQUIRE(fs.Remove("/d/f").ok());
    CHECK(!fs.Exists("/d/f").value());
    if (sync_dir) REQUIRE(fs.SyncDir("/d").ok());
    fs.Crash(CrashMode::kDropUnsynced);
    CHECK(fs.Exists("/d/f").value() == !sync_dir);
    if (!sync_dir) CHECK(Contents(fs, "/d/f") == "durable");
  }
}

TEST_CASE("a directory whose entry was never synced into its parent vanishes with its contents",
          "[io][fault][dir]") {
  FaultFileSystem fs(5);
  REQUIRE(fs.CreateDirs("/d").ok());
  // CreateDirs is a mkdir and then a sync of the parent; the process dies between the two.
  fs.CrashAfterOps(1);
  CHECK(!fs.CreateDirs("/d/e").ok());
  CHECK(fs.dead());
  fs.Restart();  // the process restarts; the directory is there, in the page cache
  REQUIRE(fs.Exists("/d/e").value());
  REQUIRE(fs.CreateDirs("/d/e").ok());  // it exists: nothing to do, nothing synced
  WriteDurable(fs, "/d/e/f", "inside");  // its own entries are synced, its name is not
  fs.Crash(CrashMode::kDropUnsynced);
  CHECK(!fs.Exists("/d/e").value());
  CHECK(!fs.Exists("/d/e/f").value());
  CHECK(fs.ListDir("/d").value().empty());
  CHECK(absl::IsNotFound(fs.SyncDir("/d/e")));

  // Made whole, the same directory survives.
  REQUIRE(fs.CreateDirs("/d/e").ok());
  WriteDurable(fs, "/d/e/f", "inside");
  fs.Crash(CrashMode::kDropUnsynced);
  CHECK(Contents(fs, "/d/e/f") == "inside");
}

TEST_CASE("an unsynced RemoveAll is undone: the directory is back as it was durable",
          "[io][fault][dir]") {
  for (bool sync_dir : {false, true}) {
    INFO("sync_dir " << sync_dir);
    FaultFileSystem fs(6);
    REQUIRE(fs.CreateDirs("/d/e/g").ok());
    WriteDurable(fs, "/d/e/f", "one");
    WriteDurable(fs, "/d/e/g/h", "two");
    REQUIRE(fs.RemoveAll("/d/e").ok());
    CHECK(!fs.Exists("/d/e").value());
    if (sync_dir) REQUIRE(fs.SyncDir("/d").ok());
    fs.Crash(CrashMode::kDropUnsynced);
    CHECK(fs.Exists("/d/e").value() == !sync_dir);
    if (!sync_dir) {
      CHECK(Contents(fs, "/d/e/f") == "one");
      CHECK(Contents(fs, "/d/e/g/h") == "two");
      CHECK(fs.ListDir("/d/e").value() == std::vector<std::string>{"f", "g"});
    }
  }
}

TEST_CASE("a torn crash keeps an in-order prefix of a directory's unsynced changes",
          "[io][fault][dir]") {
  bool saw_partial = false;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    for (CrashMode mode : {CrashMode::kTornUnsynced, CrashMode::kUnorderedUnsynced}) {
      INFO("seed " << seed << " mode " << int(mode));
      FaultFileSystem fs(seed);
      REQUIRE(fs.CreateDirs("/d").ok());
      const std::vector<std::string> names = {"a", "b", "c", "d", "e", "f"};
      for (const auto& name : names) REQUIRE(fs.Open("/d/" + name, OpenMode::kCreate).ok());
      fs.Crash(mode);
      const auto got = fs.ListDir("/d").value();
      REQUIRE(got.size() <= names.size());
      CHECK(std::equal(got.begin(), got.end(), names.begin()));
      if (!got.empty() && got.size() < names.size()) saw_partial = true;
    }
  }
  CHECK(saw_partial);
}

TEST_CASE("a file system with durability tracking refuses to sync a missing directory",
          "[io][fault][dir]") {
  FaultFileSystem fs(7);
  CHECK(absl::IsNotFound(fs.SyncDir("/nope")));
  CHECK(fs.SyncDir("/").ok());  // the root always exists
  CHECK(fs.SyncDir(".").ok());
}

// --- Process death ---------------------------------------------------------------------------

TEST_CASE("after CrashAfterOps(n), the n+1st change and every later one fail and change nothing",
          "[io][fault][die]") {
  FaultFileSystem fs(8);
  REQUIRE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/f", OpenMode::kCreate).value();
  REQUIRE(f->WriteAt(0, Bytes("0123")).ok());
  auto m = [&] {
    REQUIRE(f->Allocate(4096).ok());
    return f->Map(4096, /*writable=*/true).value();
  }();
  const int64_t before = fs.mutating_ops();
  fs.CrashAfterOps(2);
  CHECK(f->WriteAt(4, Bytes("45")).ok());
  CHECK(m->Write(6, Bytes("67")).ok());
  CHECK(fs.dead());
  CHECK(fs.mutating_ops() == before + 2);
  // Every kind of change now fails, and none of them happens.
  CHECK(!f->WriteAt(8, Bytes("89")).ok());
  CHECK(!m->Write(8, Bytes("89")).ok());
  CHECK(!f->Sync().ok());
  CHECK(!f->Truncate(2).ok());
  CHECK(!f->Allocate(8192).ok());
  CHECK(!fs.Open("/d/g", OpenMode::kCreate).ok());
  CHECK(!fs.Rename("/d/f", "/d/h").ok());
  CHECK(!fs.Remove("/d/f").ok());
  CHECK(!fs.SyncDir("/d").ok());
  CHECK(!fs.CreateDirs("/d/e").ok());
  CHECK(!fs.RemoveAll("/d").ok());
  CHECK(fs.mutating_ops() == before + 2);
  CHECK(Contents(fs, "/d/f").substr(0, 10) == std::string("01234567\0\0", 10));
  CHECK(fs.Exists("/d/f").value());
  CHECK(!fs.Exists("/d/g").value());
  CHECK(!fs.Exists("/d/h").value());
  CHECK(!fs.Exists("/d/e").value());
  std::vector<std::byte> buf(4);
  CHECK(f->ReadAt(0, buf).value() == 4);  // reads still work
  // A restart (no power loss) keeps everything and takes changes again.
  fs.Restart();
  CHECK(!fs.dead());
  CHECK(f->WriteAt(8, Bytes("89")).ok());
  CHECK(Contents(fs, "/d/f").substr(0, 10) == "0123456789");
  // A power loss also ends the process's death.
  fs.CrashAfterOps(0);
  CHECK(!f->Sync().ok());
  fs.Crash(CrashMode::kDropUnsynced);
  CHECK(!fs.dead());
  CHECK(fs.Open("/d/g", OpenMode::kCreate).ok());
}

TEST_CASE("a crash between a file's creation and its directory sync loses the file but not the "
          "directory's earlier durable entries", "[io][fault][die]") {
  // Counts the operations of a WriteFileAtomic, then dies after each possible number of them:
  // whatever the crash, the file holds the old or the new contents, never anything else.
  int64_t ops = 0;
  {
    FaultFileSystem fs(9);
    REQUIRE(fs.CreateDirs("/d").ok());
    REQUIRE(WriteFileAtomic(fs, "/d/meta", Bytes("old")).ok());
    const int64_t before = fs.mutating_ops();
    REQUIRE(WriteFileAtomic(fs, "/d/meta", Bytes("new")).ok());
    ops = fs.mutating_ops() - before;
  }
  REQUIRE(ops == 6);  // open (create), truncate, write, sync, rename, directory sync
  for (int64_t n = 0; n <= ops; ++n) {
    for (CrashMode mode : kAllCrashModes) {
      INFO("die after " << n << " operations, crash mode " << int(mode));
      FaultFileSystem fs(10 + uint64_t(n));
      REQUIRE(fs.CreateDirs("/d").ok());
      REQUIRE(WriteFileAtomic(fs, "/d/meta", Bytes("old")).ok());
      fs.CrashAfterOps(n);
      CHECK(WriteFileAtomic(fs, "/d/meta", Bytes("new")).ok() == (n == ops));
      fs.Crash(mode);
      const std::string got = Contents(fs, "/d/meta");
      CHECK((got == "old" || got == "new"));
      if (n == ops) CHECK(got == "new");
    }
  }
}

}  // namespace
}  // namespace strata::io
