/*
 * poll_server — the canned service of benchmarks/s2s_polls.py: one epoll thread, HTTP/1.1 keep-alive,
 * Content-Length and a Date header on every answer, fast enough for 50,000 codes polled every 4 s
 * (12,500 requests/s) on one core. It runs in its own process: its CPU is never counted.
 *
 *   poll_server CODES PENDING_S SPREAD_S [DELAY_MS]
 *                                            prints "READY http://127.0.0.1:PORT", serves until killed;
 *                                            DELAY_MS: every profiles-by-code answer leaves that long after
 *                                            its request (a service's latency; default 0)
 *
 *   POST /o/client/register, POST /o/client/token       DCR (201)
 *   GET  /api/v2/{sp}/profiles/code/CODE<n>             n < CODES: pending ({"profiles":{}}) until the code's
 *                                                       login completes, at a random moment between PENDING_S
 *                                                       and PENDING_S + SPREAD_S after the first request of any
 *                                                       code; then its profile. Per code: requests, the minimum
 *                                                       and maximum gap between two requests, and how late the
 *                                                       request that found the profile came after completion.
 *   GET  /api/v2/{sp}/profiles/code/<anything else>     pending, counted apart ("blockingRequests")
 *   POST /api/v2/{sp}/decisions/authorize/{mvpd}        200, a permit with a media token (benchmarks/s2s_fleet.py)
 *   GET  /_done                                         [CLOCK_MONOTONIC ms at which each code's login
 *                                                        completed (0: never asked), ...]
 *   GET  /_stats                                        {"codes", "requests", "minGapS", "maxGapS",
 *                                                        "meanMaxGapS", "under3s", "found", "maxLateS",
 *                                                        "meanLateS", "blockingRequests", "connections",
 *                                                        "authorizations"}
 *   GET  /_mark                                         remembers now (an instance of a fleet was killed)
 *   GET  /_takeover?mod=M&rem=R                         of the codes n with n % M == R not found before the
 *                                                        mark: {"codes", "requestedAfter" (asked again after
 *                                                        it), "firstAfterS" (from the mark to the first such
 *                                                        request), "maxFirstAfterS" (the last code's),
 *                                                        "maxGapAcrossS" (the longest gap spanning the mark),
 *                                                        "found", "overLimit" (first asked more than
 *                                                        &limit=S seconds after the mark)}
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER 32768

struct code { unsigned requests; double last, min_gap, max_gap, done_at, late, before_mark, after_mark, found_at; int found; };
struct connection { int fd; size_t in; char data[BUFFER]; char *out; size_t out_size, out_sent; int delayed, closed; };

/* Answers held back DELAY_MS (a FIFO: one delay for all, so due times come in order). A connection
 * closed meanwhile is freed when its last held answer is dropped. */
struct held { struct connection *c; double due; char *data; size_t size; };
static struct held *held;
static size_t held_head, held_count, held_capacity;
static double delay_s;

static struct code *codes;
static long code_count;
static double pending_s, spread_s, start = -1, mark = -1;
static unsigned long long requests, blocking, connections, authorizations;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void append(struct connection *c, const char *status, const char *body, size_t body_size) {
    static char date[64];
    static time_t date_at;
    time_t wall = time(NULL);
    if (wall != date_at) {
        struct tm tm;
        gmtime_r(&wall, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_at = wall;
    }
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nDate: %s\r\nContent-Type: application/json;charset=UTF-8\r\n"
                     "Content-Length: %zu\r\n\r\n", status, date, body_size);
    c->out = realloc(c->out, c->out_size + (size_t)n + body_size);
    memcpy(c->out + c->out_size, head, (size_t)n);
    memcpy(c->out + c->out_size + n, body, body_size);
    c->out_size += (size_t)n + body_size;
}

static void answer_json(struct connection *c, const char *status, const char *body) { append(c, status, body, strlen(body)); }

