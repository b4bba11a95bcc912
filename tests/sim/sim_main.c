/*
 * lienthong-sim: stand-ins for the national systems, written from the ICDs.
 *
 * One process simulates one system (--system), with a deterministic synthetic
 * population shared by every system, so the same person has the same
 * identifier everywhere. This file is the wiring: command line, the table of
 * services, the event loop and signals.
 */
#include "sim_business.h"
#include "sim_civil_status.h"
#include "sim_control.h"
#include "sim_insurance.h"
#include "sim_land.h"
#include "sim_payment.h"
#include "sim_people.h"
#include "sim_population.h"
#include "sim_portal.h"
#include "sim_server.h"
#include "sim_tax.h"
#include "sim_webhook.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every simulated system: the one list of them. Adding one is a new sim_<system>.c and a line here; `make run`
 * (config/run-dev.sh) and the tests read this list back with --list.
 */
static const sim_service_t *const sim_services[] = {
    &sim_population_service,   /* 9101 */
    &sim_business_service,     /* 9102 */
    &sim_tax_service,          /* 9103 */
    &sim_insurance_service,    /* 9104 */
    &sim_payment_service,      /* 9105 */
    &sim_webhook_service,      /* 9106: the portal's end of the payment events, not a national system */
    &sim_civil_status_service, /* 9107 */
    &sim_land_service,         /* 9108 */
    &sim_portal_service,       /* 9110: the national public-service portal (dossier synchronisation) */
};

#define SIM_COUNT(a)        (sizeof(a) / sizeof((a)[0]))
#define SIM_EXIT_USAGE      2
#define SIM_DEFAULT_SEED    1
#define SIM_DEFAULT_PEOPLE  10000
#define SIM_PATH_MAX        4096
#define SIM_MAX_SYSTEM_ARGS 64 /* occurrences of system-specific flags on one command line */
#define SIM_MAX_SYSTEM_OPTS 32 /* distinct system-specific flags over every service */

/* One occurrence of a flag that belongs to one system (--ipn-url URL): handed to that service's set_option(). */
typedef struct sim_system_arg {
    const sim_service_t *service;
    const char *name;
    const char *value;
} sim_system_arg_t;

typedef struct sim_options {
    const sim_service_t *service; /* NULL with `all` */
    int all;                      /* --system all: every service, each on its default ports */
    const char *listen;
    const char *control;
    const char *certs_dir;
    const char *cert, *key, *client_ca;
    unsigned long long seed;
    unsigned long long population;
    long latency_ms;
    const char *fault;
    long long sample; /* -1: run the server */
    sim_system_arg_t system_args[SIM_MAX_SYSTEM_ARGS];
    size_t n_system_args;
    char listen_buf[64], control_buf[64];
    char cert_buf[SIM_PATH_MAX], key_buf[SIM_PATH_MAX], ca_buf[SIM_PATH_MAX];
} sim_options_t;

