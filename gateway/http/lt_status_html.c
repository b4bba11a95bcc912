/*
 * GET /status: the status document as one self-contained HTML page. No script,
 * no external asset (an operator's phone on a hotel network still gets it
 * whole), a meta refresh, and labels in Vietnamese and English. Every dynamic
 * string is escaped. Each block carries data-state (green, amber, red, grey),
 * which the CSS colours and the browser test reads.
 */
#include <stdio.h>
#include <string.h>

#include "lt_metrics.h"
#include "lt_status.h"

static void esc(lt_mbuf_t *b, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '&':
            lt_mbuf_printf(b, "&amp;");
            break;
        case '<':
            lt_mbuf_printf(b, "&lt;");
            break;
        case '>':
            lt_mbuf_printf(b, "&gt;");
            break;
        case '"':
            lt_mbuf_printf(b, "&quot;");
            break;
        default:
            lt_mbuf_printf(b, "%c", *s);
        }
    }
}

static const char *str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v != NULL ? v : "";
}

static const char *badge(const char *color)
{
    if (strcmp(color, "red") == 0)
        return "Sự cố · Down";
    if (strcmp(color, "amber") == 0)
        return "Cần chú ý · Degraded";
    if (strcmp(color, "green") == 0)
        return "Bình thường · OK";
    return "Tắt · Off";
}

static const char *system_title(const char *name)
{
    static const char *const titles[][2] = {
        {"population", "Dân cư · Population"},
        {"business", "Đăng ký doanh nghiệp · Business registration"},
        {"tax", "Thuế · Tax"},
        {"insurance", "Bảo hiểm xã hội · Social insurance"},
        {"payment", "Thanh toán · Payments"},
    };
    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
        if (strcmp(name, titles[i][0]) == 0)
            return titles[i][1];
    return name;
}

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:0;padding:12px;background:#f4f5f7;color:#1d1d1f;font-size:15px}"
    "h1{font-size:1.3em;margin:0 0 4px}h2{font-size:1.1em;margin:20px 0 8px}"
    ".meta{color:#555;font-size:.85em;margin:2px 0}"
    ".card{background:#fff;border-radius:8px;padding:10px 12px;margin:0 0 10px;border-left:8px solid #999}"
    ".card h3{font-size:1.05em;margin:0 0 4px;display:flex;flex-wrap:wrap;gap:6px;align-items:center}"
    ".badge{font-size:.8em;padding:2px 8px;border-radius:10px;color:#fff;background:#888;white-space:nowrap}"
    "[data-state=green]{border-color:#1e8e3e}[data-state=green] .badge,.badge[data-state=green]{background:#1e8e3e}"
    "[data-state=amber]{border-color:#e37400}[data-state=amber] .badge,.badge[data-state=amber]{background:#e37400}"
    "[data-state=red]{border-color:#d93025}[data-state=red] .badge,.badge[data-state=red]{background:#d93025}"
    ".reason{margin:2px 0 6px;font-weight:600}"
    "dl{display:grid;grid-template-columns:minmax(6em,34%) 1fr;gap:2px 10px;margin:0;font-size:.9em}"
    ".scroll{overflow-x:auto}"
    "dt{color:#555}dd{margin:0;overflow-wrap:anywhere}"
    "table{border-collapse:collapse;width:100%;background:#fff;font-size:.85em}"
    "td,th{padding:4px 6px;border-bottom:1px solid #ddd;text-align:left}"
    "tr[data-state=red] td{color:#d93025;font-weight:600}tr[data-state=amber] td{color:#b35c00}"
    "@media(min-width:900px){.grid{display:grid;grid-template-columns:1fr 1fr;gap:10px}.card{margin:0}}";

static void row(lt_mbuf_t *b, const char *label, const char *value)
{
    lt_mbuf_printf(b, "<dt>");
    esc(b, label); /* labels include keys read from the payments summary */
    lt_mbuf_printf(b, "</dt><dd>");
    esc(b, value);
    lt_mbuf_printf(b, "</dd>");
}

static const char *or_never(const char *s)
{
    return s[0] ? s : "chưa có · never";
}

static void system_probe(lt_mbuf_t *b, const json_t *probe)
{
    char text[600];
    if (!json_is_true(json_object_get(probe, "enabled"))) {
        row(b, "Thăm dò · Probe", "tắt · off");
        return;
    }
    snprintf(text, sizeof(text), "%s (%s, mỗi · every %lld s): %s", str(probe, "state"), str(probe, "kind"),
             (long long)json_integer_value(json_object_get(probe, "interval_s")), str(probe, "reason"));
    row(b, "Thăm dò · Probe", text);
}

