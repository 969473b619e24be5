#include "pdf/signature.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include <qpdf/FileInputSource.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFXRefEntry.hh>

#include "pdf/file_structure.hpp"
#include "pdf/syntax.hpp"

namespace selo::pdf {

namespace {

using detail::FileStructure;
using detail::XrefForm;

// Width of each /ByteRange number placeholder: 20 digits hold any 64-bit offset.
constexpr std::size_t byte_range_width = 20;
// Classic cross-reference entries have 10 offset digits (ISO 32000-1 §7.5.4).
constexpr std::uint64_t max_table_offset = 9'999'999'999ULL;
// Depth limits for the page tree and the field tree: far beyond real documents, low enough to
// keep recursion on hostile input bounded.
constexpr int max_tree_depth = 256;
// /F 132: Print (bit 3) and Locked (bit 8), ISO 32000-1 §12.5.3, as PAdES signers commonly use.
constexpr int widget_flags = 132;
// /SigFlags 3: SignaturesExist | AppendOnly (ISO 32000-1 §12.7.2, Table 219).
constexpr long long sig_flags = 3;
// The largest object number readers must support (ISO 32000-1 Annex C.2, Table C.1).
constexpr long long max_object_number = 8'388'607;
constexpr std::string_view reconstruct_warning = "Attempting to reconstruct cross-reference table";

std::string ref(int num, int gen = 0) {
    return fmt::format("{} {} R", num, gen);
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// The dictionary `dict` (direct or indirect) serialised by qpdf with `keys` replaced by the
// given raw values. qpdf keeps references as "n g R"; we only splice before the closing ">>".
Result<std::string> dict_with(QPDFObjectHandle dict,
                              const std::vector<std::pair<std::string, std::string>>& keys) {
    auto copy = dict.shallowCopy();
    for (const auto& [key, value] : keys) {
        copy.removeKey(key);
    }
    const std::string text = copy.unparseResolved();
    auto body = trim_right(text);
    if (body.size() < 4 || body.substr(0, 2) != "<<" || body.substr(body.size() - 2) != ">>") {
        return fail(ErrorCode::internal, "unexpected dictionary serialisation from qpdf");
    }
    body.remove_suffix(2);
    std::string out(trim_right(body));
    for (const auto& [key, value] : keys) {
        out += fmt::format(" {} {}", key, value);
    }
    out += " >>";
    return out;
}

// The array `array` serialised by qpdf with `items` appended.
Result<std::string> array_with(QPDFObjectHandle array, const std::vector<std::string>& items) {
    const std::string text = array.unparseResolved();
    auto body = trim_right(text);
    if (body.size() < 2 || body.front() != '[' || body.back() != ']') {
        return fail(ErrorCode::internal, "unexpected array serialisation from qpdf");
    }
    body.remove_suffix(1);
    std::string out(trim_right(body));
    for (const auto& item : items) {
        out += ' ';
        out += item;
    }
    out += " ]";
    return out;
}

// A changed object: the object as read, plus what to change in it.
struct Rewrite {
    QPDFObjectHandle object;
    std::vector<std::pair<std::string, std::string>> keys;  // dictionaries: replaced keys
    std::vector<std::string> items;                         // arrays: appended items

    void set_key(std::string key, std::string value) {
        for (auto& kv : keys) {
            if (kv.first == key) {
                kv.second = std::move(value);
                return;
            }
        }
        keys.emplace_back(std::move(key), std::move(value));
    }
    void append(const std::string& item) {
        // The same array may be reached twice (an /Annots array that doubles as /Fields).
        if (std::find(items.begin(), items.end(), item) == items.end()) {
            items.push_back(item);
        }
    }
};

struct XrefEntry {
    int type = 1;          // 0 free, 1 in use, 2 compressed (ISO 32000-1 §7.5.8.3, Table 18)
    std::uint64_t f1 = 0;  // offset, or object stream number
    std::uint64_t f2 = 0;  // generation, or index in the object stream
};

std::size_t bytes_for(std::uint64_t v) {
    std::size_t n = 1;
    while (v > 0xFF) {
        v >>= 8;
        ++n;
    }
    return n;
}

void put_be(std::string& out, std::uint64_t v, std::size_t width) {
    for (std::size_t i = width; i-- > 0;) {
        out += static_cast<char>((v >> (8 * i)) & 0xFF);
    }
}

// Consecutive object numbers, for the subsections of a table or the /Index of a stream.
std::vector<std::pair<int, int>> runs_of(const std::map<int, XrefEntry>& entries) {
    std::vector<std::pair<int, int>> runs;
    for (const auto& [num, entry] : entries) {
        if (!runs.empty() && runs.back().first + runs.back().second == num) {
            ++runs.back().second;
        } else {
            runs.emplace_back(num, 1);
        }
    }
    return runs;
}

}  // namespace

// Reads the document through qpdf and lays out the update. A class (not free functions) only to
// be PreparedSignature's friend.
class UpdateBuilder {
  public:
    UpdateBuilder(QPDF& qpdf, const FileStructure& fs, const SignatureFieldOptions& options)
        : qpdf_(qpdf), fs_(fs), options_(options) {}