static void stats(struct connection *c) {
    unsigned long seen = 0, under3 = 0, found = 0, gaps = 0;
    double min_gap = 1e9, max_gap = 0, sum_max = 0, max_late = 0, sum_late = 0;
    for (long i = 0; i < code_count; i++) {
        struct code *k = &codes[i];
        if (k->requests == 0) continue;
        seen++;
        if (k->requests > 1) {
            gaps++;
            if (k->min_gap < min_gap) min_gap = k->min_gap;
            if (k->max_gap > max_gap) max_gap = k->max_gap;
            sum_max += k->max_gap;
            if (k->min_gap < 3.0) under3++;
        }
        if (k->found) {
            found++;
            sum_late += k->late;
            if (k->late > max_late) max_late = k->late;
        }
    }
    char body[1024];
    snprintf(body, sizeof body, "{\"codes\":%lu,\"requests\":%llu,\"minGapS\":%.3f,\"maxGapS\":%.3f,\"meanMaxGapS\":%.3f,"
             "\"under3s\":%lu,\"found\":%lu,\"maxLateS\":%.3f,\"meanLateS\":%.3f,\"blockingRequests\":%llu,\"connections\":%llu,"
             "\"authorizations\":%llu}",
             seen, requests, gaps ? min_gap : -1, gaps ? max_gap : -1, gaps ? sum_max / gaps : -1, under3, found, max_late,
             found ? sum_late / found : -1, blocking, connections, authorizations);
    answer_json(c, "200 OK", body);
}

/* The codes n % mod == rem not found before the mark: how soon after the mark they were asked again. */
static void takeover(struct connection *c, const char *query) {
    const char *m = strstr(query, "mod="), *r = strstr(query, "rem="), *l = strstr(query, "limit=");
    long mod = m ? atol(m + 4) : 1, rem = r ? atol(r + 4) : 0;
    double limit = l ? atof(l + 6) : 1e9;
    unsigned long asked = 0, after = 0, found = 0, over = 0;
    double first = -1, last_first = 0, max_across = 0;
    for (long i = 0; mark >= 0 && mod > 0 && i < code_count; i++) {
        struct code *k = &codes[i];
        if (i % mod != rem || k->requests == 0 || (k->found && k->found_at < mark)) continue;
        asked++;
        if (k->found) found++;
        if (k->after_mark <= 0) continue;
        after++;
        double since = k->after_mark - mark;
        if (first < 0 || since < first) first = since;
        if (since > last_first) last_first = since;
        if (since > limit) over++;
        if (k->before_mark > 0 && k->after_mark - k->before_mark > max_across) max_across = k->after_mark - k->before_mark;
    }
    char body[512];
    snprintf(body, sizeof body, "{\"codes\":%lu,\"requestedAfter\":%lu,\"firstAfterS\":%.3f,\"maxFirstAfterS\":%.3f,"
             "\"maxGapAcrossS\":%.3f,\"found\":%lu,\"overLimit\":%lu}", asked, after, first, last_first, max_across, found, over);
    answer_json(c, "200 OK", body);
}

/* A permit for each requested resource, with a new media token, as the service answers an authorization. */
static void authorize(struct connection *c, const char *mvpd, const char *body) {
    authorizations++;
    long long now = (long long)time(NULL) * 1000;
    char resource[128] = "REF30";
    const char *at = body ? strstr(body, "\"resources\"") : NULL;  /* {"resources": ["<id>", ...]}: the first id */
    if (at) at = strchr(at, '[');
    if (at) at = strchr(at, '"');
    if (at) {
        size_t n = strcspn(at + 1, "\"");
        if (n < sizeof resource) { memcpy(resource, at + 1, n); resource[n] = 0; }
    }
    char answer[1024];
    snprintf(answer, sizeof answer, "{\"decisions\":[{\"resource\":\"%s\",\"serviceProvider\":\"REF30\",\"mvpd\":\"%.64s\","
             "\"source\":\"mvpd\",\"authorized\":true,\"token\":{\"notBefore\":%lld,\"notAfter\":%lld,\"serializedToken\":"
             "\"PHNpZ25hdHVyZUluZm8+%08lx%08llx\"},\"notBefore\":%lld,\"notAfter\":%lld}]}",
             resource, mvpd, now, now + 420000, (unsigned long)random(), authorizations, now, now + 420000);
    answer_json(c, "200 OK", answer);
}

