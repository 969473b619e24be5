// EPCM postmarks on a real `selo serve`: Postmark → Verify / CheckIntegrity round trips, a
// changed document failing, receipts checked offline with openssl alone (as the README says),
// LogEvent and RetrieveResults with their access rules, and the submitter's CMS signature
// (also by a certificate of Selo's own that the CA then revokes).

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "integration/selo_instance.hpp"

namespace selo::test {
namespace {

// The policy EPCM receipts are stamped under (README), which the public TSA never grants.
constexpr std::string_view kReceiptPolicy = "2.25.213343623855697146825054647424244362817.2.3";

namespace json = boost::json;

class EpcmHttp : public ::testing::Test {
protected:
    void SetUp() override {
        std::string err = selo.start(false);
        ASSERT_TRUE(err.empty()) << err;
        d = shell_quote(selo.dir().string());
        auto r = run("cd " + d + " && printf 'Notificação n.º 3/2026\\n' > doc.txt && printf 'Notificação n.º 4/2026\\n' > other.txt"
                     " && curl -sf " + selo.base() + "/ca/root.crt | openssl x509 -inform DER -out root.pem"
                     " && curl -sf " + selo.base() + "/ca/infrastructure.crt | openssl x509 -inform DER -out chain.pem");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        submitter = selo.enrol("Chan Tai Man", "Chan Tai Man", "5215299(8)", "chan@example.mo", "");
        token = selo.api_login(submitter);
    }
    std::string sha256_of(const std::string& file) {
        auto r = run_stdout("cd " + d + " && sha256sum " + file + " | cut -c1-64");
        return r.output.substr(0, 64);
    }
    std::vector<std::string> auth(const std::string& t) { return {"Authorization: Bearer " + t}; }
    SeloInstance selo;
    std::string d;
    Holder submitter;
    std::string token;
};

TEST_F(EpcmHttp, PostmarkVerifiesOnlineAndOfflineAndAChangedDocumentFails) {
    const std::string digest = sha256_of("doc.txt");
    EXPECT_EQ(selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", digest}})).status, 401);
    auto pm = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", digest}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const auto& receipt = pm.body.as_object();
    EXPECT_EQ(receipt.at("event").as_string(), "postmark");
    EXPECT_EQ(receipt.at("submitter").as_string(), submitter.account_id);
    EXPECT_EQ(receipt.at("digest").as_string(), digest);
    EXPECT_EQ(receipt.at("signature").as_object().at("status").as_string(), "none");
    const std::string id(receipt.at("id").as_string());

    // Online: CheckIntegrity with the document's digest, then with another document's.
    auto ok = selo.post("/api/v1/epcm/check-integrity", json::serialize(json::object{{"receipt_id", id}, {"digest", digest}}));
    ASSERT_EQ(ok.status, 200) << ok.raw;
    EXPECT_TRUE(ok.body.as_object().at("valid").as_bool()) << ok.raw;
    EXPECT_EQ(ok.body.as_object().at("proven_time").as_string(), receipt.at("time").as_string());
    auto bad = selo.post("/api/v1/epcm/check-integrity",
                         json::serialize(json::object{{"receipt_id", id}, {"digest", sha256_of("other.txt")}}));
    ASSERT_EQ(bad.status, 200) << bad.raw;
    EXPECT_FALSE(bad.body.as_object().at("valid").as_bool());
    EXPECT_NE(std::string(bad.body.as_object().at("reason").as_string()).find("does not match"), std::string::npos);
    // Verify a receipt given as text and token; an edited receipt fails.
    auto v = selo.post("/api/v1/epcm/verify", json::serialize(json::object{
        {"receipt", receipt.at("receipt")}, {"token", receipt.at("token")}, {"digest", digest}}));
    EXPECT_TRUE(v.body.as_object().at("valid").as_bool()) << v.raw;
    auto text = base64_decode(std::string_view(receipt.at("receipt").as_string())).value();
    std::string edited(as_chars(text));
    edited.replace(edited.find("sequence: 0"), 11, "sequence: 9");
    auto ev = selo.post("/api/v1/epcm/verify", json::serialize(json::object{
        {"receipt", base64_encode(as_bytes(edited))}, {"token", receipt.at("token")}, {"digest", digest}}));
    EXPECT_FALSE(ev.body.as_object().at("valid").as_bool()) << ev.raw;
    EXPECT_EQ(selo.post("/api/v1/epcm/verify", json::serialize(json::object{{"receipt_id", "nope"}})).status, 404);

    // Offline, with openssl and coreutils only (README "Checking a postmark offline").
    write_file(selo.dir() / "receipt.txt", text);
    write_file(selo.dir() / "receipt.tst", base64_decode(std::string_view(receipt.at("token").as_string())).value());
    // The query names the receipts' policy, which `openssl ts -verify -queryfile` then requires.
    auto off = run("cd " + d + " && openssl ts -query -data receipt.txt -sha256 -no_nonce -tspolicy " +
                   std::string(kReceiptPolicy) +
                   " -out receipt.tsq && openssl ts -verify -queryfile receipt.tsq -in receipt.tst -token_in"
                   " -CAfile root.pem -untrusted chain.pem && grep -qx \"digest: SHA-256:$(sha256sum doc.txt | cut -c1-64)\" receipt.txt && echo DOCUMENT-MATCHES");
    EXPECT_NE(off.output.find("Verification: OK"), std::string::npos) << off.output;
    EXPECT_NE(off.output.find("DOCUMENT-MATCHES"), std::string::npos) << off.output;
    auto off_bad = run("cd " + d + " && grep -qx \"digest: SHA-256:$(sha256sum other.txt | cut -c1-64)\" receipt.txt");
    EXPECT_NE(off_bad.exit_code, 0);

    // A forged receipt: any text can be time-stamped at the public TSA, but not under the
    // receipts' policy, so neither Selo nor the offline check takes it for a receipt.
    std::string forged(as_chars(text));
    forged.replace(forged.find("signature: none"), 15, "signature: valid");
    write_file(selo.dir() / "forged.txt", as_bytes(forged));
    auto stamped = run("cd " + d + " && openssl ts -query -data forged.txt -sha256 -cert | curl -s --data-binary @- "
                       "-H 'Content-Type: application/timestamp-query' " + selo.base() + "/tsa -o forged.tsr"
                       " && openssl ts -reply -in forged.tsr -token_out -out forged.tst && echo STAMPED");
    ASSERT_NE(stamped.output.find("STAMPED"), std::string::npos) << stamped.output;
    auto fv = selo.post("/api/v1/epcm/verify", json::serialize(json::object{
        {"receipt", base64_encode(as_bytes(forged))}, {"token", base64_encode(read_file(selo.dir() / "forged.tst"))},
        {"digest", digest}}));
    ASSERT_EQ(fv.status, 200) << fv.raw;
    EXPECT_FALSE(fv.body.as_object().at("valid").as_bool()) << fv.raw;
    EXPECT_NE(std::string(fv.body.as_object().at("reason").as_string()).find("not an EPCM receipt's"), std::string::npos)
        << fv.raw;
    auto off_forged = run("cd " + d + " && openssl ts -query -data forged.txt -sha256 -no_nonce -tspolicy " +
                          std::string(kReceiptPolicy) +
                          " -out forged.tsq && openssl ts -verify -queryfile forged.tsq -in forged.tst -token_in"
                          " -CAfile root.pem -untrusted chain.pem");
    EXPECT_EQ(off_forged.output.find("Verification: OK"), std::string::npos) << off_forged.output;
    EXPECT_NE(off_forged.output.find("policy"), std::string::npos) << off_forged.output;

    // Signed by Selo's own unit, pinned with the certificates it has had (README): the genuine
    // receipt passes. A receipt stamped under the receipts' policy by another time-stamping
    // certificate of Selo's CA (one an officer issued) chains to the root all the same, but is
    // not Selo's: refused online, and by the pinned offline check.
    const std::string pinned = " -CAfile units.pem -partial_chain";
    auto pin = run("cd " + d + " && curl -sf " + selo.base() + "/ca/time-stamping-units.pem -o units.pem"
                   " && openssl ts -verify -queryfile receipt.tsq -in receipt.tst -token_in" + pinned);
    EXPECT_NE(pin.output.find("Verification: OK"), std::string::npos) << pin.output;
    auto other = selo.selo("ca issue --data " + shell_quote(selo.data().string()) + " --profile tsa --common-name "
                           "'Some Other TSA' --generate-key --key-out " + d + "/other.key -o " + d + "/other.pem");
    ASSERT_EQ(other.exit_code, 0) << other.output;
    const std::string cnf = "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = " + selo.dir().string() +
                            "/other.serial\nsigner_cert = other.pem\nsigner_key = other.key\nsigner_digest = sha256\n"
                            "default_policy = " + std::string(kReceiptPolicy) +
                            "\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n";
    write_file(selo.dir() / "other.cnf", as_bytes(cnf));
    auto rogue = run("cd " + d + " && echo 01 > other.serial && openssl ts -query -data forged.txt -sha256 -cert"
                     " -tspolicy " + std::string(kReceiptPolicy) + " -out rq.tsq && openssl ts -reply -config other.cnf"
                     " -queryfile rq.tsq -chain chain.pem -token_out -out rogue.tst && echo MADE");
    ASSERT_NE(rogue.output.find("MADE"), std::string::npos) << rogue.output;
    auto rv = selo.post("/api/v1/epcm/verify", json::serialize(json::object{
        {"receipt", base64_encode(as_bytes(forged))}, {"token", base64_encode(read_file(selo.dir() / "rogue.tst"))}}));
    ASSERT_EQ(rv.status, 200) << rv.raw;
    EXPECT_FALSE(rv.body.as_object().at("valid").as_bool()) << rv.raw;
    EXPECT_NE(std::string(rv.body.as_object().at("reason").as_string()).find("not Selo's time-stamping unit"),
              std::string::npos)
        << rv.raw;
    auto rogue_chain = run("cd " + d + " && openssl ts -verify -queryfile forged.tsq -in rogue.tst -token_in"
                           " -CAfile root.pem -untrusted chain.pem");
    EXPECT_NE(rogue_chain.output.find("Verification: OK"), std::string::npos)
        << "the root alone accepts it (why the README pins):\n" << rogue_chain.output;
    auto rogue_pinned = run("cd " + d + " && openssl ts -verify -queryfile forged.tsq -in rogue.tst -token_in" + pinned);
    EXPECT_EQ(rogue_pinned.output.find("Verification: OK"), std::string::npos) << rogue_pinned.output;

    // Bad input is a 400 problem.
    EXPECT_EQ(selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", "abcd"}}), auth(token)).status, 422);
    EXPECT_EQ(selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", "zz"}}), auth(token)).status, 400);
    EXPECT_EQ(selo.post("/api/v1/epcm/postmark", "[1]", auth(token)).status, 400);
}

// RFC 3161 §4 for receipts: the TSA's certificate superseded, the receipts made before still
// prove their time, and new ones come from the unit's new key; its key reported compromised,
// no receipt under it is trusted any more.
TEST_F(EpcmHttp, ReceiptsFollowTheTsaCertificatesRevocation) {
    const std::string digest = sha256_of("doc.txt");
    auto pm = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", digest}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const std::string id(pm.body.as_object().at("id").as_string());
    auto check = [&](const std::string& receipt_id) {
        return selo.post("/api/v1/epcm/check-integrity",
                         json::serialize(json::object{{"receipt_id", receipt_id}, {"digest", digest}}));
    };
    ASSERT_TRUE(check(id).body.as_object().at("valid").as_bool());
    // Revoked at once: revocation times are whole seconds, and a receipt from the second of the
    // revocation is given that second, not taken for one stamped after it.

    auto list = selo.selo("ca list --json --data " + shell_quote(selo.data().string()), true);
    ASSERT_EQ(list.exit_code, 0) << list.output;
    std::string unit;
    const json::value rows = json::parse(list.output);  // outlives the loop
    for (const auto& v : rows.as_array()) {
        if (std::string_view(v.at("subject").as_string()).find("Time-Stamping Unit") != std::string_view::npos) {
            unit = std::string(v.at("serial").as_string());
        }
    }
    ASSERT_FALSE(unit.empty()) << list.output;
    auto revoke = [&](const std::string& serial, const std::string& reason) {
        auto r = selo.selo("ca revoke --data " + shell_quote(selo.data().string()) + " --serial " + serial +
                           " --reason " + reason);
        ASSERT_EQ(r.exit_code, 0) << r.output;
    };
    revoke(unit, "superseded");
    auto before = check(id);
    ASSERT_EQ(before.status, 200) << before.raw;
    EXPECT_TRUE(before.body.as_object().at("valid").as_bool()) << before.raw;

    // The unit is replaced within a second; a postmark made meanwhile is refused (503), none is
    // stamped under the superseded certificate.
    std::string later;
    for (int i = 0; i < 100 && later.empty(); ++i) {
        auto p = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", digest}}), auth(token));
        if (p.status == 201) {
            later = std::string(p.body.as_object().at("id").as_string());
            auto tst = base64_decode(std::string_view(p.body.as_object().at("token").as_string())).value();
            write_file(selo.dir() / "later.tst", tst);
            auto signer = run_stdout("cd " + d + " && openssl pkcs7 -inform DER -in later.tst -print_certs -out later.pem"
                                     " && openssl x509 -in later.pem -noout -serial");
            ASSERT_EQ(signer.output.rfind("serial=", 0), 0u) << signer.output;
            std::string upper = unit;
            for (auto& c : upper) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            EXPECT_EQ(signer.output.find(upper), std::string::npos) << "stamped under the revoked unit";
        } else {
            EXPECT_EQ(p.status, 503) << p.raw;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    ASSERT_FALSE(later.empty()) << "no postmark after 10 s";
    EXPECT_TRUE(check(later).body.as_object().at("valid").as_bool());

    // The new key reported compromised: the receipt under it, though made before, is no longer
    // trusted; the first one (its certificate superseded, its key not compromised) still is.
    auto relisted = selo.selo("ca list --json --data " + shell_quote(selo.data().string()), true);
    const json::value rows2 = json::parse(relisted.output);
    std::string second;
    for (const auto& v : rows2.as_array()) {
        if (std::string_view(v.at("subject").as_string()).find("Time-Stamping Unit") != std::string_view::npos &&
            v.at("status").as_string() == "valid") {
            second = std::string(v.at("serial").as_string());
        }
    }
    ASSERT_FALSE(second.empty()) << relisted.output;
    revoke(second, "keyCompromise");
    auto voided = check(later);
    ASSERT_EQ(voided.status, 200) << voided.raw;
    EXPECT_FALSE(voided.body.as_object().at("valid").as_bool()) << voided.raw;
    const std::string why(voided.body.as_object().at("reason").as_string());
    EXPECT_NE(why.find("cannot be trusted"), std::string::npos) << why;
    EXPECT_NE(why.find("reason keyCompromise"), std::string::npos) << why;
    EXPECT_TRUE(check(id).body.as_object().at("valid").as_bool()) << check(id).raw;
}

TEST_F(EpcmHttp, LogEventAndRetrieveResultsForTheSubmitterAndStaffOnly) {
    auto pm = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", sha256_of("doc.txt")}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const std::string tx(pm.body.as_object().at("transaction_id").as_string());
    auto ev = selo.post("/api/v1/epcm/transactions/" + tx + "/events",
                        json::serialize(json::object{{"event", "delivered"}, {"details", "to the addressee's box"}}), auth(token));
    ASSERT_EQ(ev.status, 201) << ev.raw;
    EXPECT_EQ(ev.body.as_object().at("sequence").as_int64(), 1);
    // The event's own receipt is time-stamped and verifies offline.
    write_file(selo.dir() / "ev.txt", base64_decode(std::string_view(ev.body.as_object().at("receipt").as_string())).value());
    write_file(selo.dir() / "ev.tst", base64_decode(std::string_view(ev.body.as_object().at("token").as_string())).value());
    auto off = run("cd " + d + " && openssl ts -verify -data ev.txt -in ev.tst -token_in -CAfile root.pem -untrusted chain.pem");
    EXPECT_NE(off.output.find("Verification: OK"), std::string::npos) << off.output;

    auto results = selo.get("/api/v1/epcm/transactions/" + tx, auth(token));
    ASSERT_EQ(results.status, 200) << results.raw;
    const auto& events = results.body.as_object().at("events").as_array();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].as_object().at("event").as_string(), "delivered");

    auto stranger = selo.enrol("Wong Siu Ming", "Wong Siu Ming", "1234567(1)", "wong@example.mo", "");
    std::string st = selo.api_login(stranger);
    EXPECT_EQ(selo.get("/api/v1/epcm/transactions/" + tx, auth(st)).status, 404) << "a stranger cannot tell it from none";
    EXPECT_EQ(selo.post("/api/v1/epcm/transactions/" + tx + "/events", json::serialize(json::object{{"event", "read"}}), auth(st)).status, 404) << "a stranger cannot tell it from none";
    auto clerk = selo.enrol("Lei Clerk", "Lei Clerk", "S-9", "clerk@example.mo", "", {"clerk"}, "staff-card");
    EXPECT_EQ(selo.get("/api/v1/epcm/transactions/" + tx, auth(selo.api_login(clerk))).status, 200);
    // An auditor reads the transaction, so is told why it may not add to it (not "no such one").
    auto auditor = selo.enrol("Ho Auditor", "Ho Auditor", "S-10", "auditor@example.mo", "", {"auditor"}, "staff-card");
    const std::string at = selo.api_login(auditor);
    EXPECT_EQ(selo.get("/api/v1/epcm/transactions/" + tx, auth(at)).status, 200);
    auto denied = selo.post("/api/v1/epcm/transactions/" + tx + "/events", json::serialize(json::object{{"event", "read"}}), auth(at));
    EXPECT_EQ(denied.status, 403) << denied.raw;
    EXPECT_NE(denied.raw.find("auditors may read transaction " + tx + " but not add events to it"), std::string::npos) << denied.raw;
    EXPECT_EQ(selo.get("/api/v1/epcm/transactions/ffff", auth(token)).status, 404);
    EXPECT_EQ(selo.post("/api/v1/epcm/transactions/" + tx + "/events", json::serialize(json::object{{"event", "Bad Event"}}), auth(token)).status, 422);

    // Postmarks and events are in the transparency log.
    auto log = selo.get("/api/v1/log/entries");
    int postmarks = 0, epcm_events = 0;
    for (const auto& e : log.body.as_object().at("entries").as_array()) {
        postmarks += e.as_object().at("type").as_string() == "postmark";
        epcm_events += e.as_object().at("type").as_string() == "epcm-event";
    }
    EXPECT_EQ(postmarks, 1);
    EXPECT_EQ(epcm_events, 1);
}

TEST_F(EpcmHttp, TheSubmittersCmsSignatureIsValidated) {
    // A signer outside Selo's hierarchy: the signature is intact but not trusted.
    auto mk = run("cd " + d + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem"
                  " -out c.pem -subj '/CN=Outside Signer' -days 2 2>&1"
                  " && openssl cms -sign -binary -md sha256 -in doc.txt -signer c.pem -inkey k.pem -outform DER -out sig.der");
    ASSERT_EQ(mk.exit_code, 0) << mk.output;
    std::string sig = base64_encode(read_file(selo.dir() / "sig.der"));
    auto pm = selo.post("/api/v1/epcm/postmark",
                        json::serialize(json::object{{"digest", sha256_of("doc.txt")}, {"signature", sig}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const auto& s = pm.body.as_object().at("signature").as_object();
    EXPECT_EQ(s.at("status").as_string(), "invalid");
    EXPECT_NE(std::string(s.at("detail").as_string()).find("Outside Signer, whose certificate does not chain"), std::string::npos)
        << s.at("detail");
    // The same signature offered for another document.
    auto other = selo.post("/api/v1/epcm/postmark",
                           json::serialize(json::object{{"digest", sha256_of("other.txt")}, {"signature", sig}}), auth(token));
    EXPECT_NE(std::string(other.body.as_object().at("signature").as_object().at("detail").as_string()).find("another document"),
              std::string::npos) << other.raw;
    auto junk = selo.post("/api/v1/epcm/postmark",
                          json::serialize(json::object{{"digest", sha256_of("doc.txt")}, {"signature", "AAAA"}}), auth(token));
    EXPECT_EQ(junk.body.as_object().at("signature").as_object().at("status").as_string(), "invalid") << junk.raw;
}

TEST_F(EpcmHttp, ParallelEventsOfOneTransactionAreAllRecordedAndLoggedOnce) {
    auto pm = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", sha256_of("doc.txt")}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const std::string tx(pm.body.as_object().at("transaction_id").as_string());
    // 30 requests at once, each printing its status.
    write_file(selo.dir() / "event.json", std::string_view(R"({"event":"delivered"})"));
    auto r = run("cd " + d + " && seq 30 | xargs -P 30 -I{} curl -s -o /dev/null -w '%{http_code}\\n'"
                 " -H 'Authorization: Bearer " + token + "' -H 'Content-Type: application/json'"
                 " --data-binary @event.json " + selo.base() + "/api/v1/epcm/transactions/" + tx + "/events");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 30) << r.output;
    EXPECT_EQ(r.output.find_first_not_of("201\n"), std::string::npos) << r.output;

    auto results = selo.get("/api/v1/epcm/transactions/" + tx, auth(token));
    ASSERT_EQ(results.status, 200) << results.raw;
    const auto& events = results.body.as_object().at("events").as_array();
    ASSERT_EQ(events.size(), 31u) << results.raw;
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].as_object().at("sequence").as_int64(), static_cast<std::int64_t>(i));
    }
    int logged = 0;
    auto log = selo.get("/api/v1/log/entries");
    ASSERT_EQ(log.status, 200) << log.raw;
    for (const auto& e : log.body.as_object().at("entries").as_array()) {
        logged += e.as_object().at("type").as_string() == "epcm-event";
    }
    EXPECT_EQ(logged, 30) << "one log entry per stored event";
}

TEST_F(EpcmHttp, VerifyTakesTheReceiptsOwnAlgorithmAndAnOptionalDigest) {
    const std::string d384 = run_stdout("cd " + d + " && sha384sum doc.txt | cut -c1-96").output.substr(0, 96);
    auto pm = selo.post("/api/v1/epcm/postmark",
                        json::serialize(json::object{{"digest", d384}, {"digest_algorithm", "sha-384"}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const auto& receipt = pm.body.as_object();
    const std::string id(receipt.at("id").as_string());
    const json::object as_text{{"receipt", receipt.at("receipt")}, {"token", receipt.at("token")}};

    // A correct SHA-384 digest without digest_algorithm matches, by id and as text.
    auto by_id = selo.post("/api/v1/epcm/check-integrity", json::serialize(json::object{{"receipt_id", id}, {"digest", d384}}));
    ASSERT_EQ(by_id.status, 200) << by_id.raw;
    EXPECT_TRUE(by_id.body.as_object().at("valid").as_bool()) << by_id.raw;
    EXPECT_TRUE(by_id.body.as_object().at("document_checked").as_bool()) << by_id.raw;
    auto text_with_digest = as_text;
    text_with_digest["digest"] = d384;
    auto by_text = selo.post("/api/v1/epcm/verify", json::serialize(text_with_digest));
    ASSERT_EQ(by_text.status, 200) << by_text.raw;
    EXPECT_TRUE(by_text.body.as_object().at("valid").as_bool()) << by_text.raw;
    // A digest that cannot be SHA-384 is an error in the request, not "the digest differs".
    auto short_digest = selo.post("/api/v1/epcm/check-integrity",
                                  json::serialize(json::object{{"receipt_id", id}, {"digest", sha256_of("doc.txt")}}));
    EXPECT_EQ(short_digest.status, 422) << short_digest.raw;
    EXPECT_NE(short_digest.raw.find("a SHA-384 digest is 48 bytes, not 32"), std::string::npos) << short_digest.raw;
    auto text_short = as_text;
    text_short["digest"] = sha256_of("doc.txt");
    EXPECT_EQ(selo.post("/api/v1/epcm/verify", json::serialize(text_short)).status, 422);

    // Verify without a digest: the receipt is genuine and its time proven; no document checked.
    auto genuine = selo.post("/api/v1/epcm/verify", json::serialize(as_text));
    ASSERT_EQ(genuine.status, 200) << genuine.raw;
    EXPECT_TRUE(genuine.body.as_object().at("valid").as_bool()) << genuine.raw;
    EXPECT_FALSE(genuine.body.as_object().at("document_checked").as_bool()) << genuine.raw;
    EXPECT_EQ(genuine.body.as_object().at("proven_time").as_string(), receipt.at("time").as_string());
    auto genuine_id = selo.post("/api/v1/epcm/verify", json::serialize(json::object{{"receipt_id", id}}));
    EXPECT_FALSE(genuine_id.body.as_object().at("document_checked").as_bool()) << genuine_id.raw;
    EXPECT_EQ(selo.post("/api/v1/epcm/check-integrity", json::serialize(as_text)).status, 400) << "CheckIntegrity needs a digest";

    // Both forms at once would check one and ignore the other.
    auto both = as_text;
    both["receipt_id"] = id;
    auto twice = selo.post("/api/v1/epcm/verify", json::serialize(both));
    EXPECT_EQ(twice.status, 400) << twice.raw;
    EXPECT_NE(twice.raw.find("give either 'receipt_id' or 'receipt' and 'token', not both"), std::string::npos) << twice.raw;
    EXPECT_EQ(selo.post("/api/v1/epcm/verify", json::serialize(json::object{{"digest", d384}})).status, 400);
}

TEST_F(EpcmHttp, AMemberOfTheWrongTypeIsRefusedByName) {
    const std::string digest = sha256_of("doc.txt");
    auto pm = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", digest}}), auth(token));
    ASSERT_EQ(pm.status, 201) << pm.raw;
    const std::string id(pm.body.as_object().at("id").as_string());
    auto refused = [&](const std::string& path, json::object body, const std::string& member) {
        auto r = selo.post(path, json::serialize(body), auth(token));
        EXPECT_EQ(r.status, 400) << path << " " << json::serialize(body) << ": " << r.raw;
        EXPECT_NE(r.raw.find("'" + member + "' must be a string"), std::string::npos) << r.raw;
    };
    for (json::value wrong : {json::value(5), json::value(nullptr), json::value(json::array{"sha-384"})}) {
        refused("/api/v1/epcm/postmark", {{"digest", digest}, {"digest_algorithm", wrong}}, "digest_algorithm");
        refused("/api/v1/epcm/postmark", {{"digest", digest}, {"signature", wrong}}, "signature");
        refused("/api/v1/epcm/verify", {{"receipt_id", id}, {"digest", wrong}}, "digest");
        refused("/api/v1/epcm/verify", {{"receipt_id", wrong}}, "receipt_id");
        refused("/api/v1/epcm/check-integrity", {{"receipt_id", id}, {"digest", digest}, {"digest_algorithm", wrong}},
                "digest_algorithm");
        refused("/api/v1/epcm/transactions/" + id + "/events", {{"event", "read"}, {"details", wrong}}, "details");
    }
    // A misspelt member is refused by name rather than ignored: a postmark "signatur" would
    // otherwise be receipted as unsigned, a Verify "digets" would check the receipt alone.
    auto unknown = [&](const std::string& path, json::object body, const std::string& member) {
        auto r = selo.post(path, json::serialize(body), auth(token));
        EXPECT_EQ(r.status, 400) << path << " " << json::serialize(body) << ": " << r.raw;
        EXPECT_NE(r.raw.find("unknown member '" + member + "'"), std::string::npos) << r.raw;
    };
    unknown("/api/v1/epcm/postmark", {{"digest", digest}, {"signatur", "AAAA"}}, "signatur");
    unknown("/api/v1/epcm/verify", {{"receipt_id", id}, {"digets", digest}}, "digets");
    unknown("/api/v1/epcm/check-integrity", {{"receipt_id", id}, {"digest", digest}, {"extra", 1}}, "extra");
    unknown("/api/v1/epcm/transactions/" + id + "/events", {{"event", "read"}, {"detail", "x"}}, "detail");
    // An optional member given empty is named as such, not called required.
    auto empty = selo.post("/api/v1/epcm/postmark", json::serialize(json::object{{"digest", digest}, {"signature", ""}}),
                           auth(token));
    EXPECT_EQ(empty.status, 400) << empty.raw;
    EXPECT_NE(empty.raw.find("'signature' is empty: give it as base64, or leave it out"), std::string::npos)
        << empty.raw;
    // The right document hashed with another algorithm than the receipt's: a 422 saying which,
    // not "the document does not match".
    auto other_alg = selo.post("/api/v1/epcm/verify",
                               json::serialize(json::object{{"receipt_id", id},
                                                            {"digest", std::string(128, 'a')},
                                                            {"digest_algorithm", "sha-512"}}),
                               auth(token));
    EXPECT_EQ(other_alg.status, 422) << other_alg.raw;
    EXPECT_NE(other_alg.raw.find("the receipt is of a SHA-256 digest; the digest given is SHA-512"),
              std::string::npos)
        << other_alg.raw;
    // None of the refused events was recorded.
    auto results = selo.get("/api/v1/epcm/transactions/" + id, auth(token));
    EXPECT_EQ(results.body.as_object().at("events").as_array().size(), 1u) << results.raw;
}

TEST_F(EpcmHttp, ASignatureByACertificateTheCaHasRevokedIsInvalid) {
    // A signing certificate from Selo's natural-persons CA, and `openssl cms` signing with it.
    auto issued = selo.selo("ca issue --data " + shell_quote(selo.data().string()) +
                                " --profile natural-person-signing --account " +
                                submitter.username + " --generate-key --key-out " +
                                shell_quote((selo.dir() / "signer.key").string()) + " -o " +
                                shell_quote((selo.dir() / "signer.pem").string()) + " --json",
                            true);
    ASSERT_EQ(issued.exit_code, 0) << issued.output;
    const auto info = json::parse(issued.output).as_object();
    const std::string serial(info.at("serial").as_string());
    const std::string subject(info.at("subject").as_string());
    auto mk = run("cd " + d +
                  " && openssl cms -sign -binary -md sha256 -in doc.txt -signer signer.pem"
                  " -inkey signer.key -outform DER -out own.der 2>&1");
    ASSERT_EQ(mk.exit_code, 0) << mk.output;
    const json::object body{{"digest", sha256_of("doc.txt")},
                            {"signature", base64_encode(read_file(selo.dir() / "own.der"))}};
    auto receipt_of = [&](const Reply& r) {
        return std::string(as_chars(
            base64_decode(std::string_view(r.body.as_object().at("receipt").as_string())).value()));
    };

    auto good = selo.post("/api/v1/epcm/postmark", json::serialize(body), auth(token));
    ASSERT_EQ(good.status, 201) << good.raw;
    EXPECT_EQ(good.body.as_object().at("signature").as_object().at("status").as_string(), "valid")
        << good.raw;
    EXPECT_NE(receipt_of(good).find("\nsignature: valid (signed by " + subject + ")\n"),
              std::string::npos)
        << receipt_of(good);

    // Revoked by another process (the CLI) while the server runs: the next postmark knows it.
    auto revoke = selo.selo("ca revoke --data " + shell_quote(selo.data().string()) + " --serial " +
                            serial + " --reason keyCompromise");
    ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
    auto bad = selo.post("/api/v1/epcm/postmark", json::serialize(body), auth(token));
    ASSERT_EQ(bad.status, 201) << bad.raw;
    const auto& s = bad.body.as_object().at("signature").as_object();
    EXPECT_EQ(s.at("status").as_string(), "invalid") << bad.raw;
    const std::string detail(s.at("detail").as_string());
    EXPECT_NE(detail.find(subject + "'s certificate (serial " + serial + ") is revoked since "),
              std::string::npos)
        << detail;
    EXPECT_NE(detail.find("reason keyCompromise"), std::string::npos) << detail;
    // The time-stamped receipt says so too.
    const std::string text = receipt_of(bad);
    EXPECT_NE(text.find("\nsignature: invalid (signed by " + subject + "; "), std::string::npos)
        << text;
    EXPECT_NE(text.find("reason keyCompromise)\n"), std::string::npos) << text;
    // As OCSP does.
    auto ocsp = run("cd " + d + " && curl -sf " + selo.base() +
                    "/ca/natural-persons.crt | openssl x509 -inform DER -out np.pem"
                    " && openssl ocsp -issuer np.pem -cert signer.pem -url " +
                    selo.base() +
                    "/ocsp -CAfile root.pem"
                    " -verify_other np.pem -no_nonce 2>&1");
    EXPECT_NE(ocsp.output.find("signer.pem: revoked"), std::string::npos) << ocsp.output;
}

}  // namespace
}  // namespace selo::test