static void system_numbers(lt_mbuf_t *b, const json_t *sys)
{
    char text[400];
    const json_t *lat = json_object_get(sys, "latency_ms"), *recent = json_object_get(sys, "recent");
    if (json_is_object(lat))
        snprintf(text, sizeof(text), "p50 %.0f ms · p95 %.0f ms · p99 %.0f ms",
                 json_real_value(json_object_get(lat, "p50")), json_real_value(json_object_get(lat, "p95")),
                 json_real_value(json_object_get(lat, "p99")));
    else
        snprintf(text, sizeof(text), "không có lưu lượng · no traffic");
    row(b, "Độ trễ · Latency", text);
    snprintf(text, sizeof(text), "%lld yêu cầu · calls, %lld lỗi · errors (%lld s)",
             (long long)json_integer_value(json_object_get(recent, "calls")),
             (long long)json_integer_value(json_object_get(recent, "errors")),
             (long long)json_integer_value(json_object_get(recent, "window_s")));
    row(b, "Gần đây · Recent", text);
}

static void system_errors(lt_mbuf_t *b, const json_t *sys)
{
    char text[600];
    const json_t *err = json_object_get(sys, "last_error");
    row(b, "Thành công gần nhất · Last success", or_never(str(sys, "last_success")));
    if (json_is_object(err))
        snprintf(text, sizeof(text), "%s %s: %s%s", str(err, "at"), str(err, "code"), str(err, "detail"),
                 json_is_true(json_object_get(err, "probe")) ? " (thăm dò · probe)" : "");
    else
        snprintf(text, sizeof(text), "không có · none");
    row(b, "Lỗi gần nhất · Last error", text);
}

static void system_certs_and_token(lt_mbuf_t *b, const json_t *sys)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(sys, "certificates"), i, c)
    {
        char text[300];
        snprintf(text, sizeof(text), "%s: %lld ngày · days (%s)", str(c, "subject"),
                 (long long)json_integer_value(json_object_get(c, "days_left")), str(c, "not_after"));
        lt_mbuf_printf(b, "<dt>%s</dt><dd class=\"cert\" data-state=\"%s\">",
                       strcmp(str(c, "role"), "upstream_client") == 0 ? "Chứng thư của ta · Our certificate"
                                                                      : "Chứng thư máy chủ · Server certificate",
                       str(c, "state"));
        esc(b, text);
        lt_mbuf_printf(b, "</dd>");
    }
    const json_t *tok = json_object_get(sys, "token");
    if (json_is_object(tok)) {
        char text[120];
        snprintf(text, sizeof(text), "%s, còn · %lld s left", str(tok, "state"),
                 (long long)json_integer_value(json_object_get(tok, "remaining_s")));
        row(b, "Token", text);
    }
}

static void system_card(lt_mbuf_t *b, const json_t *sys)
{
    const char *name = str(sys, "name"), *state = str(sys, "state");
    lt_mbuf_printf(b, "<section class=\"card system\" id=\"system-");
    esc(b, name);
    lt_mbuf_printf(b, "\" data-system=\"");
    esc(b, name);
    lt_mbuf_printf(b, "\" data-state=\"%s\"><h3>", state);
    esc(b, system_title(name));
    lt_mbuf_printf(b, " <span class=\"badge\">%s</span></h3><p class=\"reason\">", badge(state));
    esc(b, str(sys, "reason"));
    lt_mbuf_printf(b, "</p><dl>");
    system_probe(b, json_object_get(sys, "probe"));
    row(b, "Mạch ngắt · Circuit", str(json_object_get(sys, "circuit"), "state"));
    system_errors(b, sys);
    system_numbers(b, sys);
    system_certs_and_token(b, sys);
    lt_mbuf_printf(b, "</dl></section>");
}

static void cache_card(lt_mbuf_t *b, const json_t *cache)
{
    char text[200];
    lt_mbuf_printf(b, "<h2>Bộ đệm · Cache</h2><section class=\"card cache\" id=\"cache\" data-state=\"%s\"><h3>",
                   str(cache, "color"));
    esc(b, str(cache, "backend"));
    lt_mbuf_printf(b, " <span class=\"badge\">%s</span></h3><dl>", badge(str(cache, "color")));
    row(b, "Trạng thái · State", str(cache, "state"));
    if (json_object_get(cache, "detail") != NULL)
        row(b, "Chi tiết · Detail", str(cache, "detail"));
    snprintf(text, sizeof(text), "%.0f %% (%lld trúng · hits, %lld trượt · misses)",
             json_real_value(json_object_get(cache, "hit_ratio")) * 100,
             (long long)json_integer_value(json_object_get(cache, "hits")),
             (long long)json_integer_value(json_object_get(cache, "misses")));
    row(b, "Tỉ lệ trúng · Hit ratio", text);
    lt_mbuf_printf(b, "</dl></section>");
}