static void answer_code(struct connection *c, const char *body) {
    if (delay_s <= 0) return answer_json(c, "200 OK", body);
    size_t before = c->out_size;
    answer_json(c, "200 OK", body);
    if (held_count == held_capacity) {
        size_t capacity = held_capacity ? held_capacity * 2 : 1024;
        struct held *grown = malloc(capacity * sizeof *grown);
        for (size_t i = 0; i < held_count; i++) grown[i] = held[(held_head + i) % (held_capacity ? held_capacity : 1)];
        free(held);
        held = grown;
        held_head = 0;
        held_capacity = capacity;
    }
    struct held *h = &held[(held_head + held_count++) % held_capacity];
    h->c = c;
    h->due = now_s() + delay_s;
    h->size = c->out_size - before;
    h->data = malloc(h->size);
    memcpy(h->data, c->out + before, h->size);
    c->out_size = before;
    c->delayed++;
}

static void code_request(struct connection *c, const char *code) {
    static const char pending[] = "{\"profiles\":{}}";
    char *end = NULL;
    long index = strncmp(code, "CODE", 4) == 0 ? strtol(code + 4, &end, 10) : -1;
    if (index < 0 || index >= code_count || end == code + 4) {
        blocking++;
        answer_code(c, pending);
        return;
    }
    double t = now_s();
    if (start < 0) start = t;
    requests++;
    struct code *k = &codes[index];
    if (mark >= 0 && k->after_mark <= 0) {  /* the first request after the mark, and the one before it */
        k->after_mark = t;
        k->before_mark = k->requests > 0 ? k->last : 0;
    }
    if (k->requests++ == 0) {
        k->min_gap = 1e9;
        k->done_at = start + pending_s + spread_s * (rand() / (double)RAND_MAX);
    } else {
        double gap = t - k->last;
        if (gap < k->min_gap) k->min_gap = gap;
        if (gap > k->max_gap) k->max_gap = gap;
    }
    k->last = t;
    if (t < k->done_at) {
        answer_code(c, pending);
        return;
    }
    if (!k->found) {
        k->found = 1;
        k->found_at = t;
        k->late = t - k->done_at;
    }
    long long ms = (long long)time(NULL) * 1000;
    char body[512];
    snprintf(body, sizeof body, "{\"profiles\":{\"Cablevision\":{\"notBefore\":%lld,\"notAfter\":%lld,\"issuer\":\"Cablevision\","
             "\"type\":\"regular\",\"attributes\":{\"userID\":{\"value\":\"user-%ld\",\"state\":\"plain\"}}}}}",
             ms, ms + 86400000LL, index);
    answer_code(c, body);
}

static void route(struct connection *c, const char *method, const char *path, const char *request_body) {
    char body[256];
    if (strcmp(method, "POST") == 0 && strncmp(path, "/o/client/register", 18) == 0) {
        snprintf(body, sizeof body, "{\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"client_id_issued_at\":%lld}",
                 (long long)time(NULL));
        answer_json(c, "201 Created", body);
    } else if (strcmp(method, "POST") == 0 && strncmp(path, "/o/client/token", 15) == 0) {
        snprintf(body, sizeof body, "{\"access_token\":\"bench-token\",\"token_type\":\"bearer\",\"expires_in\":86400,"
                 "\"created_at\":%lld}", (long long)time(NULL) * 1000);
        answer_json(c, "201 Created", body);
    } else if (strcmp(method, "GET") == 0 && strstr(path, "/profiles/code/") != NULL) {
        code_request(c, strstr(path, "/profiles/code/") + 15);
    } else if (strcmp(method, "POST") == 0 && strstr(path, "/decisions/authorize/") != NULL) {
        authorize(c, strstr(path, "/decisions/authorize/") + 21, request_body);
    } else if (strncmp(path, "/_mark", 6) == 0) {
        mark = now_s();
        answer_json(c, "200 OK", "{}");
    } else if (strncmp(path, "/_takeover", 10) == 0) {
        takeover(c, path);
    } else if (strncmp(path, "/_done", 6) == 0) {
        size_t capacity = (size_t)code_count * 16 + 4, at = 0;
        char *list = malloc(capacity);
        list[at++] = '[';
        for (long i = 0; i < code_count; i++)
            at += (size_t)snprintf(list + at, capacity - at, "%s%lld", i ? "," : "",
                                   codes[i].requests ? (long long)(codes[i].done_at * 1000) : 0LL);
        list[at++] = ']';
        append(c, "200 OK", list, at);
        free(list);
    } else if (strncmp(path, "/_stats", 7) == 0) {
        stats(c);
    } else {
        answer_json(c, "404 Not Found", "{\"error\":\"not found\"}");
    }
}

