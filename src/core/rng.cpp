#include "core/rng.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace selo {

std::uint64_t Rng::uniform(std::uint64_t bound) {
    if (bound <= 1) {
        return 0;
    }
    // Rejection sampling: discard draws from the incomplete last block of size `bound`.
    const std::uint64_t limit =
        std::numeric_limits<std::uint64_t>::max() - (std::numeric_limits<std::uint64_t>::max() % bound);
    for (;;) {
        std::uint64_t v = 0;
        fill(std::span(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
        if (v < limit) {
            return v % bound;
        }
    }
}

void SystemRng::fill(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            // Without a working CSPRNG nothing Selo does is safe: this is a broken invariant.
            std::abort();
        }
        done += static_cast<std::size_t>(n);
    }
}

void DeterministicRng::fill(std::span<std::uint8_t> out) {
    for (std::size_t i = 0; i < out.size(); i += 8) {
        state_ += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        std::memcpy(out.data() + i, &z, std::min<std::size_t>(8, out.size() - i));
    }
}

}  // namespace selo
