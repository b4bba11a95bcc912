/*
 * GET /status: the status document as one self-contained HTML page. No script,
 * no external asset (an operator's phone on a hotel network still gets it
 * whole), a meta refresh, and labels in Vietnamese and English. Every dynamic
 * string is escaped. Each block carries data-state (green, amber, red, grey),
 * which the CSS colours and the browser test reads.
 */
#include <stdio.h>
#include <string.h>

#include "lt_config.h"
#include "lt_date.h"
#include "lt_metrics.h"
#include "lt_status.h"

static void esc(lt_buf_t *b, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '&':
            lt_buf_printf(b, "&amp;");
            break;
        case '<':
            lt_buf_printf(b, "&lt;");
            break;
        case '>':
            lt_buf_printf(b, "&gt;");
            break;
        case '"':
            lt_buf_printf(b, "&quot;");
            break;
        default:
            lt_buf_printf(b, "%c", *s);
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

/* A card's title: the adapter's own (lt_adapter_t.title), else the name itself. */
static const char *system_title(const lt_config_t *config, const char *name)
{
    const lt_adapter_t *a = config ? lt_adapter_table_find(config->adapters, name) : NULL;
    if (a != NULL && a->title != NULL)
        return a->title;
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

static void row(lt_buf_t *b, const char *label, const char *value)
{
    lt_buf_printf(b, "<dt>");
    esc(b, label); /* labels include keys read from the modules' documents */
    lt_buf_printf(b, "</dt><dd>");
    esc(b, value);
    lt_buf_printf(b, "</dd>");
}

/* "2026-12-01T06:18:07+07:00 (5 min ago)" from a time and its age in seconds beside it; "never" without one. */
static const char *when(const json_t *obj, const char *key, const char *age_key, char *buf, size_t len)
{
    const json_t *age = json_object_get(obj, age_key);
    if (str(obj, key)[0] == '\0')
        return "chưa có · never";
    char ago[32] = "";
    if (json_is_integer(age))
        lt_date_ago((long long)json_integer_value(age), ago);
    snprintf(buf, len, "%s%s%s%s", str(obj, key), ago[0] ? " (" : "", ago, ago[0] ? ")" : "");
    return buf;
}

static void system_probe(lt_buf_t *b, const json_t *probe)
{
    char text[600];
    if (!json_is_true(json_object_get(probe, "enabled"))) {
        row(b, "Thăm dò · Probe", "tắt · off");
        return;
    }
    snprintf(text, sizeof(text), "%s (%s, mỗi · every %lld s): %s", str(probe, "summary"), str(probe, "kind"),
             (long long)json_integer_value(json_object_get(probe, "interval_s")), str(probe, "reason"));
    row(b, "Thăm dò · Probe", text);
}

static void system_numbers(lt_buf_t *b, const json_t *sys)
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

static void system_errors(lt_buf_t *b, const json_t *sys)
{
    char text[600];
    const json_t *err = json_object_get(sys, "last_error");
    char at[96];
    row(b, "Thành công gần nhất · Last success", when(sys, "last_success", "last_success_ago_s", at, sizeof(at)));
    if (json_is_object(err))
        snprintf(text, sizeof(text), "%s %s: %s%s", when(err, "at", "ago_s", at, sizeof(at)), str(err, "code"),
                 str(err, "detail"), json_is_true(json_object_get(err, "probe")) ? " (thăm dò · probe)" : "");
    else
        snprintf(text, sizeof(text), "không có · none");
    row(b, "Lỗi gần nhất · Last error", text);
}

static void system_certs_and_token(lt_buf_t *b, const json_t *sys)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(sys, "certificates"), i, c)
    {
        char text[300];
        snprintf(text, sizeof(text), "%s: %lld ngày · days (%s)", str(c, "subject"),
                 (long long)json_integer_value(json_object_get(c, "days_left")), str(c, "not_after"));
        lt_buf_printf(b, "<dt>%s</dt><dd class=\"cert\" data-state=\"%s\">",
                      strcmp(str(c, "role"), "upstream_client") == 0 ? "Chứng thư của ta · Our certificate"
                                                                     : "Chứng thư máy chủ · Server certificate",
                      str(c, "state"));
        esc(b, text);
        lt_buf_printf(b, "</dd>");
    }
    const json_t *tok = json_object_get(sys, "token");
    if (json_is_object(tok)) {
        char text[120];
        snprintf(text, sizeof(text), "%s, còn · %lld s left", str(tok, "state"),
                 (long long)json_integer_value(json_object_get(tok, "remaining_s")));
        row(b, "Token", text);
    }
}

