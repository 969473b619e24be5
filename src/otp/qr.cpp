#include "otp/qr.hpp"

#include <png.h>
#include <qrencode.h>

#include <memory>
#include <string>
#include <vector>

namespace selo::otp {
namespace {

struct QrFree {
    void operator()(QRcode* q) const noexcept { ::QRcode_free(q); }
};

void append(png_structp png, png_bytep data, png_size_t length) {
    auto* out = static_cast<Bytes*>(::png_get_io_ptr(png));
    out->insert(out->end(), data, data + length);
}

}  // namespace

Result<Bytes> qr_png(std::string_view text, unsigned scale) {
    if (text.empty() || text.size() > 2000 || scale == 0 || scale > 32) {
        return fail(ErrorCode::invalid_argument, "a QR code needs 1 to 2000 bytes of text");
    }
    std::string s(text);
    std::unique_ptr<QRcode, QrFree> qr(::QRcode_encodeString8bit(s.c_str(), 0, QR_ECLEVEL_M));
    if (!qr) {
        return fail(ErrorCode::internal, "libqrencode cannot encode {} bytes", text.size());
    }
    constexpr unsigned kQuiet = 4;
    const unsigned modules = static_cast<unsigned>(qr->width) + 2 * kQuiet;
    const unsigned side = modules * scale;
    Bytes out;
    png_structp png = ::png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? ::png_create_info_struct(png) : nullptr;
    if (png == nullptr || info == nullptr) {
        ::png_destroy_write_struct(&png, info ? &info : nullptr);
        return fail(ErrorCode::internal, "libpng cannot start");
    }
    std::vector<png_byte> row(side);
    // libpng reports errors by longjmp: nothing with a destructor is created past this point.
    if (setjmp(png_jmpbuf(png))) {
        ::png_destroy_write_struct(&png, &info);
        return fail(ErrorCode::internal, "libpng failed to write the QR code");
    }
    ::png_set_write_fn(png, &out, &append, nullptr);
    ::png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                   PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    ::png_write_info(png, info);
    for (unsigned y = 0; y < side; ++y) {
        const unsigned my = y / scale;
        for (unsigned x = 0; x < side; ++x) {
            const unsigned mx = x / scale;
            bool dark = false;
            if (mx >= kQuiet && my >= kQuiet && mx < modules - kQuiet && my < modules - kQuiet) {
                // libqrencode: bit 0 of each byte is the module (1 = dark).
                dark = (qr->data[(my - kQuiet) * static_cast<unsigned>(qr->width) + (mx - kQuiet)] & 1) != 0;
            }
            row[x] = dark ? 0 : 255;
        }
        ::png_write_row(png, row.data());
    }
    ::png_write_end(png, nullptr);
    ::png_destroy_write_struct(&png, &info);
    return out;
}

}  // namespace selo::otp