    Result<PreparedSignature> build();

  private:
    void collect_warnings();
    Result<void> check_options();
    Result<void> check_doc_mdp(QPDFObjectHandle root);
    Result<QPDFObjectHandle> first_page(QPDFObjectHandle root);
    void collect_field_names(QPDFObjectHandle fields, int depth);
    void check_lock(QPDFObjectHandle field);
    Result<std::string> choose_field_name(QPDFObjectHandle root);
    int next_free_object();
    Result<void> plan_rewrites(QPDFObjectHandle root, QPDFObjectHandle page);
    Result<std::string> serialise(const Rewrite& rewrite);
    Result<PreparedSignature> lay_out(QPDFObjectHandle root, QPDFObjectHandle page);

    QPDF& qpdf_;
    const FileStructure& fs_;
    const SignatureFieldOptions& options_;
    std::vector<std::string> warnings_;
    bool reconstructed_ = false;

    std::set<std::string> top_level_names_;
    std::set<std::string> all_names_;
    std::set<QPDFObjGen> visited_fields_;
    std::string locking_field_;  // a signed field whose lock permits no changes

    std::string field_name_;
    // Serialised option values.
    std::string date_text_, name_text_, reason_text_, location_text_;
    // Object numbers of the new objects.
    int sig_num_ = 0;
    int widget_num_ = 0;
    int acroform_num_ = 0;  // 0: no new AcroForm
    std::map<QPDFObjGen, Rewrite> rewrites_;
    std::map<QPDFObjGen, std::string> texts_;  // rewrites_, serialised
};

void UpdateBuilder::collect_warnings() {
    // A badly damaged file can produce thousands; the first ones say enough for a log.
    static constexpr std::size_t max_kept = 100;
    for (auto& w : qpdf_.getWarnings()) {
        if (w.getMessageDetail().find(reconstruct_warning) != std::string::npos) {
            reconstructed_ = true;
        }
        if (warnings_.size() < max_kept) {
            warnings_.emplace_back(w.what());
        }
    }
}

Result<void> UpdateBuilder::check_options() {
    if (options_.contents_capacity == 0 || options_.contents_capacity > max_contents_capacity) {
        return fail(ErrorCode::invalid_argument, "/Contents capacity {} is not in 1..{}",
                    options_.contents_capacity, max_contents_capacity);
    }
    if (!options_.field_name.empty()) {
        SELO_TRY_VOID(check_field_name(options_.field_name));
    }
    return {};
}

// ISO 32000-1 §12.8.2.2: a certification signature with DocMDP /P 1 permits no change at all,
// not even another signature. /Perms /DocMDP names that signature (§12.8.4, Table 258).
Result<void> UpdateBuilder::check_doc_mdp(QPDFObjectHandle root) {
    auto perms = root.getKey("/Perms");
    if (!perms.isDictionary()) {
        return {};
    }
    auto sig = perms.getKey("/DocMDP");
    if (!sig.isDictionary()) {
        return {};
    }
    auto refs = sig.getKey("/Reference");
    if (!refs.isArray()) {
        return {};
    }
    for (auto& r : refs.getArrayAsVector()) {
        if (!r.isDictionary() || !r.getKey("/TransformMethod").isNameAndEquals("/DocMDP")) {
            continue;
        }
        // Table 254: /P defaults to 2.
        long long p = 2;
        auto params = r.getKey("/TransformParams");
        if (params.isDictionary() && params.getKey("/P").isInteger()) {
            p = params.getKey("/P").getIntValue();
        }
        if (p == 1) {
            return fail(ErrorCode::conflict,
                        "the document is certified with DocMDP permissions P=1, which permit no "
                        "changes, not even another signature (ISO 32000-1 §12.8.2.2)");
        }
    }
    return {};
}

// The first leaf of the page tree (ISO 32000-1 §7.7.3), depth first, skipping loops. Walking it
// ourselves (rather than qpdf's getAllPages) keeps it lazy: only the first branch is read.
Result<QPDFObjectHandle> UpdateBuilder::first_page(QPDFObjectHandle root) {
    std::set<QPDFObjGen> seen;
    struct Frame {
        QPDFObjectHandle node;
        int next_kid;
    };
    auto pages = root.getKey("/Pages");
    if (!pages.isDictionary()) {
        return fail(ErrorCode::malformed, "the document has no pages (the catalog has no /Pages)");
    }
    std::vector<Frame> stack;
    stack.push_back({pages, 0});
    if (pages.isIndirect()) {
        seen.insert(pages.getObjGen());
    }
    while (!stack.empty()) {
        auto& top = stack.back();
        auto kids = top.node.getKey("/Kids");
        // A node with /Kids is an intermediate node (§7.7.3.2) unless it says /Type /Page; as in
        // qpdf, a node without /Kids is a page whatever its /Type (poppler counts it so too).
        const bool is_tree_node =
            kids.isArray() && !top.node.getKey("/Type").isNameAndEquals("/Page");
        if (!is_tree_node) {
            // A leaf. (The catalog's /Pages may itself be a page: read as a one-page tree.)
            if (!top.node.isIndirect()) {
                return fail(ErrorCode::malformed, "the first page is a direct object");
            }
            return top.node;
        }
        if (top.next_kid >= kids.getArrayNItems()) {
            stack.pop_back();
            continue;
        }
        auto kid = kids.getArrayItem(top.next_kid++);
        if (!kid.isDictionary()) {
            continue;
        }
        if (kid.isIndirect()) {
            if (!seen.insert(kid.getObjGen()).second) {
                continue;  // a loop or a shared node: already walked
            }
        }
        // §7.7.3.2: /Kids holds indirect references. A direct kid is walked all the same; if it
        // is the first page, it cannot be the widget's /P (refused above).
        if (static_cast<int>(stack.size()) >= max_tree_depth) {
            return fail(ErrorCode::malformed, "the page tree is deeper than {} levels",
                        max_tree_depth);
        }
        stack.push_back({kid, 0});
    }
    return fail(ErrorCode::malformed, "the document has no pages (its page tree has no leaves)");
}

// Partial names (/T) of all fields, walking /Fields and /Kids (ISO 32000-1 §12.7.3.1).
void UpdateBuilder::collect_field_names(QPDFObjectHandle fields, int depth) {
    if (!fields.isArray() || depth > max_tree_depth) {
        return;
    }
    for (auto& field : fields.getArrayAsVector()) {
        if (!field.isDictionary()) {
            continue;
        }
        if (field.isIndirect() && !visited_fields_.insert(field.getObjGen()).second) {
            continue;
        }
        auto t = field.getKey("/T");
        if (t.isString()) {
            const auto name = t.getUTF8Value();
            all_names_.insert(name);
            if (depth == 0) {
                top_level_names_.insert(name);
            }
        }
        check_lock(field);
        collect_field_names(field.getKey("/Kids"), depth + 1);
    }
}

// A signed field can lock the whole document after it (PDF 2.0: /P 1 in the field's /Lock
// dictionary, or in the FieldMDP transform parameters of its signature): like DocMDP P=1, that
// forbids any further change.
void UpdateBuilder::check_lock(QPDFObjectHandle field) {
    auto sig = field.getKey("/V");
    if (!sig.isDictionary() || !sig.hasKey("/ByteRange")) {
        return;
    }
    auto p_is_1 = [](QPDFObjectHandle dict) {
        return dict.isDictionary() && dict.getKey("/P").isInteger() &&
               dict.getKey("/P").getIntValue() == 1;
    };
    bool locked = p_is_1(field.getKey("/Lock"));
    auto refs = sig.getKey("/Reference");
    if (refs.isArray()) {
        for (auto& r : refs.getArrayAsVector()) {
            if (r.isDictionary() && r.getKey("/TransformMethod").isNameAndEquals("/FieldMDP") &&
                p_is_1(r.getKey("/TransformParams"))) {
                locked = true;
            }
        }
    }
    if (locked && locking_field_.empty()) {
        auto t = field.getKey("/T");
        locking_field_ = t.isString() ? t.getUTF8Value() : std::string("(unnamed)");
    }
}

Result<std::string> UpdateBuilder::choose_field_name(QPDFObjectHandle root) {
    auto acroform = root.getKey("/AcroForm");
    if (acroform.isDictionary()) {
        collect_field_names(acroform.getKey("/Fields"), 0);
    }
    if (!locking_field_.empty()) {
        return fail(ErrorCode::conflict,
                    "the signature in field '{}' locks the document (permissions P=1): no "
                    "further changes, not even another signature, are permitted",
                    locking_field_);
    }
    if (!options_.field_name.empty()) {
        // Our field is a root field, so only another root field can have the same fully
        // qualified name (§12.7.3.2).
        if (top_level_names_.contains(options_.field_name)) {
            return fail(ErrorCode::conflict, "the document already has a field named '{}'",
                        options_.field_name);
        }
        return options_.field_name;
    }
    for (int n = 1;; ++n) {
        auto candidate = fmt::format("Signature{}", n);
        if (!all_names_.contains(candidate)) {
            return candidate;
        }
    }
}

// New objects are numbered from the trailer's /Size upward (§7.5.6), but never below an object
// number in use: some files understate /Size, and reusing a number would shadow an object.
int UpdateBuilder::next_free_object() {
    long long next = 1;
    auto size = qpdf_.getTrailer().getKey("/Size");
    if (size.isInteger()) {
        next = std::max(next, size.getIntValue());
    }
    for (const auto& [og, entry] : qpdf_.getXRefTable()) {
        next = std::max<long long>(next, og.getObj() + 1LL);
    }
    return static_cast<int>(std::min<long long>(next, max_object_number + 1));
}

Result<void> UpdateBuilder::plan_rewrites(QPDFObjectHandle root, QPDFObjectHandle page) {
    rewrites_.clear();
    const std::string widget = ref(widget_num_);

    // The first page gets the widget in /Annots (ISO 32000-1 §12.5.2). An indirect /Annots
    // array is changed in place, so the page itself stays as it is.
    auto annots = page.getKey("/Annots");
    if (annots.isIndirect() && annots.isArray()) {
        auto& rw = rewrites_[annots.getObjGen()];
        rw.object = annots;
        rw.append(widget);
    } else {
        auto& rw = rewrites_[page.getObjGen()];
        rw.object = page;
        if (annots.isArray()) {
            rw.set_key("/Annots", SELO_TRY(array_with(annots, {widget})));
        } else {
            rw.set_key("/Annots", fmt::format("[ {} ]", widget));
        }
    }

    // The interactive form (§12.7.2) lists the field in /Fields and says signatures exist.
    auto acroform = root.getKey("/AcroForm");
    if (!acroform.isDictionary()) {
        acroform_num_ = widget_num_ + 1;
        auto& rw = rewrites_[root.getObjGen()];
        rw.object = root;
        rw.set_key("/AcroForm", ref(acroform_num_));
        return {};
    }
    acroform_num_ = 0;
    std::vector<std::pair<std::string, std::string>> form_keys;
    auto fields = acroform.getKey("/Fields");
    if (fields.isIndirect() && fields.isArray()) {
        auto& rw = rewrites_[fields.getObjGen()];
        rw.object = fields;
        rw.append(widget);
    } else if (fields.isArray()) {
        form_keys.emplace_back("/Fields", SELO_TRY(array_with(fields, {widget})));
    } else {
        form_keys.emplace_back("/Fields", fmt::format("[ {} ]", widget));
    }
    long long flags = 0;
    if (acroform.getKey("/SigFlags").isInteger()) {
        flags = acroform.getKey("/SigFlags").getIntValue();
    }
    if ((flags & sig_flags) != sig_flags) {
        form_keys.emplace_back("/SigFlags", std::to_string(flags | sig_flags));
    }
    if (form_keys.empty()) {
        return {};
    }
    if (acroform.isIndirect()) {
        auto& rw = rewrites_[acroform.getObjGen()];
        rw.object = acroform;
        for (auto& [k, v] : form_keys) {
            rw.set_key(k, v);
        }
    } else {
        // A direct /AcroForm lives in the catalog, so the catalog is what changes.
        auto& rw = rewrites_[root.getObjGen()];
        rw.object = root;
        rw.set_key("/AcroForm", SELO_TRY(dict_with(acroform, form_keys)));
    }
    return {};
}

Result<std::string> UpdateBuilder::serialise(const Rewrite& rewrite) {
    if (!rewrite.items.empty()) {
        return array_with(rewrite.object, rewrite.items);
    }
    return dict_with(rewrite.object, rewrite.keys);
}

Result<PreparedSignature> UpdateBuilder::build() {
    SELO_TRY_VOID(check_options());
    date_text_ = literal_string(SELO_TRY(pdf_date(options_.signing_time)));
    if (!options_.signer_name.empty()) {
        name_text_ = SELO_TRY(text_string(options_.signer_name));
    }
    if (!options_.reason.empty()) {
        reason_text_ = SELO_TRY(text_string(options_.reason));
    }
    if (!options_.location.empty()) {
        location_text_ = SELO_TRY(text_string(options_.location));
    }

    auto trailer = qpdf_.getTrailer();
    if (qpdf_.isEncrypted() || trailer.hasKey("/Encrypt")) {
        return fail(ErrorCode::unsupported, "encrypted PDFs are not supported yet");
    }
    auto root = trailer.getKey("/Root");
    if (!root.isIndirect() || !root.isDictionary()) {
        collect_warnings();
        return fail(ErrorCode::malformed,
                    "the document has no catalog (/Root is missing or not an indirect "
                    "dictionary){}",
                    reconstructed_ ? "; its cross-reference table is damaged" : "");
    }
    SELO_TRY_VOID(check_doc_mdp(root));
    auto page_or = first_page(root);
    if (!page_or) {
        collect_warnings();
        if (reconstructed_) {
            return fail(page_or.error().context(
                "the cross-reference table is damaged and qpdf had to reconstruct it"));
        }
        return fail(page_or.error());
    }
    auto page = *page_or;
    field_name_ = SELO_TRY(choose_field_name(root));
    collect_warnings();

    // Object numbers depend on the cross-reference table, which qpdf may still reconstruct
    // while we read objects (an offset that does not hold the object it should): lay out, and
    // start again if the table grew under us. Reconstruction happens at most once.
    for (int attempt = 0;; ++attempt) {
        const int base = next_free_object();
        if (base > max_object_number - 4) {
            return fail(ErrorCode::unsupported,
                        "the document uses object numbers up to the limit of {} (ISO 32000-1 "
                        "Annex C): none is left for the signature",
                        max_object_number);
        }
        sig_num_ = base;
        widget_num_ = base + 1;
        SELO_TRY_VOID(plan_rewrites(root, page));
        texts_.clear();
        for (const auto& [og, rw] : rewrites_) {
            texts_[og] = SELO_TRY(serialise(rw));
        }
        collect_warnings();
        if (next_free_object() <= base) {
            auto result = lay_out(root, page);
            if (result) {
                result->warnings_ = std::move(warnings_);
            }
            return result;
        }
        if (attempt == 2) {
            return fail(ErrorCode::internal,
                        "the cross-reference table keeps changing while it is read");
        }
    }
}

Result<PreparedSignature> UpdateBuilder::lay_out(QPDFObjectHandle root, QPDFObjectHandle page) {
    PreparedSignature ps;
    ps.original_size_ = fs_.size;
    ps.contents_capacity_ = options_.contents_capacity;
    ps.field_name_ = field_name_;
    ps.signature_object_ = sig_num_;
    ps.xref_reconstructed_ = reconstructed_;
    ps.original_tail_ = fs_.tail;

    std::string out;
    // §7.5.6 appends after the original's %%EOF; its EOL marker may be missing.
    if (!fs_.ends_with_eol) {
        out += '\n';
    }
    std::map<int, XrefEntry> entries;
    // Cross-reference offsets are relative to the header (see file_structure.hpp).
    auto offset_here = [&]() { return fs_.size + out.size() - fs_.header_offset; };
    auto begin_object = [&](int num, int gen) {
        entries[num] = XrefEntry{1, offset_here(), static_cast<std::uint64_t>(gen)};
        out += fmt::format("{} {} obj\n", num, gen);
    };

    // The signature dictionary (ISO 32000-1 §12.8.1, Table 252; ETSI EN 319 142-1 for the
    // PAdES /SubFilter). /ByteRange and /Contents are fixed-width placeholders.
    begin_object(sig_num_, 0);
    out += "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0";
    std::array<std::size_t, 3> range_at{};
    for (auto& at : range_at) {
        out += ' ';
        at = out.size();
        out += std::string(byte_range_width, ' ');
    }
    out += "] /Contents ";
    const std::size_t contents_at = out.size();
    out += '<';
    out += std::string(2 * options_.contents_capacity, '0');
    out += '>';
    const std::size_t contents_end = out.size();
    out += " /M " + date_text_;
    if (!name_text_.empty()) {
        out += " /Name " + name_text_;
    }
    if (!reason_text_.empty()) {
        out += " /Reason " + reason_text_;
    }
    if (!location_text_.empty()) {
        out += " /Location " + location_text_;
    }
    out += " >>\nendobj\n";

    // The field, merged with its widget annotation (§12.5.6.19, §12.7.4.5): invisible, with a
    // zero rectangle, on the first page.
    begin_object(widget_num_, 0);
    out += fmt::format(
        "<< /Type /Annot /Subtype /Widget /FT /Sig /T {} /V {} /F {} /Rect [ 0 0 0 0 ] /P {} >>\n"
        "endobj\n",
        SELO_TRY(text_string(field_name_)), ref(sig_num_), widget_flags,
        ref(page.getObjectID(), page.getGeneration()));

    if (acroform_num_ != 0) {
        begin_object(acroform_num_, 0);
        out +=
            fmt::format("<< /Fields [ {} ] /SigFlags {} >>\nendobj\n", ref(widget_num_), sig_flags);
    }
    for (const auto& [og, text] : texts_) {
        begin_object(og.getObj(), og.getGen());
        out += text;
        out += "\nendobj\n";
    }

    int next = std::max(widget_num_, acroform_num_) + 1;
    auto trailer = qpdf_.getTrailer();
    // §7.5.6: the update's trailer has all entries of the previous one except /Prev. Not
    // carried either: /Size (recomputed), /XRefStm of a hybrid file (§7.5.8.4: it belongs to
    // its own section) and, when the previous trailer is an xref stream's dictionary, the
    // stream's own keys (§7.3.8.2 Table 5, §7.5.8.2 Table 17). /Encrypt cannot occur.
    static const std::set<std::string> not_carried = {
        "/Prev",        "/Size", "/XRefStm", "/Type",         "/W", "/Index", "/Length", "/Filter",
        "/DecodeParms", "/F",    "/FFilter", "/FDecodeParms", "/DL"};
    std::string trailer_keys = " /Root " + root.unparse();
    if (auto info = trailer.getKey("/Info"); !info.isNull()) {
        trailer_keys += " /Info " + info.unparse();
    }
    if (auto id = trailer.getKey("/ID"); id.isArray()) {
        trailer_keys += " /ID " + id.unparse();
    }
    for (const auto& key : trailer.getKeys()) {
        auto value = trailer.getKey(key);
        if (key == "/Root" || key == "/Info" || key == "/ID" || not_carried.contains(key) ||
            value.isNull()) {
            continue;
        }
        trailer_keys += fmt::format(" {} {}", key, value.unparse());
    }

    // With a reconstructed table the update lists every object, so readers never need the
    // original sections; otherwise it lists what it adds or changes and points at the rest.
    std::optional<std::uint64_t> prev;
    if (reconstructed_) {
        std::map<int, XrefEntry> all;
        all[0] = XrefEntry{0, 0, 65535};
        std::map<int, int> gens;
        for (const auto& [og, e] : qpdf_.getXRefTable()) {
            auto it = gens.find(og.getObj());
            if (it != gens.end() && it->second > og.getGen()) {
                continue;
            }
            gens[og.getObj()] = og.getGen();
            if (e.getType() == 1) {
                all[og.getObj()] = XrefEntry{1, static_cast<std::uint64_t>(e.getOffset()),
                                             static_cast<std::uint64_t>(og.getGen())};
            } else if (e.getType() == 2) {
                all[og.getObj()] = XrefEntry{2, static_cast<std::uint64_t>(e.getObjStreamNumber()),
                                             static_cast<std::uint64_t>(e.getObjStreamIndex())};
            }
        }
        for (const auto& [num, e] : entries) {
            all[num] = e;
        }
        entries = std::move(all);
    } else if (fs_.startxref) {
        prev = fs_.startxref;
    } else {
        // qpdf read the cross-reference data without repair, yet we found no startxref: we
        // would write an update without /Prev that hides the original's objects.
        return fail(ErrorCode::malformed,
                    "no startxref found in the last 1054 bytes of the document");
    }

    XrefForm form = fs_.last_xref;
    if (reconstructed_) {
        // A table cannot describe compressed objects (§7.5.8.3); otherwise the plainer form.
        form = XrefForm::table;
        for (const auto& [num, e] : entries) {
            if (e.type == 2) {
                form = XrefForm::stream;
            }
        }
    } else if (form == XrefForm::unknown) {
        // qpdf found the section where we did not (it tolerates more): its trailer says which.
        form =
            trailer.getKey("/Type").isNameAndEquals("/XRef") ? XrefForm::stream : XrefForm::table;
    }

    std::uint64_t xref_offset = 0;
    if (form == XrefForm::table) {
        xref_offset = offset_here();
        if (xref_offset > max_table_offset) {
            return fail(ErrorCode::too_large,
                        "the document is too large for a classic cross-reference table");
        }
        out += "xref\n";
        for (const auto& [start, count] : runs_of(entries)) {
            out += fmt::format("{} {}\n", start, count);
            for (int n = start; n < start + count; ++n) {
                const auto& e = entries[n];
                // §7.5.4: 20-byte entries, "nnnnnnnnnn ggggg n" and a two-character EOL.
                out += fmt::format("{:010} {:05} {}\r\n", e.f1, e.f2, e.type == 0 ? 'f' : 'n');
            }
        }
        out += fmt::format("trailer\n<< /Size {}{}", next, trailer_keys);
        if (prev) {
            out += fmt::format(" /Prev {}", *prev);
        }
        out += " >>\n";
    } else {
        // A cross-reference stream (§7.5.8), uncompressed, listing itself too.
        const int xref_num = next++;
        xref_offset = offset_here();
        entries[xref_num] = XrefEntry{1, xref_offset, 0};
        std::uint64_t max1 = 0, max2 = 0;
        for (const auto& [num, e] : entries) {
            max1 = std::max(max1, e.f1);
            max2 = std::max(max2, e.f2);
        }
        const std::size_t w1 = bytes_for(max1), w2 = bytes_for(max2);
        std::string data;
        std::string index;
        for (const auto& [start, count] : runs_of(entries)) {
            index += fmt::format(" {} {}", start, count);
            for (int n = start; n < start + count; ++n) {
                const auto& e = entries[n];
                put_be(data, static_cast<std::uint64_t>(e.type), 1);
                put_be(data, e.f1, w1);
                put_be(data, e.f2, w2);
            }
        }
        out += fmt::format("{} 0 obj\n<< /Type /XRef /Size {} /Index [{} ] /W [ 1 {} {} ]{}",
                           xref_num, next, index, w1, w2, trailer_keys);
        if (prev) {
            out += fmt::format(" /Prev {}", *prev);
        }
        out += fmt::format(" /Length {} >>\nstream\n", data.size());
        out += data;
        out += "\nendstream\nendobj\n";
    }
    out += fmt::format("startxref\n{}\n%%EOF\n", xref_offset);

    // Now the layout is final: fill in /ByteRange (plain file offsets, §12.8.1).
    const std::uint64_t a = fs_.size + contents_at;
    const std::uint64_t b = fs_.size + contents_end;
    const std::uint64_t c = fs_.size + out.size() - b;
    ps.byte_range_ = {0, a, b, c};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto digits = std::to_string(ps.byte_range_[i + 1]);
        out.replace(range_at[i], digits.size(), digits);
    }
    ps.contents_offset_ = contents_at;
    ps.update_.assign(out.begin(), out.end());
    return ps;
}

Result<Bytes> PreparedSignature::digest(ByteView original, crypto::DigestAlgorithm alg) const {
    if (original.size() != original_size_) {
        return fail(ErrorCode::invalid_argument,
                    "the document has {} bytes, but the signature was prepared for {}",
                    original.size(), original_size_);
    }
    crypto::Hasher hasher(alg);
    hasher.update(original);
    hash_update(hasher);
    return hasher.finish();
}

void PreparedSignature::hash_update(crypto::Hasher& hasher) const {
    const ByteView all(update_);
    const std::size_t end = contents_offset_ + 2 + 2 * contents_capacity_;
    hasher.update(all.subspan(0, contents_offset_));
    hasher.update(all.subspan(end));
}

Result<void> PreparedSignature::set_contents(ByteView cms_der) {
    if (cms_der.size() > contents_capacity_) {
        return fail(ErrorCode::too_large,
                    "the CMS signature has {} bytes, but /Contents was prepared for {}",
                    cms_der.size(), contents_capacity_);
    }
    static constexpr char digits[] = "0123456789ABCDEF";
    auto* p = update_.data() + contents_offset_ + 1;
    for (std::uint8_t b : cms_der) {
        *p++ = static_cast<std::uint8_t>(digits[b >> 4]);
        *p++ = static_cast<std::uint8_t>(digits[b & 0xF]);
    }
    // The rest stays zero padding, as signers commonly leave it: the DER encoding carries its
    // own length, so decoders stop before the padding.
    std::fill(p, update_.data() + contents_offset_ + 1 + 2 * contents_capacity_,
              static_cast<std::uint8_t>('0'));
    return {};
}

namespace {

// qpdf reports failures as exceptions; they stop at this boundary.
Error qpdf_error(const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password) {
        return Error{ErrorCode::unsupported, "encrypted PDFs are not supported yet"};
    }
    return Error{
        ErrorCode::malformed,
        fmt::format("the PDF cannot be read (damaged beyond recovery): {}", e.getMessageDetail())};
}

template <typename Open>
Result<PreparedSignature> prepare_with(Open&& open, const FileStructure& fs,
                                       const SignatureFieldOptions& options) {
    try {
        QPDF qpdf;
        // Warnings are collected (UpdateBuilder) rather than printed.
        qpdf.setSuppressWarnings(true);
        open(qpdf);
        UpdateBuilder builder(qpdf, fs, options);
        return builder.build();
    } catch (const QPDFExc& e) {
        return fail(qpdf_error(e));
    } catch (const std::system_error& e) {
        return fail(ErrorCode::unavailable, "{}", e.what());
    } catch (const std::logic_error& e) {
        // qpdf's way to report a broken invariant of its own.
        return fail(ErrorCode::internal, "qpdf: {}", e.what());
    } catch (const std::exception& e) {
        return fail(ErrorCode::malformed, "the PDF cannot be read: {}", e.what());
    }
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    [[nodiscard]] int get() const { return fd_; }

  private:
    int fd_;
};

}  // namespace

