// The time-stamping units as `selo serve` keeps them (cli::Runtime::check_time_stamping_units),
// on a real data directory with a fake clock: renewed near their end, out of service while a CA
// above them is on hold and never put back by a renewal meanwhile, each unit checked whatever
// happens to the other, and a time-stamping certificate never revoked without a reason that
// says what becomes of its tokens.

#include <gtest/gtest.h>

#include "cli/data_dir.hpp"
#include "crypto/digest.hpp"
#include "pki/revocation.hpp"
#include "support/test_support.hpp"

namespace selo::tsa {
namespace {

using namespace std::chrono_literals;

class UnitWatchTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto rt = cli::Runtime::create(dir / "data", {}, clock, rng);
        ASSERT_TRUE(rt.has_value()) << rt.error().message;
        runtime = std::move(*rt);
    }
    pki::CertificateAuthority& ca(std::string_view name) { return *runtime->authority(name).value(); }
    // The CA above the units (the [tsa] issuer) and its own issuer.
    std::string issuer_serial() { return runtime->tsa_chain().front().serial_hex(); }
    pki::CertificateAuthority& issuers_issuer() {
        return ca(*runtime->cas().find(runtime->config().tsa.issuer).value()->parent);
    }
    bool signs(TimeStampAuthority& unit) {
        return unit.time_stamp({std::string(crypto::digest_oid(crypto::DigestAlgorithm::sha256)),
                                crypto::sha256(std::string_view("Aviso n.º 5")), true})
            .has_value();
    }

    test::TempDir dir;
    FakeClock clock{std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    SystemRng rng;
    std::unique_ptr<cli::Runtime> runtime;
    const pki::Actor officer{"officer-1", "test"};
};

TEST_F(UnitWatchTest, RenewsUnitsNearTheirEndButNotWhileTheirCaIsOnHold) {
    TimeStampAuthority& tsa = runtime->time_stamp_authority();
    TimeStampAuthority& log_unit = runtime->log_time_stamp_unit();
    const pki::Certificate first = tsa.certificate();
    EXPECT_EQ(runtime->check_time_stamping_units().value(), 0u) << "in force and far from their end";

    // The CA above them on hold: out of service, and a renewal falling due meanwhile does not
    // put them back (a certificate from that CA would not be in force either).
    ASSERT_TRUE(issuers_issuer().suspend(issuer_serial(), officer).has_value());
    EXPECT_EQ(runtime->check_time_stamping_units().value(), 0u);
    ASSERT_TRUE(tsa.withdrawn().has_value());
    EXPECT_TRUE(log_unit.withdrawn().has_value());
    EXPECT_FALSE(signs(tsa));
    clock.set(first.not_after() - kRenewUnitBefore + 1h);
    EXPECT_EQ(runtime->check_time_stamping_units().value(), 0u);
    EXPECT_TRUE(tsa.withdrawn().has_value()) << "a renewal put a unit under a held CA back in service";
    EXPECT_EQ(tsa.certificate().der(), first.der()) << "renewed from a CA on hold";
    EXPECT_FALSE(signs(tsa));

    // The hold lifted: back in service, and renewed in the same check.
    ASSERT_TRUE(issuers_issuer().resume(issuer_serial(), officer).has_value());
    EXPECT_EQ(runtime->check_time_stamping_units().value(), 2u);
    EXPECT_FALSE(tsa.withdrawn().has_value());
    EXPECT_FALSE(log_unit.withdrawn().has_value());
    EXPECT_NE(tsa.certificate().der(), first.der());
    EXPECT_GT(tsa.certificate().not_after() - clock.now(), kRenewUnitBefore);
    EXPECT_TRUE(signs(tsa));
    EXPECT_EQ(runtime->check_time_stamping_units().value(), 0u) << "renewed once, not at every check";
    // Both certificates the unit has signed under are kept, for receipts and relying parties.
    EXPECT_EQ(runtime->tsa_unit_certificates().value(), (std::vector<Bytes>{first.der(), tsa.certificate().der()}));
}

TEST_F(UnitWatchTest, OneUnitsFailureDoesNotKeepTheOtherFromBeingChecked) {
    TimeStampAuthority& tsa = runtime->time_stamp_authority();
    TimeStampAuthority& log_unit = runtime->log_time_stamp_unit();
    const pki::Certificate tsa_cert = tsa.certificate();
    const pki::Certificate log_cert = log_unit.certificate();
    const std::string issuer = runtime->config().tsa.issuer;
    // Both revoked; the public TSA's record gone, so that its replacement fails.
    ASSERT_TRUE(ca(issuer).revoke(tsa_cert.serial_hex(), pki::RevocationReason::superseded, std::nullopt, officer));
    ASSERT_TRUE(ca(issuer).revoke(log_cert.serial_hex(), pki::RevocationReason::superseded, std::nullopt, officer));
    ASSERT_TRUE(runtime->database().execute("DELETE FROM tsa_units WHERE name = 'tsa'").has_value());
    auto r = runtime->check_time_stamping_units();
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("unit 'tsa'"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("unit 'log'"), std::string::npos) << r.error().message;
    EXPECT_TRUE(tsa.withdrawn().has_value()) << "withdrawn although it could not be replaced";
    EXPECT_FALSE(signs(tsa));
    EXPECT_FALSE(log_unit.withdrawn().has_value()) << "the log's unit was not checked after the TSA's failure";
    EXPECT_NE(log_unit.certificate().der(), log_cert.der());
    EXPECT_TRUE(signs(log_unit));
}

TEST_F(UnitWatchTest, ATimeStampingCertificateIsNotRevokedWithoutAReason) {
    const pki::Certificate unit = runtime->time_stamp_authority().certificate();
    auto& issuer = ca(runtime->config().tsa.issuer);
    auto r = issuer.revoke(unit.serial_hex(), pki::RevocationReason::unspecified, std::nullopt, officer);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("for time-stamping: name the reason"), std::string::npos) << r.error().message;
    EXPECT_EQ(runtime->certificates().status(issuer.name(), unit.serial_hex()).value()->status, pki::kStatusValid);
    EXPECT_TRUE(issuer.revoke(unit.serial_hex(), pki::RevocationReason::cessation_of_operation, std::nullopt, officer)
                    .has_value());
    // Other certificates keep "unspecified", which RFC 5280 allows for any of them.
    auto ca_serial = issuer_serial();
    EXPECT_TRUE(issuers_issuer().revoke(ca_serial, pki::RevocationReason::unspecified, std::nullopt, officer));
}

}  // namespace
}  // namespace selo::tsa
