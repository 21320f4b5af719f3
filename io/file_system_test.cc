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
  fs.Crash(CrashMode::kDropUnsynced);
  CHECK(Str(fs.TEST_Contents("/d/f").value()) == "synced");
  CHECK(fs.TEST_Contents("/d/never-synced").value().empty());
}

TEST_CASE("mapped writes are unsynced until Sync", "[io][fault]") {
  FaultFileSystem fs(7);
  REQUIRE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/f", OpenMode::kCreate).value();
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

}  // namespace
}  // namespace strata::io
