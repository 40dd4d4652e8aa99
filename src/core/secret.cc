#include "steadyeye/core/secret.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace steadyeye {

StatusOr<std::vector<uint8_t>> SecureRandomBytes(size_t n) {
  std::vector<uint8_t> bytes(n);
  if (n > 0 && RAND_bytes(bytes.data(), int(n)) != 1)
    return InternalError("the system's random number generator failed");
  return bytes;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace steadyeye
