#include "cluster/etcd_client.h"

namespace strata::cluster {

std::string PrefixEnd(std::string_view prefix) {
  // The smallest key greater than every key with this prefix: drop trailing 0xff bytes and
  // increment the last one. An empty or all-0xff prefix covers everything: "\0" is etcd's
  // "to the end of the key space".
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace strata::cluster
