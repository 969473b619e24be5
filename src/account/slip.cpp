#include "account/slip.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <memory>

#include "account/lockout.hpp"

namespace selo::account {
namespace {

template <auto F>
struct Free {
    void operator()(auto* p) const noexcept { F(p); }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, Free<&::cairo_surface_destroy>>;
using CairoPtr = std::unique_ptr<cairo_t, Free<&::cairo_destroy>>;
using LayoutPtr = std::unique_ptr<PangoLayout, Free<&::g_object_unref>>;
using FontPtr = std::unique_ptr<PangoFontDescription, Free<&::pango_font_description_free>>;

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
    auto* out = static_cast<Bytes*>(closure);
    out->insert(out->end(), data, data + length);
    return CAIRO_STATUS_SUCCESS;
}

std::string escape(std::string_view s) {
    std::unique_ptr<char, Free<&::g_free>> e(::g_markup_escape_text(s.data(), static_cast<gssize>(s.size())));
    return e ? std::string(e.get()) : std::string();
}

std::string day_of(TimePoint t) { return iso8601(t).substr(0, 10); }

constexpr double kPageWidth = 595.276;   // A4 in points
constexpr double kPageHeight = 841.890;
constexpr double kMargin = 56.0;

class Writer {
public:
    explicit Writer(cairo_t* cr) : cr_(cr) {}
    // Draws Pango markup at the current position and moves down past it.
    void text(const std::string& markup, double size, double gap_after = 6.0) {
        LayoutPtr layout(::pango_cairo_create_layout(cr_));
        FontPtr font(::pango_font_description_from_string("Noto Sans CJK TC"));
        ::pango_font_description_set_absolute_size(font.get(), size * PANGO_SCALE);
        ::pango_layout_set_font_description(layout.get(), font.get());
        ::pango_layout_set_width(layout.get(), static_cast<int>((kPageWidth - 2 * kMargin) * PANGO_SCALE));
        ::pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
        ::pango_layout_set_markup(layout.get(), markup.c_str(), -1);
        ::cairo_move_to(cr_, kMargin, y_);
        ::pango_cairo_show_layout(cr_, layout.get());
        int w = 0, h = 0;
        ::pango_layout_get_pixel_size(layout.get(), &w, &h);
        y_ += h + gap_after;
    }
    void rule() {
        ::cairo_set_line_width(cr_, 0.8);
        ::cairo_move_to(cr_, kMargin, y_);
        ::cairo_line_to(cr_, kPageWidth - kMargin, y_);
        ::cairo_stroke(cr_);
        y_ += 10;
    }
    void box_start() { box_top_ = y_; y_ += 8; }
    void box_end() {
        ::cairo_set_line_width(cr_, 1.5);
        ::cairo_rectangle(cr_, kMargin - 8, box_top_, kPageWidth - 2 * kMargin + 16, y_ - box_top_ + 4);
        ::cairo_stroke(cr_);
        y_ += 16;
    }

private:
    cairo_t* cr_;
    double y_ = kMargin;
    double box_top_ = 0;
};

}  // namespace

namespace {

// The document type as the person reads it, in both languages (the API's names are for programs).
std::string_view document_label(IdentityDocument d) noexcept {
    switch (d) {
        case IdentityDocument::identity_card: return "身份證 / Bilhete de identidade";
        case IdentityDocument::passport: return "護照 / Passaporte";
        case IdentityDocument::staff_card: return "職員證 / Cartão de funcionário";
        case IdentityDocument::trade_register: return "商業登記 / Registo comercial";
    }
    return identity_document_name(d);
}

}  // namespace

Result<Bytes> render_enrolment_slip(const SlipContent& c) {
    Bytes out;
    SurfacePtr surface(::cairo_pdf_surface_create_for_stream(&append, &out, kPageWidth, kPageHeight));
    if (::cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return fail(ErrorCode::internal, "cairo: {}", ::cairo_status_to_string(::cairo_surface_status(surface.get())));
    }
    std::string title = c.service_name + " — 登記回條 / Comprovativo de inscrição";
    ::cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, title.c_str());
    ::cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Selo");
    {
        CairoPtr cr(::cairo_create(surface.get()));
        ::cairo_set_source_rgb(cr.get(), 0, 0, 0);
        Writer w(cr.get());
        w.text("<b>" + escape(c.service_name) + "</b>", 20, 2);
        if (c.password_reset_at) {
            w.text("<b>單一帳戶密碼重設回條</b>　Comprovativo de reposição da palavra-passe", 14, 10);
        } else {
            w.text("<b>單一帳戶登記回條</b>　Comprovativo de inscrição na conta única", 14, 10);
        }
        w.rule();
        w.text("姓名 / Nome: <b>" + escape(c.person.name) + "</b>　" + escape(c.person.latin_name), 12);
        w.text(fmt::format("證件 / Documento: {} {} ({})", escape(std::string(document_label(c.person.id_type))),
                           escape(c.person.id_number), escape(c.person.id_country)), 11);
        w.text("登記日期 / Data de inscrição: " + day_of(c.enrolled_at) + "　編號 / N.º: " + escape(c.enrolment_id), 11);
        if (c.password_reset_at) {
            // A reset slip replaces the first one: the password on any older slip is void.
            w.text("<b>密碼已於 " + day_of(*c.password_reset_at) + " 在櫃檯重設，舊密碼已失效。</b>", 11);
            w.text("<b>Palavra-passe reposta ao balcão em " + day_of(*c.password_reset_at) +
                       "; a anterior deixou de valer.</b>",
                   11);
        }
        std::string services = "服務 / Serviços: 單一帳戶 / Conta única";
        if (c.sepbox) {
            services += "；安全電子郵箱 / Caixa postal electrónica segura (SEPBox)";
        }
        if (c.esigncloud) {
            services += "；電子簽名雲 / eSignCloud";
            if (c.esigncloud_free_until) {
                services += "（首年免費至 " + day_of(*c.esigncloud_free_until) + " / primeiro ano gratuito até " +
                            day_of(*c.esigncloud_free_until) + "）";
            }
        }
        w.text(services, 11, 16);
        w.box_start();
        w.text("用戶名稱 / Nome de utilizador:", 11, 2);
        w.text("<tt><b>" + escape(c.username) + "</b></tt>", 18, 10);
        const bool reset = c.password_reset_at.has_value();
        w.text(reset ? "臨時密碼 / Palavra-passe temporária:" : "首次登入密碼 / Palavra-passe inicial:", 11, 2);
        w.text("<tt><b>" + escape(c.initial_password) + "</b></tt>", 18, 4);
        w.box_end();
        if (reset) {
            w.text("此密碼只可使用一次：下次登入時必須更改。請妥善保管本回條，切勿交予他人。", 11);
            w.text("Esta palavra-passe só pode ser usada uma vez: terá de a mudar no próximo início de "
                   "sessão. Guarde este comprovativo e não o mostre a ninguém.", 11, 12);
        } else {
            w.text("此密碼只可使用一次：首次登入時必須更改。請妥善保管本回條，切勿交予他人。", 11);
            w.text("Esta palavra-passe só pode ser usada uma vez: terá de a mudar no primeiro início de "
                   "sessão. Guarde este comprovativo e não o mostre a ninguém.", 11, 12);
        }
        if (reset && c.authenticator_paired) {
            // Only the password changed: the app's codes and the signing PIN are as before.
            w.text("身份驗證器應用程式及簽署密碼(PIN)維持不變：登入時仍須輸入應用程式顯示的驗證碼。", 11);
            w.text("A aplicação de autenticação e o PIN de assinatura não mudam: o início de sessão "
                   "continua a pedir o código da aplicação.",
                   11);
        } else if (reset && c.esigncloud) {
            w.text("電子簽名雲尚未啟用：啟用碼在您的安全電子郵箱的啟用訊息中；如已過期，請在櫃檯申請新的啟用碼。", 11);
            w.text("O eSignCloud ainda não foi activado: o código está na mensagem de activação da sua "
                   "caixa postal electrónica segura; se tiver expirado, peça um novo ao balcão.",
                   11);
        } else if (c.esigncloud) {
            w.text("電子簽名雲的啟用碼已發送至您的安全電子郵箱。登入後閱讀該訊息，輸入啟用碼，設定簽署密碼(PIN)並配對身份驗證器應用程式。", 11);
            w.text("O código de activação do eSignCloud foi enviado para a sua caixa postal electrónica "
                   "segura. Depois de iniciar sessão, leia a mensagem, introduza o código, escolha o PIN "
                   "de assinatura e associe a aplicação de autenticação.", 11);
        }
    }
    ::cairo_surface_finish(surface.get());
    if (::cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return fail(ErrorCode::internal, "cairo: {}", ::cairo_status_to_string(::cairo_surface_status(surface.get())));
    }
    return out;
}

}  // namespace selo::account
