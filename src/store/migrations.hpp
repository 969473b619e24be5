#pragma once
// Schema migrations, kept per part of Selo so that each module's tables evolve on their own
// version line: `schema_versions` holds one row (part, version) per part.

#include <string_view>
#include <vector>

namespace selo::store {

struct SchemaPart {
    std::string_view name;
    const std::vector<std::string_view>& migrations;
};

namespace schema {
const std::vector<std::string_view>& keys();
const std::vector<std::string_view>& pki();
const std::vector<std::string_view>& account();
const std::vector<std::string_view>& cloudsign();
const std::vector<std::string_view>& audit();
const std::vector<std::string_view>& sepbox();
const std::vector<std::string_view>& tsa();
const std::vector<std::string_view>& translog();
const std::vector<std::string_view>& institution();
const std::vector<std::string_view>& client_certificates();
}  // namespace schema

// Every part, in the order their tables must be created (referenced tables first).
const std::vector<SchemaPart>& schema_parts();

}  // namespace selo::store