static void sim_usage(FILE *out)
{
    fputs("Usage:\n"
          "  lienthong-sim --system SYSTEM [--listen HOST:PORT] [--control HOST:PORT]\n"
          "                [--certs-dir DIR | --cert FILE --key FILE --client-ca FILE]\n"
          "                [--seed N] [--population N] [--latency-ms N] [--fault NAME]\n"
          "  lienthong-sim --system all --certs-dir DIR [--seed N] [--population N] [system flags]\n"
          "  lienthong-sim --system SYSTEM --sample N [--seed N] [--population N]\n"
          "  lienthong-sim --list\n"
          "\n"
          "Simulates one national system from its interface control document.\n"
          "\n"
          "  --system SYSTEM      which system:",
          out);
    for (size_t i = 0; i < SIM_COUNT(sim_services); i++)
        fprintf(out, " %s", sim_services[i]->name);
    fputs("\n"
          "  --listen HOST:PORT   HTTPS service address (population: 127.0.0.1:9101); port 0 picks one\n"
          "  --control HOST:PORT  plain-HTTP control API (population: 127.0.0.1:9201); port 0 picks one\n"
          "  --certs-dir DIR      DIR/<system>-sim.crt, DIR/<system>-sim.key, client CA DIR/national-ca.crt\n"
          "  --cert, --key FILE   server certificate and key (PEM)\n"
          "  --client-ca FILE     CA that client certificates must chain to (PEM); a client\n"
          "                       certificate is always required\n"
          "  --seed N             population seed (default 1)\n"
          "  --population N       number of synthetic people (default 10000, at most 5000000)\n"
          "  --latency-ms N       delay every reply by N ms\n"
          "  --fault NAME         inject a fault into every request until changed over the control API\n"
          "                       (population: none DC-400 DC-403 DC-404 DC-429 DC-500 DC-503 xroad\n"
          "                       html502 html503 html504 reset truncate wrong_id bad_hash hang)\n"
          "  --sample N           print N identities as JSON lines and exit\n"
          "  --list               print every system, one a line: NAME SERVICE_PORT CONTROL_PORT (the defaults)\n"
          "  -h, --help           this text\n"
          "\n"
          "Flags of one system (with --system all, each goes to its own system):\n",
          out);
    for (size_t i = 0; i < SIM_COUNT(sim_services); i++)
        for (const sim_service_option_t *opt = sim_services[i]->options; opt && opt->name; opt++) {
            char flag[64];
            snprintf(flag, sizeof flag, "--%s %s", opt->name, opt->arg);
            fprintf(out, "  %-26s %s: %s\n", flag, sim_services[i]->name, opt->help);
        }
    fputs("\n"
          "Once listening, prints one line to stdout:\n"
          "  lienthong-sim: population listening on https://127.0.0.1:9101, control on http://127.0.0.1:9201\n"
          "SIGTERM and SIGINT stop it with exit status 0.\n",
          out);
}

static int sim_usage_error(const char *fmt, const char *arg)
{
    fputs("lienthong-sim: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'lienthong-sim --help'.\n", stderr);
    return -1;
}

static int sim_parse_number(const char *opt, const char *text, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (text[0] == '-' || text[0] == '\0')
        return sim_usage_error("%s needs a non-negative integer", opt);
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        fprintf(stderr, "lienthong-sim: %s: \"%s\" is not a whole number between 0 and %llu\n", opt, text, max);
        fputs("Try 'lienthong-sim --help'.\n", stderr);
        return -1;
    }
    *out = v;
    return 0;
}

static const sim_service_t *sim_find_service(const char *name)
{
    for (size_t i = 0; i < SIM_COUNT(sim_services); i++)
        if (strcmp(sim_services[i]->name, name) == 0)
            return sim_services[i];
    return NULL;
}

enum {
    OPT_SYSTEM = 256,
    OPT_LISTEN,
    OPT_CONTROL,
    OPT_CERTS_DIR,
    OPT_CERT,
    OPT_KEY,
    OPT_CLIENT_CA,
    OPT_SEED,
    OPT_POPULATION,
    OPT_LATENCY,
    OPT_FAULT,
    OPT_SAMPLE,
    OPT_LIST,
    OPT_SYSTEM_FIRST = 512 /* + k: the k-th flag of sim_system_opts */
};

static const struct option sim_long_options[] = {
    {"system", required_argument, NULL, OPT_SYSTEM},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"certs-dir", required_argument, NULL, OPT_CERTS_DIR},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"client-ca", required_argument, NULL, OPT_CLIENT_CA},
    {"seed", required_argument, NULL, OPT_SEED},
    {"population", required_argument, NULL, OPT_POPULATION},
    {"latency-ms", required_argument, NULL, OPT_LATENCY},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"sample", required_argument, NULL, OPT_SAMPLE},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The getopt table: the common flags, then every system's own flags, built once at start-up. */