Result<PreparedSignature> prepare_signature(ByteView pdf, const SignatureFieldOptions& options) {
    const auto fs = SELO_TRY(detail::inspect_structure(pdf.size(), detail::memory_reader(pdf)));
    return prepare_with(
        [&](QPDF& qpdf) {
            qpdf.processMemoryFile("document", reinterpret_cast<const char*>(pdf.data()),
                                   pdf.size());
        },
        fs, options);
}

Result<PreparedSignature> prepare_signature_file(const std::filesystem::path& pdf,
                                                 const SignatureFieldOptions& options) {
    Fd fd(::open(pdf.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int err = errno;
        return fail(err == ENOENT ? ErrorCode::not_found : ErrorCode::unavailable, "opening {}: {}",
                    pdf.string(), std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(ErrorCode::unavailable, "reading {}: {}", pdf.string(), std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(ErrorCode::invalid_argument, "{} is not a regular file", pdf.string());
    }
    auto read_at = [&](std::uint64_t offset, std::size_t n) -> Result<Bytes> {
        Bytes buf(n);
        std::size_t got = 0;
        while (got < n) {
            const auto r =
                ::pread(fd.get(), buf.data() + got, n - got, static_cast<off_t>(offset + got));
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                return fail(ErrorCode::unavailable, "reading {}: {}", pdf.string(),
                            std::strerror(errno));
            }
            if (r == 0) {
                break;
            }
            got += static_cast<std::size_t>(r);
        }
        buf.resize(got);
        return buf;
    };
    const auto fs =
        SELO_TRY(detail::inspect_structure(static_cast<std::uint64_t>(st.st_size), read_at));
    // qpdf reads the same open file we inspected (not the path again), through a buffered FILE
    // that it seeks in: objects are read when they are needed, never the whole file.
    return prepare_with(
        [&](QPDF& qpdf) {
            const int dup = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
            FILE* file = dup < 0 ? nullptr : ::fdopen(dup, "rb");
            if (file == nullptr) {
                if (dup >= 0) {
                    ::close(dup);
                }
                throw std::system_error(errno, std::generic_category(), "opening " + pdf.string());
            }
            auto source = std::make_shared<FileInputSource>(pdf.c_str(), file, true);
            qpdf.processInputSource(source);
        },
        fs, options);
}

}  // namespace selo::pdf