static void payments_card(lt_mbuf_t *b, const json_t *pay)
{
    char text[200];
    lt_mbuf_printf(b,
                   "<h2>Thanh toán · Payments</h2><section class=\"card payments\" id=\"payments\" "
                   "data-state=\"%s\">",
                   str(pay, "color"));
    if (!json_is_true(json_object_get(pay, "configured"))) {
        lt_mbuf_printf(b, "<p>Chưa cấu hình · Not configured</p></section>");
        return;
    }
    const json_t *outbox = json_object_get(pay, "outbox"), *by = json_object_get(pay, "by_state");
    lt_mbuf_printf(b, "<h3>");
    esc(b, str(pay, "backend"));
    lt_mbuf_printf(b, " <span class=\"badge\">%s</span></h3><dl>", badge(str(pay, "color")));
    row(b, "Kho · Store", json_is_true(json_object_get(pay, "store_ok")) ? "ok" : "lỗi · unavailable");
    snprintf(text, sizeof(text), "%lld chờ · backlog, %lld hỏng · dead letters, cũ nhất · oldest %.0f s",
             (long long)json_integer_value(json_object_get(outbox, "backlog")),
             (long long)json_integer_value(json_object_get(outbox, "dead_letters")),
             json_number_value(json_object_get(outbox, "oldest_backlog_age_s")));
    row(b, "Hộp thư đi · Outbox", text);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)by, k, v)
    {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        row(b, k, text);
    }
    lt_mbuf_printf(b, "</dl></section>");
}

static void cert_table(lt_mbuf_t *b, const json_t *certs)
{
    lt_mbuf_printf(b, "<h2>Chứng thư số · Certificates</h2><div class=\"scroll\"><table id=\"certificates\">"
                      "<tr><th>Của · Owner</th>"
                      "<th>Loại · Role</th><th>Chủ thể · Subject</th><th>Còn · Days left</th><th>Hết hạn · Expires</th>"
                      "</tr>");
    size_t i;
    const json_t *c;
    json_array_foreach(certs, i, c)
    {
        lt_mbuf_printf(b, "<tr data-state=\"%s\" data-owner=\"", str(c, "state"));
        esc(b, str(c, "owner"));
        lt_mbuf_printf(b, "\" data-role=\"");
        esc(b, str(c, "role"));
        lt_mbuf_printf(b, "\"><td>");
        esc(b, str(c, "owner"));
        lt_mbuf_printf(b, "</td><td>");
        esc(b, str(c, "role"));
        lt_mbuf_printf(b, "</td><td>");
        esc(b, str(c, "subject"));
        lt_mbuf_printf(b, "</td><td>%lld</td><td>", (long long)json_integer_value(json_object_get(c, "days_left")));
        esc(b, str(c, "not_after"));
        lt_mbuf_printf(b, "</td></tr>");
    }
    lt_mbuf_printf(b, "</table></div>");
}

char *lt_status_html(const json_t *st, int refresh_s)
{
    lt_mbuf_t b = {0};
    const char *state = str(st, "state");
    lt_mbuf_printf(&b,
                   "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<meta http-equiv=\"refresh\" content=\"%d\"><title>Liên Thông: trạng thái · status</title>"
                   "<style>%s</style></head><body><header class=\"card\" id=\"overall\" data-state=\"%s\">"
                   "<h1>Liên Thông <span class=\"badge\">%s</span></h1><p class=\"reason\">",
                   refresh_s, css, state, badge(state));
    esc(&b, str(st, "reason"));
    lt_mbuf_printf(&b, "</p><p class=\"meta\">Cập nhật · Updated ");
    esc(&b, str(st, "generated_at"));
    lt_mbuf_printf(&b, " · phiên bản · version ");
    esc(&b, str(st, "version"));
    lt_mbuf_printf(&b, " · tự làm mới sau · refreshes every %d s · <a href=\"/status.json\">JSON</a></p></header>",
                   refresh_s);
    lt_mbuf_printf(&b, "<h2>Hệ thống quốc gia · National systems</h2><div class=\"grid\">");
    size_t i;
    const json_t *sys;
    json_array_foreach(json_object_get(st, "systems"), i, sys) system_card(&b, sys);
    lt_mbuf_printf(&b, "</div>");
    cache_card(&b, json_object_get(st, "cache"));
    payments_card(&b, json_object_get(st, "payments"));
    cert_table(&b, json_object_get(st, "certificates"));
    lt_mbuf_printf(&b, "</body></html>\n");
    return b.data;
}