/* "open (retrying in 12 s)", "half-open", "closed": never a stale "open" once the cool-down is over. */
static const char *circuit_text(const json_t *circuit, char *buf, size_t len)
{
    const char *state = str(circuit, "state");
    if (strcmp(state, "open") == 0)
        snprintf(buf, len, "mở · open (thử lại sau · retrying in %lld s)",
                 (long long)json_integer_value(json_object_get(circuit, "retry_in_s")));
    else if (strcmp(state, "half_open") == 0)
        snprintf(buf, len, "nửa mở · half-open");
    else
        snprintf(buf, len, "đóng · closed");
    return buf;
}

static void system_card(lt_buf_t *b, const lt_config_t *config, const json_t *sys)
{
    const char *name = str(sys, "name"), *state = str(sys, "state");
    char text[96];
    lt_buf_printf(b, "<section class=\"card system\" id=\"system-");
    esc(b, name);
    lt_buf_printf(b, "\" data-system=\"");
    esc(b, name);
    lt_buf_printf(b, "\" data-state=\"%s\"><h3>", state);
    esc(b, system_title(config, name));
    lt_buf_printf(b, " <span class=\"badge\">%s</span></h3><p class=\"reason\">", badge(state));
    esc(b, str(sys, "reason"));
    lt_buf_printf(b, "</p><dl>");
    system_probe(b, json_object_get(sys, "probe"));
    row(b, "Mạch ngắt · Circuit", circuit_text(json_object_get(sys, "circuit"), text, sizeof(text)));
    system_errors(b, sys);
    system_numbers(b, sys);
    system_certs_and_token(b, sys);
    lt_buf_printf(b, "</dl></section>");
}

static void cache_card(lt_buf_t *b, const json_t *cache)
{
    char text[200];
    lt_buf_printf(b, "<h2>Bộ đệm · Cache</h2><section class=\"card cache\" id=\"cache\" data-state=\"%s\"><h3>",
                  str(cache, "color"));
    esc(b, str(cache, "backend"));
    lt_buf_printf(b, " <span class=\"badge\">%s</span></h3><dl>", badge(str(cache, "color")));
    row(b, "Trạng thái · State", str(cache, "state"));
    if (json_object_get(cache, "detail") != NULL)
        row(b, "Chi tiết · Detail", str(cache, "detail"));
    snprintf(text, sizeof(text), "%.0f %% (%lld trúng · hits, %lld trượt · misses)",
             json_real_value(json_object_get(cache, "hit_ratio")) * 100,
             (long long)json_integer_value(json_object_get(cache, "hits")),
             (long long)json_integer_value(json_object_get(cache, "misses")));
    row(b, "Tỉ lệ trúng · Hit ratio", text);
    const json_t *redis = json_object_get(cache, "redis");
    if (json_is_true(json_object_get(redis, "sentinels"))) {
        snprintf(text, sizeof(text), "%s (%s)",
                 json_is_string(json_object_get(redis, "primary")) ? str(redis, "primary")
                                                                   : "chưa biết · not yet known",
                 json_is_string(json_object_get(redis, "role")) ? str(redis, "role") : "?");
        row(b, "Redis chính · Redis primary", text);
        const json_t *since = json_object_get(redis, "seconds_since_failover");
        if (json_is_number(since))
            snprintf(text, sizeof(text), "%lld, lần cuối · last %.0f s trước · ago",
                     (long long)json_integer_value(json_object_get(redis, "failovers")), json_number_value(since));
        else
            snprintf(text, sizeof(text), "0");
        row(b, "Chuyển đổi dự phòng · Failovers", text);
    }
    lt_buf_printf(b, "</dl></section>");
}

