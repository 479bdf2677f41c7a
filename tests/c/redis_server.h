/* A redis-server for one C test process, on a free loopback port (tests/redis/redis-test-server.sh: no
 * persistence unless asked, a temporary directory, gone with the test process), and a raw client for
 * looking at it. Shared by test_redis.c and test_fleet.c (static functions: include it once). */
#ifndef PASSAUTH_TEST_REDIS_SERVER_H
#define PASSAUTH_TEST_REDIS_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- redis-server ------------------------------------------------------------------------------- */

typedef struct redis_server {
    pid_t pid;
    int port;
    char dir[600];
} redis_server;

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    bind(fd, (struct sockaddr *)&address, length);
    getsockname(fd, (struct sockaddr *)&address, &length);
    close(fd);
    return ntohs(address.sin_port);
}

/* Sends one inline command and returns the first line of the answer (static buffer), or NULL. */
static const char *redis_inline(int port, const char *command) {
    static char answer[4096];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char *result = NULL;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0) {
        char line[1024];
        snprintf(line, sizeof line, "%s\r\n", command);
        if (write(fd, line, strlen(line)) == (ssize_t)strlen(line)) {
            ssize_t n = read(fd, answer, sizeof answer - 1);
            if (n > 0) {
                answer[n] = '\0';
                result = answer;
            }
        }
    }
    close(fd);
    return result;
}

static bool redis_start(redis_server *r, const char *extra) {
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%d", (int)getpid());
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        char command[1200];
        snprintf(command, sizeof command, "exec tests/redis/redis-test-server.sh %s '%s' --port %s %s </dev/null >/dev/null 2>&1",
                 pid_text, r->dir, port_text, extra ? extra : "");
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        const char *answer = redis_inline(r->port, "PING");
        if (answer && strncmp(answer, "+PONG", 5) == 0) return true;
        usleep(20000);
    }
    fprintf(stderr, "redis-server did not start on port %d (see %s/redis.log)\n", r->port, r->dir);
    return false;
}

/* A first start: a free port and a new directory under the harness's temporary one; `extra` is passed
 * to redis-server as in redis_start (e.g. "--appendonly yes"), or NULL. */
const char *harness_temp_dir(void);
static bool redis_start_new(redis_server *r, const char *extra) {
    r->port = free_port();
    snprintf(r->dir, sizeof r->dir, "%s", harness_temp_dir());
    char command[700];
    snprintf(command, sizeof command, "mkdir -p '%s'", r->dir);
    return system(command) == 0 && redis_start(r, extra);
}

static void redis_stop(redis_server *r) {
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

/* Keys under `prefix` in the server, as `redis-cli --scan` lists them, and their dump. */
__attribute__((unused)) static char *redis_cli(int port, const char *arguments) {
    char command[1200];
    snprintf(command, sizeof command, "redis-cli -p %d %s 2>&1", port, arguments);
    FILE *pipe = popen(command, "r");
    if (!pipe) return NULL;
    size_t size = 0, capacity = 65536;
    char *out = malloc(capacity);
    size_t n;
    while ((n = fread(out + size, 1, capacity - size - 1, pipe)) > 0) {
        size += n;
        if (size + 1 >= capacity) out = realloc(out, capacity *= 2);
    }
    out[size] = '\0';
    pclose(pipe);
    return out;
}

#endif
