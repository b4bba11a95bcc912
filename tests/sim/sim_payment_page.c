/*
 * sim_payment_page: the pages a citizen's browser sees on the simulated
 * payment gateway. Self-contained HTML (inline style, no script, no external
 * assets), in Vietnamese and English, the locale's language first. Every
 * value that came from a request is escaped.
 */
#include "sim_payment_int.h"

#include <stdio.h>
#include <string.h>

static const char *const sim_pay_page_banks[] = {"NCB",      "VCB", "BIDV",   "VIETINBANK",
                                                 "AGRIBANK", "TCB", "MBBANK", "VNPAYQR"};

static const char sim_pay_page_style[] =
    "body{font-family:system-ui,sans-serif;background:#f3f5f8;color:#1d2633;margin:0}"
    "main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.3rem;margin:0 0 .2rem}p.sub{color:#5a6b80;margin:0 0 1.2rem}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#5a6b80}dd{margin:0;word-break:break-all}"
    ".amount{font-size:1.4rem;font-weight:600}"
    "button{font-size:1rem;padding:.6rem 1.2rem;border-radius:6px;border:1px solid #9aa8b8;margin:1rem .5rem 0 0;"
    "cursor:pointer}button.pay{background:#0a5cc2;color:#fff;border-color:#0a5cc2}"
    ".error{border-left:4px solid #c2340a;padding-left:1rem}code{background:#eef1f5;padding:0 .3rem}";

/* "vi / en", or "en / vi" for an English locale. */
static void sim_pay_page_bi(sim_buf_t *b, int english, const char *vi, const char *en)
{
    sim_buf_xml_text(b, english ? en : vi);
    sim_buf_puts(b, " / ");
    sim_buf_xml_text(b, english ? vi : en);
}

static void sim_pay_page_head(sim_buf_t *b, int english, const char *title_vi, const char *title_en)
{
    sim_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">", english ? "en" : "vi");
    sim_buf_puts(b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    sim_pay_page_bi(b, english, title_vi, title_en);
    sim_buf_printf(b, "</title><style>%s</style></head><body><main>\n<h1>", sim_pay_page_style);
    sim_pay_page_bi(b, english, "Cổng thanh toán quốc gia", "National payment gateway");
    sim_buf_puts(b, "</h1><p class=\"sub\">");
    sim_pay_page_bi(b, english, "Mô phỏng để phát triển và kiểm thử", "Simulated, for development and tests");
    sim_buf_puts(b, "</p>\n");
}

static void sim_pay_page_row(sim_buf_t *b, int english, const char *vi, const char *en, const char *value)
{
    sim_buf_puts(b, "<dt>");
    sim_pay_page_bi(b, english, vi, en);
    sim_buf_puts(b, "</dt><dd>");
    sim_buf_xml_text(b, value);
    sim_buf_puts(b, "</dd>\n");
}

/* 15000000 (VND x 100) as "150.000 VND", with the Vietnamese thousands separator. */
static void sim_pay_page_amount(const char *amount, char *out, size_t cap)
{
    size_t n = strlen(amount) - 2, o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = '.';
        out[o++] = amount[i];
    }
    snprintf(out + o, cap - o, " VND");
}

/* yyyyMMddHHmmss as dd/MM/yyyy HH:mm:ss (UTC+7). */
static void sim_pay_page_date(const char *s, char *out, size_t cap)
{
    snprintf(out, cap, "%.2s/%.2s/%.4s %.2s:%.2s:%.2s (UTC+7)", s + 6, s + 4, s, s + 8, s + 10, s + 12);
}

static void sim_pay_page_bank_choice(sim_buf_t *b, int english, const char *asked)
{
    sim_buf_puts(b, "<p><label>");
    sim_pay_page_bi(b, english, "Ngân hàng", "Bank");
    sim_buf_puts(b, " <select name=\"bank_code\">");
    if (asked[0] != '\0') {
        /* The merchant chose the bank in the pay URL: offer only that one. */
        sim_buf_puts(b, "<option selected>");
        sim_buf_xml_text(b, asked);
        sim_buf_puts(b, "</option>");
    } else {
        for (size_t i = 0; i < sizeof sim_pay_page_banks / sizeof sim_pay_page_banks[0]; i++)
            sim_buf_printf(b, "<option>%s</option>", sim_pay_page_banks[i]);
    }
    sim_buf_puts(b, "</select></label></p>\n");
}