/* The api listener's revocation lists: one row per list, with its state and next update. */
static void crl_card(lt_buf_t *b, const json_t *crl)
{
    if (!json_is_object(crl))
        return;
    lt_buf_printf(b,
                  "<h2>Danh sách thu hồi · Revocation lists</h2><section class=\"card crl\" id=\"crl\" "
                  "data-state=\"%s\"><h3>listeners.api <span class=\"badge\">%s</span></h3><p class=\"reason\">",
                  str(crl, "color"), badge(str(crl, "color")));
    esc(b, str(crl, "reason"));
    lt_buf_printf(b, "</p><dl>");
    if (json_is_true(json_object_get(crl, "configured"))) {
        row(b, "Khi hết hạn · When expired", str(crl, "on_expired"));
        row(b, "Nạp lúc · Loaded", str(crl, "loaded_at"));
    }
    size_t i;
    const json_t *l;
    json_array_foreach(json_object_get(crl, "lists"), i, l)
    {
        char text[200];
        snprintf(text, sizeof(text), "%s · %lld thu hồi · revoked · cập nhật tiếp · next update %s", str(l, "state"),
                 (long long)json_integer_value(json_object_get(l, "revoked")),
                 json_is_string(json_object_get(l, "next_update")) ? str(l, "next_update") : "-");
        row(b, str(l, "issuer"), text);
    }
    lt_buf_printf(b, "</dl></section>");
}

/* The audit trail: whether it takes records, where it stands, and why not (or which client reads unusually). */
static void audit_card(lt_buf_t *b, const json_t *audit)
{
    char text[200];
    lt_buf_printf(b,
                  "<h2>Nhật ký xử lý dữ liệu · Audit trail</h2><section class=\"card audit\" id=\"audit\" "
                  "data-state=\"%s\"><h3>",
                  str(audit, "color"));
    esc(b, json_is_true(json_object_get(audit, "configured")) ? str(audit, "dir") : "-");
    lt_buf_printf(b, " <span class=\"badge\">%s</span></h3>", badge(str(audit, "color")));
    if (json_object_get(audit, "reason") != NULL) {
        lt_buf_printf(b, "<p class=\"reason\">");
        esc(b, str(audit, "reason"));
        lt_buf_printf(b, "</p>");
    }
    lt_buf_printf(b, "<dl>");
    if (json_is_true(json_object_get(audit, "configured"))) {
        row(b, "Ghi được · Writable", json_is_true(json_object_get(audit, "available")) ? "yes" : "NO");
        row(b, "Tệp · File", str(audit, "file"));
        snprintf(text, sizeof(text), "%lld (%lld this run), fsync %s",
                 (long long)json_integer_value(json_object_get(audit, "seq")),
                 (long long)json_integer_value(json_object_get(audit, "records")), str(audit, "fsync"));
        row(b, "Bản ghi · Records", text);
        snprintf(text, sizeof(text), "%.16s…", str(audit, "head"));
        row(b, "Đầu chuỗi · Head", text);
    }
    lt_buf_printf(b, "</dl></section>");
}