static struct option sim_all_options[SIM_COUNT(sim_long_options) + SIM_MAX_SYSTEM_OPTS];
static const sim_service_t *sim_system_opt_owner[SIM_MAX_SYSTEM_OPTS];

static void sim_build_options(void)
{
    size_t n = 0, k = 0;
    while (sim_long_options[n].name != NULL) {
        sim_all_options[n] = sim_long_options[n];
        n++;
    }
    for (size_t i = 0; i < SIM_COUNT(sim_services); i++) {
        for (const sim_service_option_t *opt = sim_services[i]->options; opt && opt->name; opt++) {
            if (k == SIM_MAX_SYSTEM_OPTS)
                abort(); /* a programming error: raise SIM_MAX_SYSTEM_OPTS */
            sim_system_opt_owner[k] = sim_services[i];
            sim_all_options[n++] = (struct option){opt->name, required_argument, NULL, OPT_SYSTEM_FIRST + (int)k};
            k++;
        }
    }
    sim_all_options[n] = (struct option){NULL, 0, NULL, 0};
}

static int sim_add_system_arg(sim_options_t *o, int c, const char *arg)
{
    size_t k = (size_t)(c - OPT_SYSTEM_FIRST);
    if (o->n_system_args == SIM_MAX_SYSTEM_ARGS)
        return sim_usage_error("too many system flags (at most %s)", "64");
    size_t base = SIM_COUNT(sim_long_options) - 1; /* where the system flags begin in sim_all_options */
    o->system_args[o->n_system_args++] =
        (sim_system_arg_t){sim_system_opt_owner[k], sim_all_options[base + k].name, arg};
    return 0;
}

/* --list: every system and its default ports, for scripts (config/run-dev.sh) and tests. */
static void sim_print_list(FILE *out)
{
    for (size_t i = 0; i < SIM_COUNT(sim_services); i++)
        fprintf(out, "%s %d %d\n", sim_services[i]->name, sim_services[i]->default_port,
                sim_services[i]->default_port + 100);
}

/* 0 to go on, 1 when --help or --list was printed, -1 on a usage error (already reported). */
static int sim_parse_one(sim_options_t *o, int c, const char *arg)
{
    unsigned long long n;
    switch (c) {
    case 'h':
        sim_usage(stdout);
        return 1;
    case OPT_LIST:
        sim_print_list(stdout);
        return 1;
    case OPT_SYSTEM:
        if (strcmp(arg, "all") == 0) {
            o->all = 1;
            return 0;
        }
        if ((o->service = sim_find_service(arg)) == NULL) {
            fprintf(stderr, "lienthong-sim: unknown --system \"%s\"; known:", arg);
            for (size_t i = 0; i < SIM_COUNT(sim_services); i++)
                fprintf(stderr, " %s", sim_services[i]->name);
            fputs("\nTry 'lienthong-sim --help'.\n", stderr);
            return -1;
        }
        return 0;
    case OPT_LISTEN:
        o->listen = arg;
        return 0;
    case OPT_CONTROL:
        o->control = arg;
        return 0;
    case OPT_CERTS_DIR:
        o->certs_dir = arg;
        return 0;
    case OPT_CERT:
        o->cert = arg;
        return 0;
    case OPT_KEY:
        o->key = arg;
        return 0;
    case OPT_CLIENT_CA:
        o->client_ca = arg;
        return 0;
    case OPT_SEED:
        return sim_parse_number("--seed", arg, ~0ULL, &o->seed);
    case OPT_POPULATION:
        if (sim_parse_number("--population", arg, SIM_PEOPLE_MAX, &o->population) < 0)
            return -1;
        return o->population == 0 ? sim_usage_error("%s must be at least 1", "--population") : 0;
    case OPT_LATENCY:
        if (sim_parse_number("--latency-ms", arg, SIM_CONTROL_MAX_LATENCY, &n) < 0)
            return -1;
        o->latency_ms = (long)n;
        return 0;
    case OPT_FAULT:
        o->fault = arg;
        return 0;
    case OPT_SAMPLE:
        if (sim_parse_number("--sample", arg, SIM_PEOPLE_MAX, &n) < 0)
            return -1;
        if (n == 0)
            return sim_usage_error("%s must be at least 1", "--sample");
        o->sample = (long long)n;
        return 0;
    default:
        if (c >= OPT_SYSTEM_FIRST && c < OPT_SYSTEM_FIRST + SIM_MAX_SYSTEM_OPTS)
            return sim_add_system_arg(o, c, arg);
        return sim_usage_error("%s", "invalid option");
    }
}