void sim_pay_page_pay(sim_reply_t *reply, const sim_pay_txn_t *t, const char *tmn_code)
{
    int english = strcmp(t->locale, "en") == 0;
    sim_buf_t *b = &reply->body;
    char amount[40], expires[40];
    sim_pay_page_amount(t->amount, amount, sizeof amount);
    sim_pay_page_date(t->expire_date, expires, sizeof expires);
    sim_pay_page_head(b, english, "Thanh toán", "Payment");
    sim_buf_puts(b, "<dl>\n");
    sim_pay_page_row(b, english, "Đơn vị", "Merchant", tmn_code);
    sim_pay_page_row(b, english, "Mã giao dịch", "Reference", t->txn_ref);
    sim_pay_page_row(b, english, "Nội dung", "Description", t->order_info);
    sim_buf_puts(b, "<dt>");
    sim_pay_page_bi(b, english, "Số tiền", "Amount");
    sim_buf_printf(b, "</dt><dd class=\"amount\" id=\"amount\">%s</dd>\n", amount);
    sim_pay_page_row(b, english, "Hết hạn", "Expires", expires);
    sim_buf_puts(b, "</dl>\n<form method=\"post\" action=\"" SIM_PAY_COMPLETE_PATH "\">\n");
    sim_buf_puts(b, "<input type=\"hidden\" name=\"txn_ref\" value=\"");
    sim_buf_xml_text(b, t->txn_ref);
    sim_buf_puts(b, "\">\n");
    sim_pay_page_bank_choice(b, english, t->bank_code);
    sim_buf_puts(b, "<button class=\"pay\" name=\"action\" value=\"pay\">");
    sim_pay_page_bi(b, english, "Thanh toán", "Pay");
    sim_buf_puts(b, "</button><button name=\"action\" value=\"cancel\">");
    sim_pay_page_bi(b, english, "Hủy", "Cancel");
    sim_buf_puts(b, "</button>\n</form>\n</main></body></html>\n");
    reply->status = 200;
    reply->reason = "OK";
    reply->content_type = "text/html; charset=utf-8";
}

void sim_pay_page_error(sim_reply_t *reply, int status, const char *reason, const char *code, const char *vi,
                        const char *en, const char *detail)
{
    sim_buf_t *b = &reply->body;
    sim_pay_page_head(b, 0, "Giao dịch không hợp lệ", "Invalid transaction");
    sim_buf_puts(b, "<div class=\"error\"><p><strong>");
    sim_pay_page_bi(b, 0, vi, en);
    sim_buf_puts(b, "</strong></p><p><code id=\"error\">");
    sim_buf_xml_text(b, code);
    sim_buf_puts(b, "</code> <span id=\"detail\">");
    sim_buf_xml_text(b, detail);
    sim_buf_puts(b, "</span></p></div>\n</main></body></html>\n");
    reply->status = status;
    reply->reason = reason;
    reply->content_type = "text/html; charset=utf-8";
    sim_reply_add_header(reply, "X-Sim-Error", code);
}

void sim_pay_page_redirect(sim_reply_t *reply, const char *url)
{
    if (strlen(url) >= SIM_REPLY_HEADER_VALUE_MAX) {
        sim_pay_page_error(reply, 500, "Internal Server Error", "redirect_too_long", "Lỗi hệ thống", "Internal error",
                           "the return URL with its parameters is too long for a Location header");
        return;
    }
    sim_reply_add_header(reply, "Location", url);
    sim_buf_puts(&reply->body, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>302</title></head><body>"
                               "<p><a href=\"");
    sim_buf_xml_text(&reply->body, url);
    sim_buf_puts(&reply->body, "\">Quay lại / Return</a></p></body></html>\n");
    reply->status = 302;
    reply->reason = "Found";
    reply->content_type = "text/html; charset=utf-8";
}