/* The rate limits: where the buckets are, whether Redis answers (the fallback), and which buckets refused. */
static void ratelimit_card(lt_buf_t *b, const json_t *rl)
{
    if (!json_is_object(rl))
        return;
    bool configured = json_is_true(json_object_get(rl, "configured"));
    lt_buf_printf(b,
                  "<h2>Giới hạn tần suất · Rate limits</h2><section class=\"card ratelimit\" id=\"rate-limits\" "
                  "data-state=\"%s\"><h3>",
                  str(rl, "color"));
    esc(b, configured ? str(rl, "backend") : "-");
    lt_buf_printf(b, " <span class=\"badge\">%s</span></h3><p class=\"reason\">", badge(str(rl, "color")));
    esc(b, str(rl, "reason"));
    lt_buf_printf(b, "</p><dl>");
    if (configured) {
        char text[200];
        row(b, "Trạng thái · State", str(rl, "state"));
        const json_t *redis = json_object_get(rl, "redis");
        if (redis != NULL) {
            snprintf(text, sizeof(text), "%s · %lld/%lld kết nối · connections up", str(redis, "address"),
                     (long long)json_integer_value(json_object_get(redis, "up")),
                     (long long)json_integer_value(json_object_get(redis, "connections")));
            row(b, "Redis", text);
            snprintf(text, sizeof(text), "%lld",
                     (long long)json_integer_value(json_object_get(rl, "fallback_decisions")));
            row(b, "Quyết định cục bộ · Local fallback decisions", text);
        }
        size_t i;
        const json_t *l;
        json_array_foreach(json_object_get(rl, "limits"), i, l)
        {
            char label[200];
            snprintf(label, sizeof(label), "%s · %s", str(l, "client"), str(l, "operation"));
            snprintf(text, sizeof(text), "%lld / %s, burst %lld · %lld bị từ chối · refused",
                     (long long)json_integer_value(json_object_get(l, "rate")), str(l, "per"),
                     (long long)json_integer_value(json_object_get(l, "burst")),
                     (long long)json_integer_value(json_object_get(l, "limited")));
            row(b, label, text);
        }
    }
    lt_buf_printf(b, "</dl></section>");
}

/* A module's card, drawn from its part of the document: card.subtitle and card.rows ([label, value] pairs). */
static void module_card(lt_buf_t *b, const lt_module_t *mod, const json_t *part)
{
    lt_buf_printf(b, "<h2>");
    esc(b, mod->title ? mod->title : mod->name);
    lt_buf_printf(b, "</h2><section class=\"card module\" id=\"");
    esc(b, mod->name);
    lt_buf_printf(b, "\" data-state=\"%s\">", str(part, "color"));
    if (!json_is_true(json_object_get(part, "configured"))) {
        lt_buf_printf(b, "<p>Chưa cấu hình · Not configured</p></section>");
        return;
    }
    const json_t *card = json_object_get(part, "card");
    lt_buf_printf(b, "<h3>");
    esc(b, str(card, "subtitle"));
    lt_buf_printf(b, " <span class=\"badge\">%s</span></h3>", badge(str(part, "color")));
    if (json_object_get(part, "reason") != NULL) {
        lt_buf_printf(b, "<p class=\"reason\">");
        esc(b, str(part, "reason"));
        lt_buf_printf(b, "</p>");
    }
    lt_buf_printf(b, "<dl>");
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(card, "rows"), i, r)
        row(b, json_string_value(json_array_get(r, 0)), json_string_value(json_array_get(r, 1)));
    lt_buf_printf(b, "</dl></section>");
}

static void module_cards(lt_buf_t *b, const json_t *st, const lt_config_t *config)
{
    for (size_t m = 0; config != NULL && m < config->nmodules; m++) {
        const json_t *part = json_object_get(st, config->modules[m]->name);
        if (json_is_object(part))
            module_card(b, config->modules[m], part);
    }
}