/* A system's own flag given with another --system is a mistake worth reporting, not ignoring. */
static int sim_check_system_args(const sim_options_t *o)
{
    for (size_t i = 0; i < o->n_system_args; i++) {
        const sim_system_arg_t *a = &o->system_args[i];
        if (!o->all && a->service != o->service) {
            fprintf(stderr, "lienthong-sim: --%s is a flag of --system %s\n", a->name, a->service->name);
            fputs("Try 'lienthong-sim --help'.\n", stderr);
            return -1;
        }
    }
    return 0;
}

/* Fills in defaults and the --certs-dir paths, and checks that the options fit together. */
static int sim_check_options(sim_options_t *o)
{
    if (o->all) {
        /* Every service on its own default ports, as config/dev.json expects: one process for `make run`. */
        if (o->sample > 0 || o->listen || o->control || o->cert || o->key || o->client_ca || o->fault)
            return sim_usage_error("%s", "--system all takes only --certs-dir, --seed, --population, --latency-ms "
                                         "and the systems' own flags");
        if (o->certs_dir == NULL)
            return sim_usage_error("%s", "--system all needs --certs-dir");
        return 0;
    }
    if (o->service == NULL)
        return sim_usage_error("%s is required", "--system");
    if (sim_check_system_args(o) < 0)
        return -1;
    if (o->sample > 0) {
        if (o->sample > (long long)o->population)
            return sim_usage_error("%s cannot exceed --population", "--sample");
        return 0;
    }
    if (o->listen == NULL) {
        snprintf(o->listen_buf, sizeof o->listen_buf, "127.0.0.1:%d", o->service->default_port);
        o->listen = o->listen_buf;
    }
    if (o->control == NULL) {
        snprintf(o->control_buf, sizeof o->control_buf, "127.0.0.1:%d", o->service->default_port + 100);
        o->control = o->control_buf;
    }
    char host[96];
    unsigned port;
    if (sim_server_parse_address(o->listen, host, sizeof host, &port) < 0)
        return sim_usage_error("--listen \"%s\" is not HOST:PORT (use [ADDR]:PORT for IPv6)", o->listen);
    if (sim_server_parse_address(o->control, host, sizeof host, &port) < 0)
        return sim_usage_error("--control \"%s\" is not HOST:PORT (use [ADDR]:PORT for IPv6)", o->control);
    if (o->certs_dir && (o->cert || o->key || o->client_ca))
        return sim_usage_error("%s", "use either --certs-dir or --cert/--key/--client-ca, not both");
    if (o->certs_dir) {
        snprintf(o->cert_buf, sizeof o->cert_buf, "%s/%s.crt", o->certs_dir, o->service->cert_name);
        snprintf(o->key_buf, sizeof o->key_buf, "%s/%s.key", o->certs_dir, o->service->cert_name);
        snprintf(o->ca_buf, sizeof o->ca_buf, "%s/national-ca.crt", o->certs_dir);
        o->cert = o->cert_buf;
        o->key = o->key_buf;
        o->client_ca = o->ca_buf;
    }
    if (!o->cert || !o->key || !o->client_ca)
        return sim_usage_error("%s", "TLS material is required: --certs-dir DIR, or all of --cert, --key, --client-ca");
    return 0;
}

