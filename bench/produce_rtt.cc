// produce_rtt: the broker's part of W2 (bench/compare.sh). One thread sends Produce requests of one
// 1 KiB record over a bare blocking socket, each after the previous answer, and reports the round
// trip p50/p99/p99.9 in ms as one JSON line. No client library, no sender thread, no callbacks:
// the difference to `strata bench produce --sync` is what the client library adds.
//
//   produce_rtt HOST:PORT TOPIC [round_trips] [acks]      (defaults: 20000, 1)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/blocking_socket.h"
#include "common/endian.h"
#include "record/batch.h"
#include "protocol/api.h"
#include "protocol/frame.h"
#include "protocol/message.h"
#include "protocol/produce_generated.h"

namespace fb = strata::protocol::fb;

using strata::bench::ReadFull;
using strata::bench::SortedQuantile;
using strata::bench::WriteFull;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s HOST:PORT TOPIC [round_trips] [acks]\n", argv[0]);
    return 2;
  }
  const std::string address = argv[1];
  const std::string topic = argv[2];
  const int n = argc > 3 ? std::atoi(argv[3]) : 20000;
  const int acks = argc > 4 ? std::atoi(argv[4]) : 1;
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(std::atoi(address.substr(colon + 1).c_str())));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("produce_rtt: connect");
    return 1;
  }
  const int one = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const std::string value(1024, 'v');
  std::vector<double> ms;
  ms.reserve(size_t(n));
  std::vector<std::byte> header(strata::protocol::kFrameHeaderBytes);
  for (int i = 0; i < n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    strata::record::BatchBuilder builder;
    builder.Add(
        {.timestamp_ms = 0, .key = "k", .value = std::string_view(value), .headers = {}});
    auto batch = builder.Build();
    flatbuffers::FlatBufferBuilder b;
    auto parts = b.CreateVector({fb::CreatePartitionProduceData(
        b, 0, b.CreateVector(reinterpret_cast<const uint8_t*>(batch->data()), batch->size()))});
    auto topics = b.CreateVector({fb::CreateTopicProduceData(b, b.CreateString(topic), parts)});
    b.Finish(fb::CreateProduceRequest(b, int8_t(acks), 30000, topics));
    auto frame = strata::protocol::EncodeFrame(
        uint32_t(i + 1), uint16_t(strata::protocol::ApiKey::kProduce), 0,
        strata::protocol::BuilderBytes(b));
    if (!WriteFull(s, frame->data(), frame->size())) return 1;
    if (!ReadFull(s, header.data(), 4)) return 1;
    std::vector<std::byte> rest(strata::GetU32(header.data()));
    if (!ReadFull(s, rest.data(), rest.size())) return 1;
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return SortedQuantile(ms, q); };
  std::printf("{\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,\"round_trips\":%d}\n", at(0.5),
              at(0.99), at(0.999), n);
  return 0;
}