static void cert_table(lt_buf_t *b, const json_t *certs)
{
    lt_buf_printf(b, "<h2>Chứng thư số · Certificates</h2><div class=\"scroll\"><table id=\"certificates\">"
                     "<tr><th>Của · Owner</th>"
                     "<th>Loại · Role</th><th>Chủ thể · Subject</th><th>Còn · Days left</th><th>Hết hạn · Expires</th>"
                     "</tr>");
    size_t i;
    const json_t *c;
    json_array_foreach(certs, i, c)
    {
        lt_buf_printf(b, "<tr data-state=\"%s\" data-owner=\"", str(c, "state"));
        esc(b, str(c, "owner"));
        lt_buf_printf(b, "\" data-role=\"");
        esc(b, str(c, "role"));
        lt_buf_printf(b, "\"><td>");
        esc(b, str(c, "owner"));
        lt_buf_printf(b, "</td><td>");
        esc(b, str(c, "role"));
        lt_buf_printf(b, "</td><td>");
        esc(b, str(c, "subject"));
        lt_buf_printf(b, "</td><td>%lld</td><td>", (long long)json_integer_value(json_object_get(c, "days_left")));
        esc(b, str(c, "not_after"));
        lt_buf_printf(b, "</td></tr>");
    }
    lt_buf_printf(b, "</table></div>");
}

/* Which instance this is, since when, its last reload and the zone of every time; a drained instance says so. */
static void instance_meta(lt_buf_t *b, const json_t *inst)
{
    if (!json_is_object(inst))
        return;
    char up[32], text[400], at[96];
    lt_date_duration((long long)json_integer_value(json_object_get(inst, "uptime_s")), up);
    const json_t *reload = json_object_get(inst, "last_reload");
    snprintf(text, sizeof(text),
             "Máy chủ · Instance %s · chạy · up %s (từ · since %s) · nạp lại · last reload %s%s · "
             "giờ · times in UTC%s",
             str(inst, "name"), up, str(inst, "started_at"),
             json_is_object(reload) ? when(reload, "at", "ago_s", at, sizeof(at)) : "chưa · never",
             json_is_object(reload) && json_integer_value(json_object_get(reload, "status")) != 200 ? ", refused" : "",
             str(inst, "time_zone"));
    lt_buf_printf(b, "<p class=\"meta\" id=\"instance\">");
    esc(b, text);
    lt_buf_printf(b, "</p>");
    if (json_is_true(json_object_get(inst, "drained")))
        lt_buf_printf(b, "<p class=\"reason\" id=\"drained\">Đã rút khỏi cân bằng tải · Drained: /readyz trả 503 · "
                         "answers 503, requests are still served (lienthong-ctl undrain)</p>");
}

char *lt_status_html(const json_t *st, const lt_config_t *config, int refresh_s)
{
    lt_buf_t b = {0};
    const char *state = str(st, "state");
    lt_buf_printf(&b,
                  "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<meta http-equiv=\"refresh\" content=\"%d\"><title>Liên Thông: trạng thái · status</title>"
                  "<style>%s</style></head><body><header class=\"card\" id=\"overall\" data-state=\"%s\">"
                  "<h1>Liên Thông <span class=\"badge\">%s</span></h1><p class=\"reason\">",
                  refresh_s, css, state, badge(state));
    esc(&b, str(st, "reason"));
    lt_buf_printf(&b, "</p>");
    instance_meta(&b, json_object_get(st, "instance"));
    lt_buf_printf(&b, "<p class=\"meta\">Cập nhật · Updated ");
    esc(&b, str(st, "generated_at"));
    lt_buf_printf(&b, " · phiên bản · version ");
    esc(&b, str(st, "version"));
    lt_buf_printf(&b, " · tự làm mới sau · refreshes every %d s · <a href=\"/status.json\">JSON</a></p></header>",
                  refresh_s);
    lt_buf_printf(&b, "<h2>Hệ thống quốc gia · National systems</h2><div class=\"grid\">");
    size_t i;
    const json_t *sys;
    json_array_foreach(json_object_get(st, "systems"), i, sys) system_card(&b, config, sys);
    lt_buf_printf(&b, "</div>");
    cache_card(&b, json_object_get(st, "cache"));
    audit_card(&b, json_object_get(st, "audit"));
    ratelimit_card(&b, json_object_get(st, "rate_limits"));
    module_cards(&b, st, config);
    crl_card(&b, json_object_get(st, "crl"));
    cert_table(&b, json_object_get(st, "certificates"));
    lt_buf_printf(&b, "</body></html>\n");
    return b.data;
}