/* Parses every complete request in the buffer; returns 0, or -1 on a malformed request. */
static int serve(struct connection *c) {
    size_t at = 0;
    for (;;) {
        char *head = c->data + at;
        size_t left = c->in - at;
        char *end = memmem(head, left, "\r\n\r\n", 4);
        if (end == NULL) break;
        size_t head_size = (size_t)(end - head) + 4, length = 0;
        for (char *line = memchr(head, '\n', head_size); line != NULL && line < end; line = memchr(line + 1, '\n', (size_t)(end - line))) {
            if (strncasecmp(line + 1, "content-length:", 15) == 0) length = strtoul(line + 16, NULL, 10);
        }
        if (head_size + length > left) break;
        char method[8] = {0}, path[1024] = {0}, body[2048] = {0};
        if (sscanf(head, "%7s %1023s", method, path) != 2) return -1;
        memcpy(body, head + head_size, length < sizeof body ? length : sizeof body - 1);
        route(c, method, path, body);
        at += head_size + length;
    }
    memmove(c->data, c->data + at, c->in - at);
    c->in -= at;
    return c->in == BUFFER ? -1 : 0;
}

static int flush(struct connection *c) {
    while (c->out_sent < c->out_size) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_size - c->out_sent, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN ? 1 : -1;
        c->out_sent += (size_t)n;
    }
    c->out_size = c->out_sent = 0;
    return 0;
}

static void release_connection(int epoll, struct connection *c) {
    if (!c->closed) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->closed = 1;
    }
    if (c->delayed == 0) {
        free(c->out);
        free(c);
    }
}

/* The held answers whose time has come, sent; returns the ms until the next one (-1: none). */
static int send_held(int epoll) {
    double now = now_s();
    while (held_count > 0) {
        struct held *h = &held[held_head];
        if (h->due > now) return (int)((h->due - now) * 1000) + 1;
        struct connection *c = h->c;
        c->delayed--;
        if (!c->closed) {
            c->out = realloc(c->out, c->out_size + h->size);
            memcpy(c->out + c->out_size, h->data, h->size);
            c->out_size += h->size;
            int state = flush(c);
            struct epoll_event mod = {.events = EPOLLIN | (state == 1 ? EPOLLOUT : 0), .data.ptr = c};
            if (state < 0) release_connection(epoll, c);
            else epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &mod);
        } else if (c->delayed == 0) {
            release_connection(epoll, c);
        }
        free(h->data);
        held_head = (held_head + 1) % held_capacity;
        held_count--;
    }
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: poll_server CODES PENDING_S SPREAD_S [DELAY_MS]\n"); return 2; }
    code_count = atol(argv[1]);
    pending_s = atof(argv[2]);
    spread_s = atof(argv[3]);
    delay_s = argc == 5 ? atof(argv[4]) / 1000 : 0;
    codes = calloc((size_t)code_count, sizeof *codes);
    srand((unsigned)getpid());
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) { perror("listen"); return 1; }
    getsockname(listener, (struct sockaddr *)&address, &size);
    printf("READY http://127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);
    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL}, events[256];
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    for (;;) {
        int n = epoll_wait(epoll, events, 256, send_held(epoll));
        for (int i = 0; i < n; i++) {
            struct connection *c = events[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct connection *fresh = calloc(1, sizeof *fresh);
                    fresh->fd = fd;
                    struct epoll_event add = {.events = EPOLLIN, .data.ptr = fresh};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &add);
                    connections++;
                }
                continue;
            }
            int closing = 0;
            if (events[i].events & EPOLLIN) {
                ssize_t got;
                while ((got = recv(c->fd, c->data + c->in, BUFFER - c->in, 0)) > 0) {
                    c->in += (size_t)got;
                    if (serve(c) != 0) { closing = 1; break; }
                }
                if (got == 0 || (got < 0 && errno != EAGAIN)) closing = 1;
            }
            if (!closing) {
                int state = flush(c);
                if (state < 0) closing = 1;
                struct epoll_event mod = {.events = EPOLLIN | (state == 1 ? EPOLLOUT : 0), .data.ptr = c};
                epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &mod);
            }
            if (closing) release_connection(epoll, c);
        }
    }
}