static int sim_parse_options(int argc, char **argv, sim_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->seed = SIM_DEFAULT_SEED;
    o->population = SIM_DEFAULT_PEOPLE;
    o->sample = -1;
    opterr = 0; /* our own messages, with the exit status the CLI promises */
    int c;
    sim_build_options();
    while ((c = getopt_long(argc, argv, "h", sim_all_options, NULL)) != -1) {
        if (c == '?')
            return sim_usage_error("unknown option or missing argument: %s", argv[optind - 1]);
        int r = sim_parse_one(o, c, optarg);
        if (r != 0)
            return r;
    }
    if (optind < argc)
        return sim_usage_error("unexpected argument \"%s\"", argv[optind]);
    return sim_check_options(o);
}

static int sim_print_sample(const sim_people_t *people, size_t n)
{
    size_t *picks = calloc(n, sizeof *picks);
    if (picks == NULL)
        return 1;
    n = sim_people_sample(people, n, picks);
    for (size_t i = 0; i < n; i++) {
        const sim_person_t *p = sim_people_at(people, picks[i]);
        char name[256], birth[16];
        sim_person_full_name(p, name, sizeof name);
        sim_person_birth_text(p, 1, birth, sizeof birth);
        json_t *line = json_pack("{s:s,s:s,s:s}", "id", p->id, "full_name", name, "birth_date", birth);
        char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(line);
    }
    free(picks);
    return fflush(stdout) == 0 ? 0 : 1;
}

static void sim_on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

/* One simulated national system: its state, knobs and listeners, on a shared loop. */
typedef struct sim_instance {
    const sim_service_t *service;
    void *state;
    sim_control_t control;
    sim_server_t *srv;
} sim_instance_t;

/* The options of --system all, for one service: its default ports and its files under --certs-dir. */
static void sim_options_for(const sim_options_t *all, const sim_service_t *svc, sim_options_t *one)
{
    *one = *all;
    one->service = svc;
    snprintf(one->listen_buf, sizeof one->listen_buf, "127.0.0.1:%d", svc->default_port);
    snprintf(one->control_buf, sizeof one->control_buf, "127.0.0.1:%d", svc->default_port + 100);
    snprintf(one->cert_buf, sizeof one->cert_buf, "%s/%s.crt", all->certs_dir, svc->cert_name);
    snprintf(one->key_buf, sizeof one->key_buf, "%s/%s.key", all->certs_dir, svc->cert_name);
    snprintf(one->ca_buf, sizeof one->ca_buf, "%s/national-ca.crt", all->certs_dir);
    one->listen = one->listen_buf;
    one->control = one->control_buf;
    one->cert = one->cert_buf;
    one->key = one->key_buf;
    one->client_ca = one->ca_buf;
}

