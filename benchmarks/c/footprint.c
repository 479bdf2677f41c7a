/*
 * footprint — wall time of loading the library and creating a client, in a fresh process.
 *
 *   footprint passauth LIBRARY_PATH CONFIG_JSON   dlopen(libpassauth) + passauth_client_new
 *   footprint curl                                dlopen(libcurl.so.4) + curl_easy_init (the baseline)
 *
 * Prints "ns <nanoseconds>".
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    long long start = now_ns();
    if (argc == 4 && strcmp(argv[1], "passauth") == 0) {
        void *library = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        int (*client_new)(const char *, void **) = (int (*)(const char *, void **))dlsym(library, "passauth_client_new");
        void (*client_free)(void *) = (void (*)(void *))dlsym(library, "passauth_client_free");
        void *client = NULL;
        if (client_new == NULL || client_free == NULL || client_new(argv[3], &client) != 0) { fprintf(stderr, "client_new failed\n"); return 1; }
        long long spent = now_ns() - start;
        client_free(client);
        printf("ns %lld\n", spent);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "curl") == 0) {
        void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        int (*global_init)(long) = (int (*)(long))dlsym(library, "curl_global_init");
        void *(*easy_init)(void) = (void *(*)(void))dlsym(library, "curl_easy_init");
        void (*easy_cleanup)(void *) = (void (*)(void *))dlsym(library, "curl_easy_cleanup");
        if (global_init == NULL || easy_init == NULL || global_init(3) != 0) return 1;
        void *easy = easy_init();
        if (easy == NULL) return 1;
        long long spent = now_ns() - start;
        easy_cleanup(easy);
        printf("ns %lld\n", spent);
        return 0;
    }
    fprintf(stderr, "usage: %s passauth LIBRARY_PATH CONFIG_JSON | %s curl\n", argv[0], argv[0]);
    return 2;
}
