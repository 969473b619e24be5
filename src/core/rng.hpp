#pragma once
// Randomness is injected: components take an Rng& so tests can make it deterministic.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace selo {

class Rng {
public:
    virtual ~Rng() = default;
    // Fills `out` with random bytes. Production implementations are cryptographically secure.
    virtual void fill(std::span<std::uint8_t> out) = 0;

    [[nodiscard]] std::vector<std::uint8_t> bytes(std::size_t n) {
        std::vector<std::uint8_t> v(n);
        fill(v);
        return v;
    }
    // A uniformly distributed integer in [0, bound), bound > 0, without modulo bias.
    [[nodiscard]] std::uint64_t uniform(std::uint64_t bound);
};

// The operating system's CSPRNG (getrandom(2)).
class SystemRng final : public Rng {
public:
    void fill(std::span<std::uint8_t> out) override;
};

// A deterministic generator for tests only (SplitMix64). Never use it for secrets.
class DeterministicRng final : public Rng {
public:
    explicit DeterministicRng(std::uint64_t seed) : state_(seed) {}
    void fill(std::span<std::uint8_t> out) override;

private:
    std::uint64_t state_;
};

}  // namespace selo