/* 0 when listening (and the ready line printed), else an exit code with the reason on stderr. */
static int sim_instance_start(sim_instance_t *in, struct event_base *base, const sim_options_t *o,
                              const sim_people_t *people)
{
    char err[512];
    in->service = o->service;
    in->state = o->service->state_new ? o->service->state_new(people, o->certs_dir) : NULL;
    if (o->service->state_new != NULL && in->state == NULL) {
        fprintf(stderr, "lienthong-sim: %s: cannot set up the service (see above)\n", o->service->name);
        return 1;
    }
    for (size_t i = 0; i < o->n_system_args; i++) {
        const sim_system_arg_t *a = &o->system_args[i];
        if (a->service != o->service)
            continue;
        if (o->service->set_option(in->state, a->name, a->value, err, sizeof err) < 0) {
            fprintf(stderr, "lienthong-sim: --%s: %s\nTry 'lienthong-sim --help'.\n", a->name, err);
            return SIM_EXIT_USAGE;
        }
    }
    if (o->service->start != NULL && o->service->start(in->state, base, err, sizeof err) < 0) {
        fprintf(stderr, "lienthong-sim: %s: %s\n", o->service->name, err);
        return 1;
    }
    sim_control_init(&in->control, o->service, in->state);
    if (o->fault && sim_control_set_fault(&in->control, o->fault, -1, err, sizeof err) < 0) {
        sim_usage_error("--fault: %s", err);
        return SIM_EXIT_USAGE;
    }
    sim_control_set_latency(&in->control, o->latency_ms, err, sizeof err);
    sim_server_config_t cfg = {
        .service = o->service,
        .people = people,
        .state = in->state,
        .control = &in->control,
        .listen = o->listen,
        .control_listen = o->control,
        .cert = o->cert,
        .key = o->key,
        .client_ca = o->client_ca,
    };
    in->srv = sim_server_new(base, &cfg, err, sizeof err);
    if (in->srv == NULL) {
        fprintf(stderr, "lienthong-sim: %s: %s\n", o->service->name, err);
        return 1;
    }
    printf("lienthong-sim: %s listening on %s, control on %s\n", o->service->name, sim_server_service_url(in->srv),
           sim_server_control_url(in->srv));
    fflush(stdout);
    return 0;
}

static void sim_instance_stop(sim_instance_t *in)
{
    sim_server_free(in->srv);
    in->srv = NULL;
    if (in->state != NULL && in->service->state_free != NULL)
        in->service->state_free(in->state);
    in->state = NULL;
}

static int sim_run_server(const sim_options_t *o, const sim_people_t *people)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that vanishes mid-write must not kill the process */
    struct event_base *base = event_base_new();
    if (base == NULL) {
        fputs("lienthong-sim: cannot create the event loop\n", stderr);
        return 1;
    }
    sim_instance_t instances[SIM_COUNT(sim_services)];
    memset(instances, 0, sizeof instances);
    size_t n = 0;
    int rc = 0;
    struct event *term = evsignal_new(base, SIGTERM, sim_on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, sim_on_signal, base);
    if (!term || !intr || evsignal_add(term, NULL) < 0 || evsignal_add(intr, NULL) < 0) {
        fputs("lienthong-sim: cannot install signal handlers\n", stderr);
        rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < (o->all ? SIM_COUNT(sim_services) : 1); i++) {
        sim_options_t one;
        if (o->all)
            sim_options_for(o, sim_services[i], &one);
        else
            one = *o;
        rc = sim_instance_start(&instances[n], base, &one, people);
        n++;
    }
    if (rc == 0)
        rc = event_base_dispatch(base) < 0 ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        sim_instance_stop(&instances[i]);
    if (term)
        event_free(term);
    if (intr)
        event_free(intr);
    event_base_free(base);
    return rc;
}

int main(int argc, char **argv)
{
    sim_options_t o;
    int r = sim_parse_options(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : SIM_EXIT_USAGE;

    /* The ICD requires NFC on the wire; a table typed in NFD would break that silently. */
    const char *bad = sim_people_check_nfc();
    if (bad != NULL) {
        fprintf(stderr, "lienthong-sim: internal table entry is not NFC: %s\n", bad);
        return 1;
    }
    xmlInitParser();
    sim_people_t *people = sim_people_new(o.seed, (size_t)o.population);
    if (people == NULL) {
        fputs("lienthong-sim: cannot build the population (out of memory?)\n", stderr);
        return 1;
    }
    int rc;
    if (o.all)
        rc = sim_run_server(&o, people);
    else if (o.sample > 0 && o.service->sample != NULL)
        rc = o.service->sample(people, (size_t)o.sample, stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    else if (o.sample > 0)
        rc = sim_print_sample(people, (size_t)o.sample);
    else
        rc = sim_run_server(&o, people);
    sim_people_free(people);
    xmlCleanupParser();
    libevent_global_shutdown();
    return rc;
}
