// `strata log dump|verify|compare`: offline tools on partition log directories (log_tools.h).
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/command.h"
#include "client/cli/log_tools.h"

namespace strata::cli {

namespace {

constexpr const char* kLogHelp =
    "Inspect and check one partition's log directory offline. A partition directory holds the\n"
    "partition's segments: for each, <base offset>.log (record batches back to back),\n"
    "<base offset>.index and <base offset>.timeindex (sparse indexes). Stop the broker first or\n"
    "work on a copy: a running broker may trim a file while it is being read.";

constexpr const char* kLogExamples =
    "Examples:\n"
    "  strata log verify /var/lib/strata/orders-0\n"
    "  strata log dump /var/lib/strata/orders-0 --records --from-offset 1200 --max-batches 5\n"
    "  strata log compare broker-1/data/orders-0 broker-2/data/orders-0\n";

constexpr const char* kDumpHelp =
    "List a partition directory: one line per segment (file, base offset, next offset, file and\n"
    "data size, index entry counts), then one line per batch (position, offsets, leader epoch,\n"
    "record count, timestamps, size, compression, producer id/epoch/sequence, and whether its\n"
    "checksum is ok). With --records, one line per record: text is shown in quotes, anything\n"
    "else as hex, and long keys and values are cut short. A batch with a bad checksum is shown\n"
    "and the listing goes on; a batch header too damaged to find the next batch ends that\n"
    "segment's listing with a line naming the file and position. Exits 0 once the listing is\n"
    "printed, whatever it shows; use `strata log verify` for a verdict.";

constexpr const char* kDumpExamples =
    "Examples:\n"
    "  strata log dump /var/lib/strata/orders-0\n"
    "  strata log dump /var/lib/strata/orders-0 --records --max-batches 3\n"
    "  strata log dump /var/lib/strata/orders-0 --from-offset 5000 --records\n";

constexpr const char* kVerifyHelp =
    "Check a partition directory: every batch's structure and checksum, that offsets increase\n"
    "without gaps within and across segments, and that the .index/.timeindex files the broker\n"
    "would trust point at the right batches. Prints one line and exits:\n"
    "  0  \"ok: <segments>, <batches>, offsets [<first>, <end>), <size>\"\n"
    "  1  \"corrupt: <file> at position <byte>: <reason>\" for the first problem found\n"
    "  2  the directory cannot be read, or it is not a partition directory";

constexpr const char* kVerifyExamples =
    "Examples:\n"
    "  strata log verify /var/lib/strata/orders-0\n"
    "  for d in /var/lib/strata/*/; do strata log verify \"$d\" || echo \"check $d\"; done\n";

constexpr const char* kCompareHelp =
    "Compare two replicas of one partition, offline (copies, or brokers stopped): every batch\n"
    "below the offset given (default: the shorter log's end) must be byte-for-byte the same,\n"
    "offsets, leader epochs and checksums included. In a cluster, replicas must agree below the\n"
    "high watermark (`strata topic describe` shows it); above it a follower may still be\n"
    "catching up, or hold a tail it will truncate. Prints one line and exits:\n"
    "  0  \"identical below offset <n>: <batches> batches (log ends <a> and <b>)\"\n"
    "  1  \"differ: ...\" naming the first batch that differs, or the log that ends too soon\n"
    "  2  a directory cannot be read";

constexpr const char* kCompareExamples =
    "Examples:\n"
    "  strata log compare strata-cluster/broker-1/data/orders-0 strata-cluster/broker-2/data/orders-0\n"
    "  strata log compare a/orders-0 b/orders-0 --below 120000\n";

}  // namespace

void AddLogCommand(Commands& commands) {
  CLI::App* log =
      commands.app().add_subcommand("log", "Inspect and check a partition's log files offline");
  commands.Describe(log, kLogHelp);
  log->footer(kLogExamples);
  log->require_subcommand(1);

  struct Args {
    std::string dir;
    std::string other_dir;
    int64_t below = -1;
    DumpOptions dump;
  };
  auto args = std::make_shared<Args>();

  CLI::App* dump = log->add_subcommand("dump", "List segments, batches and (optionally) records");
  commands.Describe(dump, kDumpHelp);
  dump->footer(kDumpExamples);
  dump->add_option("partition-dir", args->dir,
                   "The partition directory (holds <base offset>.log files)")
      ->required()
      ->type_name("DIR");
  dump->add_flag("--records", args->dump.records,
                 "Also print every record: offset, timestamp, key, value, headers");
  dump->add_option("--from-offset", args->dump.from_offset,
                   "Start at the batch holding offset N (default 0)")
      ->type_name("N")
      ->check(NonNegative());
  dump->add_option("--max-batches", args->dump.max_batches,
                   "Stop after printing N batches (default: no limit)")
      ->type_name("N")
      ->check(NonNegative());
  commands.OnRun(dump, [args] {
    absl::Status st = DumpLog(args->dir, args->dump, std::cout);
    std::cout.flush();
    if (!st.ok()) {
      std::cerr << "strata log dump: " << st.message() << "\n";
      return kExitUsage;
    }
    return kExitOk;
  });

  CLI::App* verify =
      log->add_subcommand("verify", "Check every batch and index; exit 0 ok, 1 corrupt");
  commands.Describe(verify, kVerifyHelp);
  verify->footer(kVerifyExamples);
  verify
      ->add_option("partition-dir", args->dir,
                   "The partition directory (holds <base offset>.log files)")
      ->required()
      ->type_name("DIR");
  commands.OnRun(verify, [args] {
    absl::StatusOr<VerifyReport> report = VerifyLog(args->dir);
    if (!report.ok()) {
      std::cerr << "strata log verify: " << report.status().message() << "\n";
      return kExitUsage;
    }
    std::cout << FormatVerifyReport(*report) << std::endl;
    return report->exit_code();
  });

  CLI::App* compare =
      log->add_subcommand("compare", "Check that two replicas hold identical batches");
  commands.Describe(compare, kCompareHelp);
  compare->footer(kCompareExamples);
  compare->add_option("partition-dir", args->dir, "One replica's partition directory")
      ->required()
      ->type_name("DIR");
  compare->add_option("other-dir", args->other_dir, "The other replica's partition directory")
      ->required()
      ->type_name("DIR");
  compare->add_option("--below", args->below,
                      "Compare batches below offset N (default: the shorter log's end)")
      ->type_name("N")
      ->check(NonNegative());
  commands.OnRun(compare, [args] {
    absl::StatusOr<CompareReport> report = CompareLogs(args->dir, args->other_dir, args->below);
    if (!report.ok()) {
      std::cerr << "strata log compare: " << report.status().message() << "\n";
      return kExitUsage;
    }
    std::cout << FormatCompareReport(*report) << std::endl;
    return report->difference ? kExitCorrupt : kExitOk;
  });
}

}  // namespace strata::cli
